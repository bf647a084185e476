"""The scoring core: image embeddings -> word scores -> class scores -> a Decision.

Every path that turns embeddings into answers goes through :class:`ScoringCore`
(the estimator's ``decide``, ``predict*`` and ``explain``; ``predict_faces``,
videos and Ray actors through the estimator's public methods). It holds no
model and no images, only what a fit produced (the prompts' text features,
which class each word belongs to, the logit scale and bias, the folder and the
decider), so it is cheap to build and to pickle. It is also where the output of
a component (a folder's class scores, a decider's :class:`Decision`) is checked
against its documented contract: a component that breaks a rule is named,
with the rule, instead of letting a wrong answer through.

Get one from a fitted estimator with
:meth:`ZeroShotEmotionClassifier.scoring_core`, or build one directly::

    core = clf.scoring_core()
    decision = core.decide(embeddings)        # unit image embeddings, (n, dim)
    labels = core.labels_of(decision.ranking[:, 0])
"""

from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from ._deciders import Decision
from .exceptions import ComponentContractError

__all__ = [
    "MAX_LOGIT_SCALE",
    "ScoringCore",
    "from_tensor",
    "first_bad_row",
    "labels_from_ranking",
    "check_class_scores",
    "check_decision",
]

#: The largest ``logit_scale`` accepted: word scores stay finite in float32
#: (CLIP's learned scales are near 100; OpenAI clamps theirs at 100).
MAX_LOGIT_SCALE = 1e4

#: How far a row of ``Decision.proba`` may sum from 1 (float32 arithmetic in a
#: user's decider is welcome).
PROBA_TOLERANCE = 1e-5

_SEE = "See the component protocols in docs/architecture.md."


#: How far from 1 the norm of a text feature row may be before the core divides the row by
#: its norm (float32 rounding of unit rows stays within it; their bits are kept).
UNIT_TOLERANCE = 1e-5


def _name(component):
    return type(component).__name__


def from_tensor(values):
    """A torch tensor as a numpy array (detached, on the CPU); anything else as it is.

    A tensor of a dtype numpy lacks (bfloat16) becomes float32. The estimator's
    ``precomputed=True`` path and the core read tensors through it, so that
    they take the same ones.

    Parameters
    ----------
    values : object

    Returns
    -------
    values : ndarray, or ``values`` itself if it is not a tensor
    """
    if type(values).__module__.startswith("torch") and hasattr(values, "detach"):
        import torch

        values = values.detach().cpu()  # a tensor that requires grad cannot become an array
        if values.is_floating_point() and values.dtype not in (torch.float16, torch.float32, torch.float64):
            values = values.float()  # bfloat16 (and float8): numpy has no such dtype
        return values.numpy()
    return values


def first_bad_row(features):
    """The first row with no direction, and what is wrong with it; None if every row has one.

    Parameters
    ----------
    features : ndarray of shape (n_rows, dim)
        Numeric.

    Returns
    -------
    bad : tuple (int, str) or None
        The row's index and ``"holds NaN or infinity"`` or ``"is all zeros (no direction)"``.
    """
    features = np.asarray(features)
    bad = ~np.isfinite(features).all(axis=1)
    zero = ~bad & ~np.where(bad[:, None], 1, features).any(axis=1)
    for rows, what in ((bad, "holds NaN or infinity"), (zero, "is all zeros (no direction)")):
        if rows.any():
            return int(np.flatnonzero(rows)[0]), what
    return None


def _broken(role, component, rule, detail):
    return ComponentContractError(
        f"The {role} {_name(component)} broke its contract: {rule}; {detail}. {_SEE}",
        role=role,
        rule=rule,
    )


def check_class_scores(class_scores, expected_shape, folder):
    """The folder's output as float64 after checking it against the contract.

    Parameters
    ----------
    class_scores : array-like
        What ``folder.fold(scores, word_class, n_classes)`` returned.
    expected_shape : tuple of int
        ``scores.shape[:-1] + (n_classes,)``.
    folder : object
        The folder, named in the error.

    Returns
    -------
    class_scores : ndarray of float64, shape ``expected_shape``

    Raises
    ------
    ComponentContractError
        If the output is not numeric, has another shape, or holds NaN or
        infinity.
    """
    role = "synonym_folder"
    try:
        array = np.asarray(class_scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _broken(
            role,
            folder,
            "fold() must return a numeric array",
            f"it returned {type(class_scores).__name__} ({exc})",
        ) from None
    if array.shape != tuple(expected_shape):
        raise _broken(
            role,
            folder,
            f"fold() must return shape {tuple(expected_shape)} (the scores' shape with the "
            "words' axis replaced by one column per class)",
            f"it returned shape {array.shape}",
        )
    bad = ~np.isfinite(array)
    if bad.any():
        image = int(np.argwhere(bad)[0][0])
        raise _broken(
            role,
            folder,
            "class scores must be finite",
            f"image {image} has NaN or infinity among its class scores",
        )
    return array


def check_decision(decision, n_images, n_classes, decider):
    """Check a decider's :class:`Decision` against the contract; return it.

    The rules: a ``Decision``; ``ranking``, ``scores`` and ``proba`` of shape
    ``(n_images, n_classes)``; each ``ranking`` row a permutation of the class
    indices; ``scores`` and ``proba`` finite; ``proba`` in [0, 1] with rows
    summing to 1 (within 1e-5); and the first-ranked class holding the row's
    largest probability (so ``argmax(proba)`` is ``ranking[:, 0]``, ties aside).

    Parameters
    ----------
    decision : object
        What ``decider.decide(class_scores)`` returned.
    n_images, n_classes : int
        The shape the decision must have.
    decider : object
        The decider, named in the error.

    Returns
    -------
    decision : Decision
        With ``ranking`` as intp and ``scores`` and ``proba`` as float64 arrays;
        ``proba`` clipped to [0, 1] and each row divided by its sum (the
        tolerances let a float32 decider through; what comes out is exact).

    Raises
    ------
    ComponentContractError
        Naming the decider and the first rule broken.
    """
    role = "decider"
    if not isinstance(decision, Decision):
        raise _broken(
            role,
            decider,
            "decide(class_scores) must return a clip_fer.Decision",
            f"it returned {type(decision).__name__}",
        )
    shape = (n_images, n_classes)
    arrays = {}
    for field in ("ranking", "scores", "proba"):
        try:
            value = np.asarray(getattr(decision, field))
            arrays[field] = value if field == "ranking" else value.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise _broken(role, decider, f"Decision.{field} must be a numeric array", str(exc)) from None
        if arrays[field].shape != shape:
            raise _broken(
                role,
                decider,
                f"Decision.{field} must have one row per image and one column per class, {shape}",
                f"it has shape {arrays[field].shape}",
            )
    ranking, scores, proba = arrays["ranking"], arrays["scores"], arrays["proba"]
    if not np.issubdtype(ranking.dtype, np.integer):
        raise _broken(
            role, decider, "Decision.ranking must hold integer class indices", f"its dtype is {ranking.dtype}"
        )
    ranking = ranking.astype(np.intp)
    not_permutation = (np.sort(ranking, axis=1) != np.arange(n_classes)).any(axis=1)
    if not_permutation.any():
        image = int(np.flatnonzero(not_permutation)[0])
        raise _broken(
            role,
            decider,
            f"each row of Decision.ranking must be a permutation of 0..{n_classes - 1}",
            f"image {image} has {ranking[image].tolist()}",
        )
    for field, values in (("scores", scores), ("proba", proba)):
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            image = int(np.flatnonzero(bad)[0])
            raise _broken(
                role, decider, f"Decision.{field} must be finite", f"image {image} has NaN or infinity"
            )
    outside = ((proba < -PROBA_TOLERANCE) | (proba > 1 + PROBA_TOLERANCE)).any(axis=1)
    if outside.any():
        image = int(np.flatnonzero(outside)[0])
        raise _broken(
            role,
            decider,
            "Decision.proba must be in [0, 1]",
            f"image {image} has {proba[image].round(6).tolist()}",
        )
    sums = proba.sum(axis=1)
    unnormalised = np.abs(sums - 1) > PROBA_TOLERANCE
    if unnormalised.any():
        image = int(np.flatnonzero(unnormalised)[0])
        raise _broken(
            role,
            decider,
            "each row of Decision.proba must sum to 1",
            f"image {image} sums to {sums[image]:.6g}",
        )
    rows = np.arange(n_images)
    disagree = proba[rows, ranking[:, 0]] < proba.max(axis=1) if n_images else np.zeros(0, bool)
    if disagree.any():
        image = int(np.flatnonzero(disagree)[0])
        raise _broken(
            role,
            decider,
            "argmax(Decision.proba) must be Decision.ranking[:, 0] (predict must agree with predict_proba)",
            f"image {image} ranks class {int(ranking[image, 0])} first but class "
            f"{int(proba[image].argmax())} has the largest probability",
        )
    # Accepted within the tolerances above; pass on exact probabilities (no -1e-7, rows
    # summing to 1 in float64), so that every metric and scikit-learn reads them as such.
    proba = np.clip(proba, 0.0, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True) if n_images else proba
    # Skipped inputs are the estimator's to report (decide(X).errors), never a decider's.
    return Decision(ranking, scores, proba)


@dataclass(frozen=True)
class ScoringCore:
    """What turns unit image embeddings into a :class:`Decision`, with no model.

    Attributes
    ----------
    text_features : ndarray of shape (n_sentences, dim)
        Embeddings of the prompt bank's sentences, template-major (sentence
        ``s`` is template ``s // n_words``, word ``s % n_words``); a tensor
        (bfloat16 too) is read as an array, and rows that are not unit length
        are divided by their norms.
    word_class : ndarray of int, shape (n_words,)
        Class index of each word, in ``0 .. n_classes - 1``.
    classes : ndarray of shape (n_classes,)
        Class names, in the order of the class indices.
    n_templates : int
        Number of templates: ``n_templates * n_words == n_sentences``.

    logit_scale, logit_bias : float
        Word scores are ``logit_scale * cosine + logit_bias``.
    folder : object
        With ``fold(scores, word_class, n_classes)``.
    decider : object
        With ``decide(class_scores) -> Decision``.

    Raises
    ------
    ComponentContractError
        At construction, naming the field, what was given and the fix: text
        features that are not a 2-D float array or hold a row with NaN,
        infinity or all zeros (the row, its template and word named);
        ``n_templates`` that does not match the text features (both counts
        named); ``word_class`` indices outside the classes; a logit scale or
        bias that would make scores infinite.

    Examples
    --------
    >>> core = clf.scoring_core()                                   # doctest: +SKIP
    >>> core.decide(clf.embed(["face.jpg"])).proba                  # doctest: +SKIP
    """

    text_features: Any
    word_class: Any
    classes: Any
    n_templates: int
    logit_scale: float
    logit_bias: float
    folder: Any
    decider: Any

    def __post_init__(self):
        self._check_text_side()
        scale, bias = float(self.logit_scale), float(self.logit_bias)
        if not (0 < scale <= MAX_LOGIT_SCALE and np.isfinite(bias) and abs(bias) <= MAX_LOGIT_SCALE):
            raise ComponentContractError(
                f"The logit scale and bias must be finite, the scale in (0, {MAX_LOGIT_SCALE:g}] "
                f"and the bias within +-{MAX_LOGIT_SCALE:g}, so that every score stays finite; got "
                f"scale {scale!r} and bias {bias!r}. Pass logit_scale=100.0 (CLIP's) to replace a "
                "model's or prompt bank's own.",
                role="logit_scale",
                rule="finite scores",
            )

    def _check_text_side(self):
        """Check the fields against each other before anything is scored; each error names
        the field, what was given and the fix. Text features that are not unit rows (a
        model's raw output) are divided by their norms, as image embeddings are."""

        def refuse(role, message):
            raise ComponentContractError(f"ScoringCore: {message}", role=role, rule="text side")

        try:
            features = np.asarray(from_tensor(self.text_features))
            features = features.astype(np.float32) if features.dtype.kind in "biu" else features
        except (TypeError, ValueError) as exc:
            refuse("text_features", f"text_features must be a numeric array ({exc}).")
        if features.dtype.kind != "f" or features.ndim != 2 or 0 in features.shape:
            refuse(
                "text_features",
                "text_features must be a non-empty float array of shape (n_sentences, dim); got "
                f"{features.dtype} of shape {features.shape}.",
            )
        classes = np.asarray(self.classes, dtype=object)
        if classes.ndim != 1 or len(classes) == 0:
            refuse("classes", f"classes must be a non-empty 1-D array of names; got shape {classes.shape}.")
        word_class = np.asarray(self.word_class)
        if word_class.dtype.kind == "f" and np.isfinite(word_class).all() and (word_class % 1 == 0).all():
            word_class = word_class.astype(np.intp)  # whole numbers stored as floats
            object.__setattr__(self, "word_class", word_class)
        if word_class.dtype.kind not in "iu" or word_class.ndim != 1 or len(word_class) == 0:
            refuse(
                "word_class",
                "word_class must be a non-empty 1-D array of class indices (int), one per word; "
                f"got {word_class.dtype} of shape {word_class.shape}.",
            )
        outside = (word_class < 0) | (word_class >= len(classes))
        if outside.any():
            word = int(np.flatnonzero(outside)[0])
            refuse(
                "word_class",
                f"word {word} has class index {int(word_class[word])}, not among "
                f"0..{len(classes) - 1} (the {len(classes)} classes).",
            )
        n_words, n_sentences = len(word_class), len(features)
        n_templates = self.n_templates
        if isinstance(n_templates, bool) or not isinstance(n_templates, Integral) or n_templates < 1:
            refuse("n_templates", f"n_templates must be an int >= 1; got {n_templates!r}.")
        if n_templates * n_words != n_sentences:
            implied = (
                f"{n_sentences // n_words} templates"
                if n_sentences % n_words == 0
                else f"no whole number of templates ({n_sentences} / {n_words})"
            )
            refuse(
                "n_templates",
                f"n_templates={n_templates} does not match the text features: they have "
                f"{n_sentences} sentences for {n_words} words (word_class), which is {implied}, "
                f"not {n_templates} x {n_words} = {n_templates * n_words}. Pass "
                "n_templates=len(bank.templates_), the templates the features were encoded with "
                "(sentences are template-major), or get the core from the fitted estimator "
                "(clf.scoring_core()).",
            )
        bad = first_bad_row(features)
        if bad is not None:
            row, what = bad
            refuse(
                "text_features",
                f"the text features are bad: the row of sentence {row} (template "
                f"{row // n_words}, word {row % n_words}) {what}; every sentence needs a finite "
                "embedding with a direction. Encode the sentences again (fit the estimator "
                "again), or remove that word.",
            )
        norms = np.linalg.norm(features.astype(np.float64), axis=1)
        if np.abs(norms - 1).max() > UNIT_TOLERANCE:
            features = features / norms[:, None].astype(features.dtype)
        if features is not self.text_features:
            object.__setattr__(self, "text_features", features)  # frozen: set once, here

    @property
    def n_classes(self):
        """Number of classes."""
        return len(self.classes)

    def word_scores(self, embeddings):
        """``logit_scale * cosine + logit_bias`` of each image with each sentence.

        Parameters
        ----------
        embeddings : ndarray or torch.Tensor of shape (n_images, dim)
            Image embeddings, finite and not all zero, of any real dtype
            (bfloat16 tensors too); each row is divided by its norm (the cosine
            needs unit vectors; :meth:`embed` returns them so, a model's raw
            features are not), as the estimator's ``precomputed=True`` path does.

        Returns
        -------
        scores : ndarray of shape (n_images, n_templates, n_words)

        Raises
        ------
        ValueError
            Naming the first row that holds NaN or infinity or is all zeros.
        """
        embeddings = np.asarray(from_tensor(embeddings))
        if embeddings.dtype.kind == "O":  # numbers as Python objects (a pandas frame's values)
            try:
                embeddings = embeddings.astype(np.float64)
            except (TypeError, ValueError):
                pass
        if embeddings.dtype.kind not in "biuf":
            raise ValueError(
                f"embeddings must be real numbers (float32, float64, float16, bfloat16 tensors "
                f"included); got dtype {embeddings.dtype}."
            )
        if embeddings.ndim != 2 or embeddings.shape[1] != self.text_features.shape[1]:
            raise ValueError(
                f"embeddings must have shape (n_images, {self.text_features.shape[1]}), the "
                f"model's width (its text features'); got {embeddings.shape}."
            )
        if embeddings.dtype.kind not in "f" or embeddings.dtype.itemsize < 4:
            embeddings = embeddings.astype(np.float32)  # ints, bools, float16
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        bad = ~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"embeddings: row {row} holds NaN or infinity or is all zeros, so it has no "
                "direction to score; drop it, or let the estimator skip it "
                "(ZeroShotEmotionClassifier(on_error='skip').decide)."
            )
        embeddings = embeddings / norms
        scores = self.logit_scale * (embeddings @ self.text_features.T.astype(embeddings.dtype))
        scores = scores + self.logit_bias
        n_words = len(self.text_features) // self.n_templates
        return scores.reshape(len(scores), self.n_templates, n_words)  # sentences are template-major

    def class_scores(self, word_scores):
        """Fold word scores into class scores with the folder, checked.

        Parameters
        ----------
        word_scores : ndarray of shape (n_images, n_templates, n_words)

        Returns
        -------
        class_scores : ndarray of float64, shape (n_images, n_templates, n_classes)
        """
        folded = self.folder.fold(word_scores, self.word_class, self.n_classes)
        return check_class_scores(folded, word_scores.shape[:-1] + (self.n_classes,), self.folder)

    def decide_class_scores(self, class_scores):
        """The decider's :class:`Decision` for class scores, checked.

        Parameters
        ----------
        class_scores : ndarray of shape (n_images, n_templates, n_classes)

        Returns
        -------
        decision : Decision
        """
        decision = self.decider.decide(class_scores)
        return check_decision(decision, len(class_scores), self.n_classes, self.decider)

    def decide(self, embeddings):
        """Rank the classes of each image.

        Parameters
        ----------
        embeddings : ndarray of shape (n_images, dim)
            Finite image embeddings, not all zero (see :meth:`word_scores`).

        Returns
        -------
        decision : Decision
            Checked against the contract (see :func:`check_decision`).
        """
        return self.decide_class_scores(self.class_scores(self.word_scores(embeddings)))

    def labels_of(self, ranking):
        """Class names for class indices; ``None`` where an index is -1.

        The one place where labels are made from class indices.

        Parameters
        ----------
        ranking : array-like of int
            Indices into ``classes``, of any shape; ``-1`` marks a skipped input.

        Returns
        -------
        labels : ndarray, same shape as ``ranking``
            Of the dtype of ``classes``; an object array with ``None`` where
            ``ranking`` is -1.
        """
        return labels_from_ranking(self.classes, ranking)


def labels_from_ranking(classes, ranking):
    """Class names for class indices; ``None`` where an index is -1.

    The one place where labels are made from class indices (both estimators,
    faces, video and Ray reach it through :meth:`ScoringCore.labels_of` or here).

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        The class names, in index order.
    ranking : array-like of int
        Indices into ``classes``, of any shape; ``-1`` marks a skipped input.

    Returns
    -------
    labels : ndarray, same shape as ``ranking``
        Of the dtype of ``classes``; an object array with ``None`` where
        ``ranking`` is -1.
    """
    classes = np.asarray(classes)
    given = np.asarray(ranking)
    if given.size and not np.issubdtype(given.dtype, np.integer):
        raise ValueError(
            f"labels_of: ranking must hold integer class indices (decide(X).ranking); got "
            f"dtype {given.dtype}."
        )
    ranking = given.astype(np.intp)
    wrong = (ranking < -1) | (ranking >= len(classes))
    if wrong.any():
        raise ValueError(
            f"labels_of: class index {int(ranking[wrong][0])} is not among 0..{len(classes) - 1} "
            "(the classes) or -1 (a skipped input)."
        )
    if (ranking >= 0).all():
        return classes[ranking]
    labels = np.empty(ranking.shape, dtype=object)
    known = ranking >= 0
    labels[known] = classes[ranking[known]]
    return labels
