"""``--classifier FILE``: a saved classifier in place of the options that build one.

``predict``, ``evaluate`` and ``video`` either build a zero-shot estimator from
``--model``, ``--bank``, ``--decider`` ... or, with ``--classifier``, load one
written by ``clip-fer adapt`` or :func:`clip_fer.save_classifier` (no pickle).
:func:`command_classifier` is the one place that decides which.
"""

__all__ = ["add_classifier_option", "command_classifier", "decide", "described", "labels_of"]

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


def command_classifier(
    args, n_images=0, *, fit=True, y=None, on_error=None, own_abstention=False, check_classes=None
):
    """The classifier of a command, with ``--abstain-below`` (and ``on_error``) set.

    Parameters
    ----------
    args : argparse.Namespace
        The command's options.
    n_images : int, default=0
        Images the command will encode (a progress bar past one batch).
    fit : bool, default=True
        Fit a built estimator (a loaded one is fitted).
    y : array-like, default=None
        Labels checked against the bank by ``fit``.
    on_error : {"raise", "skip"}, default=None
        Set on the estimator; None keeps its own.
    own_abstention : bool, default=False
        The command applies ``--abstain-below`` to the probabilities itself, so
        a classifier without ``abstain_below`` (a calibrated one) is accepted.

    Returns
    -------
    classifier : estimator
        A zero-shot estimator built from the options, or the saved classifier.
    """
    from ._common import build_estimator, show_progress

    settings = {} if on_error is None else {"on_error": on_error}
    abstain_below = getattr(args, "abstain_below", None)
    if not getattr(args, "classifier", None):
        from .._bank_io import load_prompt_bank

        bank = load_prompt_bank(args.bank)
        if check_classes is not None:
            check_classes(bank.classes_)
        clf = build_estimator(args, prompt_bank=bank, n_images=n_images)
        clf.set_params(abstain_below=abstain_below, **settings)
        return clf.fit(y=y) if fit else clf
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
    if abstain_below is not None:
        if "abstain_below" not in clf.get_params(deep=False):
            if own_abstention:
                return clf
            raise ClipFerError(
                f"--abstain-below needs a classifier that abstains; {args.classifier} holds a "
                f"{type(clf).__name__}, which has no abstain_below: here, --abstain-below works "
                "on whole images (clip-fer predict without --faces, clip-fer evaluate)."
            )
        clf.set_params(abstain_below=abstain_below)
    return clf


def described(args):
    """The classifier of a run in words: the saved file, or the model and bank."""
    if getattr(args, "classifier", None):
        return f"classifier {args.classifier}"
    return f"model {args.model}, bank {args.bank} (decider {args.decider}, reduce {args.reduce})"


def decide(clf, X):
    """``clf.decide(X)``, or for a classifier without it (a calibrated one) the
    :class:`~clip_fer.Decision` of its ``predict_proba``: classes ranked by probability,
    skipped inputs (``on_error="skip"``, a row of NaN) ranked ``-1`` with their reasons."""
    if hasattr(clf, "decide"):
        return clf.decide(X)
    import warnings

    import numpy as np

    from .._deciders import Decision
    from ..exceptions import SkippedImagesWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedImagesWarning)
        proba = np.asarray(clf.predict_proba(X), dtype=np.float64)
    errors = [e for w in caught if isinstance(w.message, SkippedImagesWarning) for e in w.message.errors]
    skipped = np.isnan(proba).any(axis=1)
    ranking = np.argsort(-np.nan_to_num(proba, nan=0.0), axis=1, kind="stable")
    ranking[skipped] = -1
    scores = np.take_along_axis(proba, np.maximum(ranking, 0), axis=1)
    return Decision(ranking, scores, proba, errors=errors)


def labels_of(clf, ranking):
    """The class names of a ranking (``None`` for ``-1``), as ``clf.labels_of`` makes them."""
    if hasattr(clf, "labels_of"):
        return clf.labels_of(ranking)
    from ..scoring import labels_from_ranking

    return labels_from_ranking(clf.classes_, ranking)
