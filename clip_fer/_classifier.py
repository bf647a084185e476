"""ZeroShotEmotionClassifier: CLIP + prompt bank + folder + decider, as an sklearn classifier."""

import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d

from ._abstention import check_classes, check_reserved
from ._base import EmotionClassifierBase, warn_skipped
from ._deciders import MeanProbaDecider, RankVoteDecider
from ._display import with_fitted_summary
from ._folding import SynonymFolder
from ._prompt_bank import PromptBank
from ._records import check_class_names
from .backends._base import LoadedModel, ModelReference
from .backends._cache import check_cache_dir
from .backends._encoding import embed_images
from .backends._loading import encode_text, resolve_model
from .exceptions import (
    ClipFerDeprecationWarning,
    ImageInputError,
    InvalidParameterError,
    ModelChangedError,
    PromptBankError,
)
from .scoring import MAX_LOGIT_SCALE, ScoringCore, first_bad_row, from_tensor
from .utils._param_validation import (
    Choices,
    Protocol,
    check_device,
    check_int,
    validate_parameter_constraints,
)
from .utils._sklearn_compat import Hidden, Interval, StrOptions, fit_context

__all__ = ["ZeroShotEmotionClassifier"]

_OWNER = "ZeroShotEmotionClassifier"
_ZERO_EMBEDDING = "embedding is all zeros; it has no direction to compare with the prompts"


# The component protocols: any object with these methods plugs in.
_BANK = Protocol(
    ["fit"],
    (PromptBank,),
    "a prompt bank",
    "fit() setting classes_, templates_, word_class_ and sentences_ (template-major)",
)
_FOLDER = Protocol(
    ["fit", "fold"],
    (SynonymFolder,),
    "a folder",
    "fit() and fold(scores, word_class, n_classes)",
)
_DECIDER = Protocol(
    ["fit", "decide"],
    (RankVoteDecider, MeanProbaDecider),
    "a decider",
    "fit() and decide(class_scores) -> Decision",
)
_BANK_ATTRIBUTES = ("classes_", "templates_", "word_class_", "sentences_")


def check_sorted_classes(bank):
    """A bank's ``classes_`` must be unique and sorted, as scikit-learn's are: the columns of
    ``predict_proba`` follow them, and scikit-learn's metrics (``log_loss``), its calibration
    and :mod:`clip_fer.metrics` without ``classes`` read the columns in sorted order."""
    classes = np.asarray(bank.classes_, dtype=object)
    try:
        expected = np.unique(classes)
    except TypeError:  # names that do not compare (mixed types)
        expected = None
    if expected is None or len(expected) != len(classes) or (expected != classes).any():
        raise InvalidParameterError(
            f"The 'prompt_bank' parameter of {_OWNER} must set classes_ to unique, sorted class "
            f"names (np.unique, as scikit-learn's classes_); {type(bank).__name__} set "
            f"{classes.tolist()!r}. Sort them (and renumber word_class_) in its fit(); otherwise "
            "metrics that read predict_proba's columns in sorted order would score the wrong class."
        )


def _model_name(model):
    return repr(model) if isinstance(model, (LoadedModel, ModelReference)) else repr(os.fspath(model))


def _unit_text_features(features, sentences, source, normalise=True):
    """Unit rows of ``features``; a row with NaN, infinity or no direction is refused."""
    features = np.asarray(features, dtype=np.float32)
    bad = first_bad_row(features)
    if bad is not None:
        row, what = bad
        raise InvalidParameterError(
            f"The 'prompt_bank' parameter of {_OWNER}: in {source}, the row of sentence "
            f"{row} ({sentences[row]!r}) {what}; every sentence needs a finite embedding "
            "with a direction, as every image does. Re-encode that sentence, or remove it."
        )
    return features / np.linalg.norm(features, axis=1, keepdims=True) if normalise else features


def _check_distinct_words(features, bank):
    """Refuse two words of different classes that the model encodes alike under every template.

    They are the same word to the tokenizer (``"Glad"`` and ``"glad "`` are one
    to CLIP's), so two classes would share sentences.
    """
    word_class = np.asarray(bank.word_class_)
    n_words, n_templates = len(word_class), len(bank.templates_)
    per_template = np.asarray(features, dtype=np.float64).reshape(n_templates, n_words, -1)
    # Alike: cosine within 1e-6 of 1 under every template (a batch's arithmetic can
    # differ in the last bits between two encodings of the same tokens).
    alike = (np.einsum("twd,tvd->twv", per_template, per_template) > 1 - 1e-6).all(axis=0)
    alike &= word_class[:, None] != word_class[None, :]
    classes = list(bank.classes_)
    words = list(getattr(bank, "words_", range(n_words)))
    for twin, word in np.argwhere(np.triu(alike, 1))[:1]:
        raise PromptBankError(
            f"The words {words[twin]!r} (class {classes[word_class[twin]]!r}) and "
            f"{words[word]!r} (class {classes[word_class[word]]!r}) are the same to the "
            "model's tokenizer (case, spacing or HTML entities aside), so the two classes "
            "would share sentences. Keep the word under one class only."
        )


def _check_labels(y, classes):
    """Every label of ``y`` must be one of the prompt bank's classes."""
    check_classification_targets(y)
    known = set(classes)
    labels = np.asarray(y, dtype=object).ravel().tolist()
    unknown = sorted({label for label in labels if label not in known}, key=str)
    if unknown:
        hint = (
            " (the built-in banks 'default-8' and 'baseline-8' add 'contempt' to the seven)"
            if "contempt" in unknown
            else ""
        )
        raise ValueError(
            f"y has labels {unknown} that the prompt bank does not know; its classes "
            f"are {list(classes)}. Add them to the bank's synonyms{hint}, or leave the "
            f"items with those labels out of y.{_layout_hint(unknown, known)}"
        )


def _layout_hint(unknown, known):
    """A data set read as plain folders gives its own codes ('1'..'7') or capitalised
    names ('Angry'): say that its layout translates them."""
    lowered = {str(label).lower() for label in unknown}
    if all(str(label).isdigit() for label in unknown) or lowered & {str(c).lower() for c in known}:
        return (
            " These look like a data set's own class codes or names: read it with its "
            "layout (load_dataset(path, layout=...), or --layout on the command line; "
            "see docs/datasets.md), which translates them into clip-fer's class names."
        )
    return ""


def fitted_component(component, default, *fit_args):
    """A fitted copy of a component (``default()`` for None); the original is untouched.

    scikit-learn style components are cloned; any other object (the protocols
    only ask for ``fit`` and the role's method) is deep-copied.
    """
    if component is None:
        component = default()
    copied = clone(component) if hasattr(component, "get_params") else copy.deepcopy(component)
    copied.fit(*fit_args)
    return copied


class ZeroShotEmotionClassifier(EmotionClassifierBase):
    """Zero-shot facial emotion recognition with CLIP, after the C.U report.

    Each image is scored against every sentence of the prompt bank (templates x
    synonyms) as ``logit_scale * cosine + logit_bias``, the model's own logits;
    the folder merges each class's synonyms, template by template; the decider
    ranks the classes. Nothing is learned from images: ``fit`` only encodes the
    prompts.

    Parameters
    ----------
    model : str, path-like or LoadedModel, default="ViT-B/32"
        An OpenAI CLIP name (downloaded on first use; ``"openai:ViT-B/32"`` too) or
        the path of a local checkpoint, a JIT archive or a state dict, which loads
        offline; ``"open_clip:ARCH/PRETRAINED"`` (a pretrained tag, or after the
        first ``/`` a local weights file; open_clip's ``hf-hub:`` names too; the
        ``open-clip`` extra); ``"hf_clip:NAME_OR_DIR"`` (a Hugging Face id or a
        ``save_pretrained`` folder: CLIP, SigLIP, SigLIP 2; the ``hf`` extra); a
        prefix added with :func:`clip_fer.backends.register_family`. See
        :func:`clip_fer.load_model` and docs/backbones.md. The model is loaded once
        per process and shared; it is never copied or pickled.

        Or an already loaded model: what :func:`clip_fer.load_model` returns, or a
        family class built around a model in memory (e.g.
        ``OpenAIModel(module, preprocess, "cpu", "fp32")``); raw torch modules are
        refused, since their tokenizer and preprocessing cannot be known. A model
        object is used as it is (``device`` and ``precision`` must be ``"auto"`` or
        its own) and is identified by its weights. ``clone`` shares it; pickling
        writes only its identity (a ``ModelReference``), so an unpickled estimator
        must be given the model back with ``set_params(model=...)``.

        The model is known by its content (``model_identity_``): if the weights,
        config or tokenizer that ``model`` names change after ``fit`` (a file
        replaced under the same name, even with its size and modification time
        restored; a pickled estimator meeting other weights in a new process),
        ``predict``, ``decide``, ``embed`` and the other methods that encode images
        raise :class:`~clip_fer.exceptions.ModelChangedError` instead of mixing
        the old text features with the new image tower: call ``fit()`` again.
    prompt_bank : PromptBank, default=None
        Templates and synonyms; None is ``PromptBank()`` (the default bank).
        Any object with the prompt-bank protocol works (see
        ``docs/architecture.md``).
    synonym_folder : SynonymFolder, default=None
        How synonym scores fold into class scores; None is ``SynonymFolder()``.
        Any object with ``fit()`` and ``fold(scores, word_class, n_classes)``
        works.
    decider : RankVoteDecider or MeanProbaDecider, default=None
        How per-template class scores become a ranking; None is
        ``RankVoteDecider()``, the report's per-rank vote. Any object with
        ``fit()`` and ``decide(class_scores) -> Decision`` works.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU.
    precision : {"auto", "fp32", "fp16", "bf16", "int8"}, default="auto"
        ``"auto"`` is fp16 on CUDA and fp32 on CPU. ``"bf16"`` (bfloat16
        autocast) and ``"int8"`` (CPU: int8 image tower) are faster opt-in paths
        whose predictions can differ slightly from fp32's; ``"bf16"`` on a CPU
        without native bf16 runs at fp32 with a warning (see docs/backbones.md).
    batch_size : int, default=32
        Images encoded per forward pass.
    num_workers : int or "auto", default="auto"
        Processes that decode and preprocess images while the model encodes;
        ``"auto"`` is 0 on CPU and up to 4 on CUDA.
    cache : bool, default=True
        Keep image embeddings in the process-wide cache
        (:data:`clip_fer.embedding_cache`, a bounded LRU), so an image is encoded
        once however many estimators, clones and grid-search candidates see it.
        Keys are the model's identity and the image's content (a hash of a
        file's bytes, so a file replaced by ``cp -p`` or ``rsync -t`` is seen as
        new; an array's bytes).
    cache_dir : str or path-like, default=None
        Also persist image and prompt-sentence embeddings to this folder (created
        if missing; not a file, not ""), so a new process need not re-encode. Only used when ``cache``
        is True. Entries read back are validated (checksum, width, finite, unit
        norm) and re-encoded if damaged; a folder that cannot be written gives
        one :class:`~clip_fer.exceptions.CacheWriteWarning` and the results.
    on_error : {"raise", "skip"}, default="raise"
        What an unreadable input does. ``"raise"``: an :class:`ImageInputError`
        naming its index and the reason. ``"skip"``: every other input is still
        predicted; the bad ones get explicit missing results (``None`` from
        ``predict``, a row of ``None`` from ``predict_topk``, a row of NaN from
        ``predict_proba`` and ``embed``, ``-1`` in ``decide().ranking``) and a
        :class:`SkippedImagesWarning` says how many and which. With
        ``precomputed=True``, rows holding NaN or infinity, or all zeros (no
        direction: every class would score alike), are the bad inputs.
    logit_scale : "model" or float, default="model"
        Multiplies cosine similarities before folding and softmax. ``"model"``
        uses the model's learned scale and bias (OpenAI's CLIPs learned 100, the
        report's constant; SigLIP also learned a bias, added to every score). A
        float in (0, 1e4] replaces the scale and drops any bias: scores are
        ``logit_scale * cosine``. Larger scales are refused: they only make
        every softmax one-hot, and past float32's range every score infinite.
    precomputed : bool, default=False
        If True, ``X`` is an (n_samples, dim) array of image embeddings (as
        returned by :meth:`embed`) instead of images.
    download_root : str, default=None
        Where model names are downloaded; None is ``~/.cache/clip``.
    verbose : bool, default=False
        Show a progress bar while encoding images.
    abstain_below : float in [0, 1], default=None
        With a float, :meth:`predict` (and ``predict_faces``, ``predict_video``)
        answers ``"unsure"`` for the inputs whose confidence, the top
        probability of :meth:`predict_proba`, is below it; ``predict_proba``,
        ``predict_topk`` and ``decide`` are unchanged. :meth:`score` counts
        "unsure" as wrong. None (the default) always answers a class. See
        docs/calibration.md for what the confidence means.
    folder : SynonymFolder, default="deprecated"
        The former name of ``synonym_folder`` (it sat beside file-system
        folders); still accepted with a ``FutureWarning``, removed in 0.3.

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_classes,)
        Sorted class names of the prompt bank; columns of ``predict_proba``.
    prompt_bank_, synonym_folder_, decider_ : estimators
        Fitted clones of the components (``clone`` for scikit-learn style
        ones, ``copy.deepcopy`` for others).
    text_features_ : ndarray of shape (n_sentences, dim)
        L2-normalised embeddings of ``prompt_bank_.sentences_``.
    logit_scale_, logit_bias_ : float
        The scale and bias in use: the model's (``logit_scale="model"``) or the
        given scale and 0.
    model_identity_ : str or None
        The ``weights_identity`` of the model whose text tower made
        ``text_features_`` (a hash of its weights, config and tokenizer); None
        when the prompt bank brought its own text features. Checked against the
        model before images are encoded (cheap: files are hashed again only when
        their ``stat`` changes).
    n_features_in_ : int
        Embedding width; set only when ``precomputed=True``.

    Notes
    -----
    ``predict``, ``predict_proba``, ``predict_topk``, ``score``, ``decide``,
    ``embed`` and ``labels_of`` are the one prediction front that
    :class:`FewShotEmotionClassifier` shares (``clip_fer._base``).

    Each number of ``predict_proba`` is about its column's class: the prompt
    ensemble's probability (for each template, a softmax over classes of its
    folded scores, ``logit_scale * cosine + logit_bias``; then the mean over
    templates). With :class:`RankVoteDecider`, when the vote's first class is not
    the ensemble's first, that class is lifted to the top as its Notes describe
    and the other columns shrink by one factor. Values are in [0, 1], rows sum to
    1 and ``argmax`` gives ``predict``. They are relative scores among the bank's
    classes, not calibrated frequencies. For a sigmoid-trained model (SigLIP)
    they are still this softmax over classes of its logits, not SigLIP's own
    per-sentence sigmoid probabilities. With ``SynonymFolder("mean")`` the bias
    shifts every class alike and cancels in the softmax; with ``"sum"`` a class
    gets it once per word. ``predict_topk``'s scores are, with
    :class:`RankVoteDecider`, the share of templates that put the class at that
    rank; with :class:`MeanProbaDecider` the class probability.

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32").fit()   # doctest: +SKIP
    >>> clf.predict(["face.jpg"])                                  # doctest: +SKIP
    array(['happy'], dtype=object)
    """

    _fitted_attribute = "text_features_"

    def __init__(
        self,
        model="ViT-B/32",
        *,
        prompt_bank=None,
        synonym_folder=None,
        decider=None,
        device="auto",
        precision="auto",
        batch_size=32,
        num_workers="auto",
        cache=True,
        cache_dir=None,
        on_error="raise",
        logit_scale="model",
        precomputed=False,
        download_root=None,
        verbose=False,
        abstain_below=None,
        folder="deprecated",
    ):
        self.model = model
        self.prompt_bank = prompt_bank
        self.synonym_folder = synonym_folder
        self.decider = decider
        self.device = device
        self.precision = precision
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.cache = cache
        self.cache_dir = cache_dir
        self.on_error = on_error
        self.logit_scale = logit_scale
        self.precomputed = precomputed
        self.download_root = download_root
        self.verbose = verbose
        self.abstain_below = abstain_below
        self.folder = folder

    _parameter_constraints = {
        "model": [str, os.PathLike, LoadedModel, ModelReference],
        "prompt_bank": [None, _BANK],
        "synonym_folder": [None, _FOLDER],
        "decider": [None, _DECIDER],
        "device": [str],  # which strings torch accepts is checked by hand in fit
        "precision": [Choices("auto", "fp32", "fp16", "bf16", "int8")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "num_workers": [Choices("auto"), Interval(Integral, 0, None, closed="left")],
        "cache": ["boolean"],
        "cache_dir": "no_validation",  # check_cache_dir: also refuses "" and files
        "on_error": [Choices("raise", "skip")],
        "logit_scale": [
            Interval(Real, 0, MAX_LOGIT_SCALE, closed="right"),
            Hidden(StrOptions({"model"})),
        ],
        "precomputed": ["boolean"],
        "download_root": [None, str, os.PathLike],
        "verbose": ["boolean"],
        "abstain_below": [None, Interval(Real, 0, 1, closed="both")],
        "folder": [None, _FOLDER, Hidden(StrOptions({"deprecated"}))],
    }
    _parameter_descriptions = {
        "model": "a CLIP model name, a checkpoint path or a loaded model",
        "num_workers": "an int in [0, inf]",
        "logit_scale": f"a float in (0, {MAX_LOGIT_SCALE:g}]",
    }
    _parameter_notes = {
        "num_workers": "'auto' is also accepted (0 on CPU, up to 4 on CUDA)",
        "logit_scale": "'model' (the model's learned scale and bias) is also accepted",
    }

    # Fitting --------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X=None, y=None):
        """Encode the prompt bank's sentences; images are not used.

        Parameters
        ----------
        X : ignored, or array of shape (n_samples, dim) when ``precomputed=True``
            Only its width is checked in the precomputed case. Passed on to the
            prompt bank's ``fit`` (clip-fer's ignores it).
        y : array-like of shape (n_samples,), default=None
            If given, every label must be one of the bank's classes. Passed on
            to the prompt bank's ``fit`` (clip-fer's ignores it).

        Returns
        -------
        self : ZeroShotEmotionClassifier
        """
        # fit_context has checked the declared _parameter_constraints.
        check_device(self.device, "device", _OWNER)
        check_cache_dir(self.cache_dir, _OWNER)
        folder = self._chosen_folder()
        if self.precomputed and X is not None:
            X = check_array(X, dtype=[np.float32, np.float64])
        if y is not None:
            y = column_or_1d(y, warn=True)
            if X is not None:
                check_consistent_length(X, y)
        # Everything is computed before any attribute is set, so a failed refit
        # leaves the previous fit intact.
        bank = fitted_component(self.prompt_bank, PromptBank, X, y)
        missing = [a for a in _BANK_ATTRIBUTES if not hasattr(bank, a)]
        if missing:
            raise InvalidParameterError(
                f"The 'prompt_bank' parameter of {_OWNER} must set {', '.join(missing)} "
                f"in fit(); {type(bank).__name__} did not. See PromptBank's attributes."
            )
        folder = fitted_component(folder, SynonymFolder)
        decider = fitted_component(self.decider, RankVoteDecider)
        # A decider's top_k can only be checked against the bank's classes.
        top_k = getattr(decider, "top_k", None)
        if isinstance(top_k, Integral) and not isinstance(top_k, bool):
            check_int(top_k, "top_k", type(decider).__name__, 1)  # capped at n_classes
        text_features, scale, bias, identity = self._text_features(bank)
        # Checks the scale and bias (a model's or a bank's own too) before any attribute is set.
        ScoringCore(
            text_features, bank.word_class_, bank.classes_, len(bank.templates_), scale, bias, folder, decider
        )
        if self.precomputed and X is not None:
            self._check_embeddings(X, text_features.shape[1])
        if y is not None:
            _check_labels(y, bank.classes_)
        check_sorted_classes(bank)
        check_reserved(bank.classes_, _OWNER)
        check_class_names(bank.classes_, _OWNER)
        if self.abstain_below is not None:
            check_classes(bank.classes_, _OWNER)

        self.prompt_bank_, self.synonym_folder_, self.decider_ = bank, folder, decider
        self.classes_ = bank.classes_
        self.text_features_ = text_features
        self.logit_scale_, self.logit_bias_ = scale, bias
        self.model_identity_ = identity
        if self.precomputed:
            self.n_features_in_ = text_features.shape[1]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def _text_features(self, bank):
        """The bank's sentences encoded by the model (unless the bank brings them),
        the logit scale and bias to use with them, and the model's identity."""
        model_scale = isinstance(self.logit_scale, str)
        if not hasattr(bank, "text_features_"):
            loaded = self._resolved_model()
            features = _unit_text_features(
                encode_text(loaded, bank.sentences_, cache_dir=self.cache_dir if self.cache else None),
                bank.sentences_,
                "the model's encoding",
                normalise=False,
            )
            _check_distinct_words(features, bank)
            identity = loaded.weights_identity
            if model_scale:
                return features, float(loaded.logit_scale), float(loaded.logit_bias), identity
            return features, float(self.logit_scale), 0.0, identity
        # A bank with its own text features may bring its model's scale and bias;
        # else CLIP's trained scale, 100.
        scale = float(getattr(bank, "logit_scale_", 100.0)) if model_scale else float(self.logit_scale)
        bias = float(getattr(bank, "logit_bias_", 0.0)) if model_scale else 0.0
        return self._bank_text_features(bank), scale, bias, None

    def _bank_text_features(self, bank):
        features = check_array(bank.text_features_, dtype=np.float32, ensure_all_finite=False)
        if len(features) != len(bank.sentences_):
            raise InvalidParameterError(
                f"The 'prompt_bank' parameter of {_OWNER} set text_features_ with "
                f"{len(features)} rows for {len(bank.sentences_)} sentences; give one "
                "row per sentence, in sentences_ order."
            )
        return _unit_text_features(features, bank.sentences_, "the prompt bank's text_features_")

    def _chosen_folder(self):
        """``synonym_folder``, or the deprecated ``folder`` with a FutureWarning."""
        if isinstance(self.folder, str) and self.folder == "deprecated":
            return self.synonym_folder
        if self.synonym_folder is not None:
            raise InvalidParameterError(
                f"{_OWNER} got both 'folder' and 'synonym_folder'; 'folder' is the "
                "deprecated name of 'synonym_folder': give only synonym_folder."
            )
        warnings.warn(
            f"The 'folder' parameter of {_OWNER} was renamed 'synonym_folder' after 0.1.0 "
            "and will be removed in 0.3; pass synonym_folder=... instead.",
            ClipFerDeprecationWarning,
            stacklevel=4,  # _chosen_folder, fit, fit_context's wrapper, the caller
        )
        return self.folder

    @property
    def folder_(self):
        """Deprecated alias of ``synonym_folder_``."""
        return self.synonym_folder_

    # Notebook display: scikit-learn's, headed by what the fit holds.

    def _repr_mimebundle_(self, **kwargs):
        return with_fitted_summary(self, super()._repr_mimebundle_(**kwargs))

    def _repr_html_inner(self):
        return with_fitted_summary(self, {"text/html": super()._repr_html_inner()})["text/html"]

    # Encoding -------------------------------------------------------------------

    def _resolved_model(self):
        return resolve_model(self.model, self.device, self.precision, self.download_root, _OWNER)

    def _loaded_model(self):
        """The model, checked to be the one ``fit`` encoded the prompts with."""
        loaded = self._resolved_model()
        fitted = getattr(self, "model_identity_", None)
        if fitted is not None and loaded.weights_identity != fitted:
            raise ModelChangedError(
                f"The model {_model_name(self.model)} is no longer the one this "
                f"{_OWNER} was fitted with (its weights, config or tokenizer changed: "
                f"identity {loaded.weights_identity[:12]}, fitted with {fitted[:12]}); "
                "its text features belong to the old model. Call fit() again to use the "
                "new model, or restore the old files."
            )
        return loaded

    def _check_embeddings(self, X, width, allow_nan=False):
        X = check_array(from_tensor(X), dtype=[np.float32, np.float64], ensure_all_finite=not allow_nan)
        if X.shape[1] != width:
            raise ValueError(
                f"X has {X.shape[1]} features, but {_OWNER} is expecting {width} "
                "features as input: precomputed X holds image embeddings of the "
                "model's width (see embed)."
            )
        if allow_nan:
            X = np.where(np.isfinite(X).all(axis=1, keepdims=True), X, np.nan)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(norms > 0, norms, 1)  # zero rows stay zero, NaN rows NaN

    def _embed(self, images):
        """Embeddings and the ``(index, reason)`` of every skipped image; no warning."""
        batch_size, num_workers, on_error = self._check_encoding_params()
        return embed_images(
            self._loaded_model(),
            images,
            batch_size=batch_size,
            num_workers=num_workers,
            cache=self.cache,
            cache_dir=self.cache_dir,
            verbose=self.verbose,
            skip_errors=on_error == "skip",
        )

    def _check_encoding_params(self):
        names = ("batch_size", "num_workers", "cache", "on_error")
        validate_parameter_constraints(
            {n: self._parameter_constraints[n] for n in names},
            {n: getattr(self, n) for n in names},
            _OWNER,
            self._parameter_descriptions,
            self._parameter_notes,
        )
        check_cache_dir(self.cache_dir, _OWNER)
        return self.batch_size, self.num_workers, self.on_error

    def _takes_embeddings(self):
        return bool(self.precomputed)

    def _embed_images(self, images):
        return self._embed(images)

    def _precomputed_embeddings(self, X):
        """Unit rows of embeddings given as ``X`` (NaN rows for bad ones under
        ``on_error="skip"``) and the ``(index, reason)`` of each bad row."""
        skip = self._check_encoding_params()[2] == "skip"
        embeddings = self._check_embeddings(X, self.text_features_.shape[1], allow_nan=skip)
        # An all-zero row has no direction: every class scores alike, and the first
        # class would be its label. It is a bad input, like NaN.
        zero = np.flatnonzero(~embeddings.any(axis=1))
        if len(zero) and not skip:
            raise ImageInputError(int(zero[0]), _ZERO_EMBEDDING)
        errors = [
            (int(i), "embedding holds NaN or infinity")
            for i in np.flatnonzero(np.isnan(embeddings).any(axis=1))
        ]
        embeddings[zero] = np.nan
        errors = sorted(errors + [(int(i), _ZERO_EMBEDDING) for i in zero])
        return embeddings, errors

    def scoring_core(self):
        """The scoring core of this fit: embeddings -> word scores -> class scores -> Decision.

        Every prediction of the estimator goes through it; it checks the
        folder's and the decider's output against their contract.

        Returns
        -------
        core : ScoringCore
            Holds the fitted text features, the bank's word classes, the logit
            scale and bias, the folder and the decider (no model, no images).
        """
        check_is_fitted(self, "text_features_")
        return ScoringCore(
            text_features=self.text_features_,
            word_class=np.asarray(self.prompt_bank_.word_class_),
            classes=self.classes_,
            n_templates=len(self.prompt_bank_.templates_),
            logit_scale=self.logit_scale_,
            logit_bias=self.logit_bias_,
            folder=self.synonym_folder_,
            decider=self.decider_,
        )

    def _decide_embeddings(self, embeddings):
        return self.scoring_core().decide(embeddings)

    def explain(self, X, as_frame="auto"):
        """Why each image got its ranking: what every template ranked, and by which words.

        For each image and template: the template's own ranking of the
        classes, each class's folded score under it, and the synonym that
        scored highest for each class (the word that spoke for the class).
        The decider turns these per-template rankings into the answer of
        :meth:`decide`.

        Parameters
        ----------
        X : sequence of images, or embeddings when ``precomputed=True``
            Images as :meth:`embed` takes them.
        as_frame : bool or "auto", default="auto"
            Return a pandas DataFrame; ``"auto"`` does when pandas is
            installed, else returns the list of records.

        Returns
        -------
        explanation : pandas.DataFrame or list of dict
            One record per (image, template), images in order, templates in
            ``prompt_bank_.templates_`` order: ``image_index``, ``template``,
            ``ranking`` (class names, best first, as this template alone ranks
            them; ties go to the earlier class), ``class_scores`` (class ->
            folded score, in the unit of ``logit_scale * cosine``) and
            ``best_words`` (class -> the class's synonym with the highest score
            under this template). In a DataFrame, ``ranking`` becomes columns
            ``rank_1`` ... and the dicts become ``score_<class>`` and
            ``word_<class>`` columns. Inputs skipped with ``on_error="skip"``
            have no records (a :class:`SkippedImagesWarning` names them).
        """
        check_is_fitted(self, "text_features_")
        if as_frame not in ("auto", True, False):
            raise InvalidParameterError(
                "The 'as_frame' parameter of explain must be True, False or 'auto'. "
                f"Got {as_frame!r} instead."
            )
        embeddings, errors, items = self._embeddings(X)
        if errors:
            warn_skipped(errors, len(embeddings), items)
        valid = np.flatnonzero(~np.isnan(embeddings).any(axis=1))
        bank, core = self.prompt_bank_, self.scoring_core()
        word_scores = core.word_scores(embeddings[valid])
        class_scores = core.class_scores(word_scores)
        orders = np.argsort(-class_scores, axis=-1, kind="stable")
        classes = [str(c) for c in self.classes_]
        words = np.asarray(bank.words_, dtype=object) if hasattr(bank, "words_") else None
        members = [np.flatnonzero(bank.word_class_ == c) for c in range(len(classes))]
        records = []
        for row, index in enumerate(valid):
            for t, template in enumerate(bank.templates_):
                best = {}
                for c, cls in enumerate(classes):
                    word = members[c][np.argmax(word_scores[row, t, members[c]])]
                    best[cls] = str(words[word]) if words is not None else int(word)
                records.append(
                    {
                        "image_index": int(index),
                        "template": template,
                        "ranking": [classes[c] for c in orders[row, t]],
                        "class_scores": {
                            cls: float(class_scores[row, t, c]) for c, cls in enumerate(classes)
                        },
                        "best_words": best,
                    }
                )
        if as_frame is False:
            return records
        try:
            import pandas as pd
        except ImportError:
            if as_frame == "auto":
                return records
            raise
        flat = [
            {
                "image_index": r["image_index"],
                "template": r["template"],
                **{f"rank_{i + 1}": c for i, c in enumerate(r["ranking"])},
                **{f"score_{c}": v for c, v in r["class_scores"].items()},
                **{f"word_{c}": w for c, w in r["best_words"].items()},
            }
            for r in records
        ]
        return pd.DataFrame(flat)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False  # zero-shot: y is only checked against the classes
        tags.input_tags.two_d_array = bool(self.precomputed)
        return tags
