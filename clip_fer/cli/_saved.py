"""``--classifier FILE``: a saved classifier in place of the options that build one.

``predict``, ``evaluate`` and ``video`` either build a zero-shot estimator from
``--model``, ``--bank``, ``--decider`` ... or, with ``--classifier``, load one
written by ``clip-fer adapt`` or :func:`clip_fer.save_classifier` (no pickle).
:func:`command_classifier` is the one place that decides which.
"""

__all__ = ["add_classifier_option", "command_classifier", "described"]

# The options that say what the classifier is: a saved classifier already holds them.
_DEFINING = ("bank", "reduce", "decider", "vote_top_k", "precision")


def add_classifier_option(parser):
    """Add ``--classifier FILE``; remembers the defaults of the options it replaces."""
    parser.add_argument(
        "--classifier",
        metavar="FILE",
        help="A classifier saved by 'clip-fer adapt' or clip_fer.save_classifier (read without "
        "pickle): few-shot, calibrated or zero-shot, used in place of --bank, --decider, --reduce "
        "and --precision. Its model is looked for where it was saved from; --model PATH says "
        "where it is here (it must be the same model).",
    )
    names = ("model", *_DEFINING)
    parser.set_defaults(defaults_of_saved=lambda: {n: parser.get_default(n) for n in names})


def _given(args, name):
    """Whether option ``name`` was given a value other than its default."""
    return getattr(args, name, None) != args.defaults_of_saved()[name]


def command_classifier(args, n_images=0, *, fit=True, y=None, on_error=None, check_classes=None):
    """The classifier of a command: built from the options, or loaded from ``--classifier``.

    A built zero-shot estimator gets ``--abstain-below`` as its ``abstain_below``; a
    loaded classifier keeps its own, and the command hands ``--abstain-below`` to the
    entry point (which compares it with the probabilities of the classifier given, the
    calibrated ones for a calibrated classifier).

    Parameters
    ----------
    args : argparse.Namespace
        The command's options.
    n_images : int, default=0
        Images the command will encode (a progress bar past one batch).
    fit : bool, default=True
        Fit a built estimator (a loaded one is fitted).
    y : array-like, default=None
        Labels checked against the bank by ``fit``, or against a saved classifier's classes.
    on_error : {"raise", "skip"}, default=None
        Set on the estimator; None keeps its own.

    Returns
    -------
    classifier : estimator
        A zero-shot estimator built from the options, or the saved classifier.
    """
    from ._common import build_estimator, show_progress

    settings = {} if on_error is None else {"on_error": on_error}
    if not getattr(args, "classifier", None):
        from .._bank_io import load_prompt_bank

        bank = load_prompt_bank(args.bank)
        if check_classes is not None:
            check_classes(bank.classes_)
        clf = build_estimator(args, prompt_bank=bank, n_images=n_images)
        clf.set_params(abstain_below=getattr(args, "abstain_below", None), **settings)
        return clf.fit(y=y) if fit else clf
    import numpy as np

    from .._persistence import load_classifier
    from ..exceptions import ClipFerError

    replaced = [name for name in _DEFINING if _given(args, name)]
    if replaced:
        flags = ", ".join("--" + name.replace("_", "-") for name in replaced)
        raise ClipFerError(
            f"{flags} cannot be used with --classifier: the saved classifier holds its own prompt "
            "bank, folding, decider and precision. Leave them out, or adapt a new classifier."
        )
    clf = load_classifier(
        args.classifier,
        model=args.model if _given(args, "model") else None,
        device=args.device,
        batch_size=args.batch_size,
        cache_dir=getattr(args, "cache_dir", None),
        verbose=n_images > args.batch_size and show_progress(args),
        **settings,
    )
    if check_classes is not None:
        check_classes(clf.classes_)
    if y is not None:  # what fit checks for a built estimator
        known = set(clf.classes_.tolist())
        labels = np.asarray(y, dtype=object).ravel().tolist()
        unknown = sorted({label for label in labels if label not in known}, key=str)
        if unknown:
            raise ClipFerError(
                f"the data have labels {unknown} that the classifier {args.classifier} does not know; "
                f"its classes are {clf.classes_.tolist()}. Leave the items with those labels out, or "
                "adapt a classifier with a prompt bank that has them (clip-fer adapt --bank)."
            )
    return clf


def described(args):
    """The classifier of a run in words: the saved file, or the model and bank."""
    if getattr(args, "classifier", None):
        return f"classifier {args.classifier}"
    return f"model {args.model}, bank {args.bank} (decider {args.decider}, reduce {args.reduce})"
