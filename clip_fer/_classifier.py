"""ZeroShotEmotionClassifier: CLIP + prompt bank + folder + decider, as an sklearn classifier."""

import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

from ._deciders import Decision, MeanProbaDecider, RankVoteDecider
from ._display import with_fitted_summary
from ._folding import SynonymFolder
from .backends._images import check_image_sequence
from .backends._encoding import embed_images
from .backends._loading import encode_text, load_model
from ._prompt_bank import PromptBank
from .utils._param_validation import check_instance, check_int, check_option, check_positive_float
from .exceptions import InvalidParameterError, SkippedImagesWarning

__all__ = ["ZeroShotEmotionClassifier"]

_OWNER = "ZeroShotEmotionClassifier"


def _warn_skipped(errors, n_items, items=None, limit=5):
    """One warning naming how many items were skipped and which."""
    def name(i):
        item = items[i] if items is not None else None
        return f"{i} ({item})" if isinstance(item, (str, os.PathLike)) else f"{i}"

    shown = "; ".join(f"index {name(i)}: {reason}" for i, reason in errors[:limit])
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    message = (
        f"{len(errors)} of {n_items} inputs were skipped (on_error='skip') and have no "
        f"prediction: {shown}{more}"
    )
    warnings.warn(SkippedImagesWarning(message, errors), stacklevel=4)


def _check_labels(y, classes):
    """Every label of ``y`` must be one of the prompt bank's classes."""
    check_classification_targets(y)
    known = set(classes)
    labels = np.asarray(y, dtype=object).ravel().tolist()
    unknown = sorted({label for label in labels if label not in known}, key=str)
    if unknown:
        raise ValueError(
            f"y has labels {unknown} that the prompt bank does not know; its classes "
            f"are {list(classes)}. Add them to the bank's synonyms or relabel y."
        )


class ZeroShotEmotionClassifier(ClassifierMixin, BaseEstimator):
    """Zero-shot facial emotion recognition with CLIP, after the C.U report.

    Each image is scored against every sentence of the prompt bank (templates x
    synonyms) as ``logit_scale * cosine``; the folder merges each class's
    synonyms, template by template; the decider ranks the classes. Nothing is
    learned from images: ``fit`` only encodes the prompts.

    Parameters
    ----------
    model : str or path-like, default="ViT-B/32"
        An OpenAI CLIP name (downloaded on first use) or the path of a local
        checkpoint, a JIT archive or a state dict, which loads offline. The model
        is loaded once per process and shared; it is never copied or pickled.
    prompt_bank : PromptBank, default=None
        Templates and synonyms; None is ``PromptBank()`` (the default bank).
    folder : SynonymFolder, default=None
        How synonym scores fold into class scores; None is ``SynonymFolder()``.
    decider : RankVoteDecider or MeanProbaDecider, default=None
        How per-template class scores become a ranking; None is
        ``RankVoteDecider()``, the report's per-rank vote.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU.
    precision : {"auto", "fp32", "fp16", "bf16", "int8"}, default="auto"
        ``"auto"`` is fp16 on CUDA and fp32 on CPU. ``"bf16"`` (bfloat16
        autocast) and ``"int8"`` (CPU: int8 image tower) are faster opt-in paths
        whose predictions can differ slightly from fp32's.
    batch_size : int, default=32
        Images encoded per forward pass.
    num_workers : int or "auto", default="auto"
        Processes that decode and preprocess images while the model encodes;
        ``"auto"`` is 0 on CPU and up to 4 on CUDA.
    cache : bool, default=True
        Keep image embeddings in the process-wide cache
        (:data:`clip_fer.embedding_cache`, a bounded LRU), so an image is encoded
        once however many estimators, clones and grid-search candidates see it.
        Keys are the model's identity and the image's content (a file's path,
        size and modification time; an array's bytes).
    cache_dir : str or path-like, default=None
        Also persist embeddings to this folder, so a new process need not
        re-encode. Only used when ``cache`` is True.
    on_error : {"raise", "skip"}, default="raise"
        What an unreadable input does. ``"raise"``: an :class:`ImageInputError`
        naming its index and the reason. ``"skip"``: every other input is still
        predicted; the bad ones get explicit missing results (``None`` from
        ``predict``, a row of ``None`` from ``predict_topk``, a row of NaN from
        ``predict_proba`` and ``embed``, ``-1`` in ``decide().ranking``) and a
        :class:`SkippedImagesWarning` says how many and which. With
        ``precomputed=True``, rows holding NaN or infinity are the bad inputs.
    logit_scale : float, default=100.0
        Multiplies cosine similarities before folding and softmax; 100 is CLIP's
        trained scale and the report's constant.
    precomputed : bool, default=False
        If True, ``X`` is an (n_samples, dim) array of image embeddings (as
        returned by :meth:`embed`) instead of images.
    download_root : str, default=None
        Where model names are downloaded; None is ``~/.cache/clip``.
    verbose : bool, default=False
        Show a progress bar while encoding images.

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_classes,)
        Sorted class names of the prompt bank; columns of ``predict_proba``.
    prompt_bank_, folder_, decider_ : estimators
        Fitted clones of the components.
    text_features_ : ndarray of shape (n_sentences, dim)
        L2-normalised embeddings of ``prompt_bank_.sentences_``.
    n_features_in_ : int
        Embedding width; set only when ``precomputed=True``.

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32").fit()   # doctest: +SKIP
    >>> clf.predict(["face.jpg"])                                  # doctest: +SKIP
    array(['happy'], dtype=object)
    """

    def __init__(
        self,
        model="ViT-B/32",
        *,
        prompt_bank=None,
        folder=None,
        decider=None,
        device="auto",
        precision="auto",
        batch_size=32,
        num_workers="auto",
        cache=True,
        cache_dir=None,
        on_error="raise",
        logit_scale=100.0,
        precomputed=False,
        download_root=None,
        verbose=False,
    ):
        self.model = model
        self.prompt_bank = prompt_bank
        self.folder = folder
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

    # Fitting --------------------------------------------------------------------

    def fit(self, X=None, y=None):
        """Encode the prompt bank's sentences; images are not used.

        Parameters
        ----------
        X : ignored, or array of shape (n_samples, dim) when ``precomputed=True``
            Only its width is checked in the precomputed case.
        y : array-like of shape (n_samples,), default=None
            If given, every label must be one of the bank's classes.

        Returns
        -------
        self : ZeroShotEmotionClassifier
        """
        check_positive_float(self.logit_scale, "logit_scale", _OWNER)
        self._check_encoding_params()
        for name in ("precomputed", "verbose"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The '{name}' parameter of {_OWNER} must be a bool. "
                    f"Got {getattr(self, name)!r} instead."
                )
        bank = check_instance(self.prompt_bank, "prompt_bank", _OWNER, PromptBank, PromptBank)
        folder = check_instance(self.folder, "folder", _OWNER, SynonymFolder, SynonymFolder)
        decider = check_instance(
            self.decider, "decider", _OWNER, (RankVoteDecider, MeanProbaDecider), RankVoteDecider
        )
        # Everything is computed before any attribute is set, so a failed refit
        # leaves the previous fit intact.
        bank, folder, decider = clone(bank).fit(), clone(folder).fit(), clone(decider).fit()
        # A dry run checks the decider against this bank (e.g. top_k <= n_classes).
        decider.decide(np.zeros((1, len(bank.templates_), len(bank.classes_))))
        text_features = encode_text(self._loaded_model(), bank.sentences_)
        if self.precomputed and X is not None:
            self._check_embeddings(X, text_features.shape[1])
        if y is not None:
            _check_labels(y, bank.classes_)

        self.prompt_bank_, self.folder_, self.decider_ = bank, folder, decider
        self.classes_ = bank.classes_
        self.text_features_ = text_features
        if self.precomputed:
            self.n_features_in_ = text_features.shape[1]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    # Notebook display: scikit-learn's, headed by what the fit holds.

    def _repr_mimebundle_(self, **kwargs):
        return with_fitted_summary(self, super()._repr_mimebundle_(**kwargs))

    def _repr_html_inner(self):
        return with_fitted_summary(self, {"text/html": super()._repr_html_inner()})["text/html"]

    # Encoding -------------------------------------------------------------------

    def _loaded_model(self):
        return load_model(self.model, self.device, self.precision, self.download_root)

    def _check_embeddings(self, X, width, allow_nan=False):
        X = check_array(X, dtype=[np.float32, np.float64], ensure_all_finite=not allow_nan)
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

    def embed(self, X):
        """L2-normalised CLIP image embeddings.

        Parameters
        ----------
        X : sequence of images
            File paths, PIL images, arrays or tensors (see the README), or a
            stacked array of images.

        Returns
        -------
        embeddings : ndarray of float32, shape (n_samples, dim)
            Accepted as ``X`` by an estimator with ``precomputed=True``.
        """
        images = check_image_sequence(X)
        batch_size, num_workers, on_error = self._check_encoding_params()
        embeddings, errors = embed_images(
            self._loaded_model(), images, batch_size=batch_size, num_workers=num_workers,
            cache=self.cache, cache_dir=self.cache_dir, verbose=self.verbose,
            skip_errors=on_error == "skip",
        )
        if errors:
            _warn_skipped(errors, len(images), images)
        return embeddings

    def _check_encoding_params(self):
        batch_size = check_int(self.batch_size, "batch_size", _OWNER, 1)
        workers = self.num_workers
        if workers != "auto":
            workers = check_int(workers, "num_workers", _OWNER, 0)
        if not isinstance(self.cache, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'cache' parameter of {_OWNER} must be a bool. Got {self.cache!r} instead."
            )
        on_error = check_option(self.on_error, "on_error", _OWNER, ("raise", "skip"))
        return batch_size, workers, on_error

    def decide(self, X):
        """The full decision for each image: ranking, per-rank scores, probabilities.

        Parameters
        ----------
        X : sequence of images, or embeddings when ``precomputed=True``

        Returns
        -------
        decision : Decision
            ``ranking`` (class indices into ``classes_``, best first), ``scores``
            (the score behind each rank, see :meth:`predict_topk`) and ``proba``
            (as :meth:`predict_proba`).
        """
        check_is_fitted(self, "text_features_")
        if self.precomputed:
            skip = self._check_encoding_params()[2] == "skip"
            embeddings = self._check_embeddings(X, self.text_features_.shape[1], allow_nan=skip)
            bad = np.flatnonzero(np.isnan(embeddings).any(axis=1))
            if len(bad):
                _warn_skipped([(i, "embedding holds NaN or infinity") for i in bad], len(embeddings))
        else:
            embeddings = self.embed(X)
        valid = ~np.isnan(embeddings).any(axis=1)
        if valid.all():
            return self._decide_embeddings(embeddings)
        n, n_classes = len(embeddings), len(self.classes_)
        ranking = np.full((n, n_classes), -1, dtype=np.intp)
        scores, proba = np.full((n, n_classes), np.nan), np.full((n, n_classes), np.nan)
        if valid.any():
            decided = self._decide_embeddings(embeddings[valid])
            ranking[valid], scores[valid], proba[valid] = decided.ranking, decided.scores, decided.proba
        return Decision(ranking, scores, proba)

    def _decide_embeddings(self, embeddings):
        scores = self.logit_scale * (embeddings @ self.text_features_.T.astype(embeddings.dtype))
        n_templates = len(self.prompt_bank_.templates_)
        scores = scores.reshape(len(scores), n_templates, -1)  # sentences are template-major
        class_scores = self.folder_.fold(scores, self.prompt_bank_.word_class_, len(self.classes_))
        return self.decider_.decide(class_scores)

    def _labels(self, ranking):
        """Class names for a ranking; ``None`` where it is -1 (a skipped input)."""
        labels = np.empty(ranking.shape, dtype=object)
        known = ranking >= 0
        labels[known] = self.classes_[ranking[known]]
        return labels

    # Prediction -----------------------------------------------------------------

    def predict(self, X):
        """The top-ranked class of each image.

        Returns
        -------
        labels : ndarray of object, shape (n_samples,)
            Class names; ``None`` for inputs skipped with ``on_error="skip"``.
        """
        return self._labels(self.decide(X).ranking[:, 0])

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order.

        The numbers are the prompt ensemble's: for each template, a softmax over
        classes of its folded scores (``logit_scale * cosine``); then the mean over
        templates. With :class:`RankVoteDecider` they are re-assigned along the
        voted ranking, so the voted first class holds the largest value. Rows sum
        to 1 and ``argmax`` gives ``predict``. They are relative scores among the
        bank's classes, not calibrated frequencies.

        Returns
        -------
        proba : ndarray of float64, shape (n_samples, n_classes)
        """
        return self.decide(X).proba

    def predict_topk(self, X, k=3, return_scores=False):
        """The ``k`` best classes of each image, best first.

        Parameters
        ----------
        X : sequence of images, or embeddings when ``precomputed=True``
        k : int, default=3
            Number of classes per image, in [1, n_classes].
        return_scores : bool, default=False
            Also return the score behind each rank: with :class:`RankVoteDecider`
            the share of templates that put the class at that rank (in [0, 1]);
            with :class:`MeanProbaDecider` the class probability.

        Returns
        -------
        labels : ndarray of str, shape (n_samples, k)
        scores : ndarray of float, shape (n_samples, k)
            Only when ``return_scores`` is True.
        """
        check_is_fitted(self, "text_features_")
        k = check_int(k, "k", "predict_topk", 1, len(self.classes_))
        decision = self.decide(X)
        labels = self._labels(decision.ranking[:, :k])
        return (labels, decision.scores[:, :k]) if return_scores else labels

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # zero-shot: nothing is learned from y
        tags.target_tags.required = False
        tags.input_tags.two_d_array = bool(self.precomputed)
        return tags
