"""FewShotEmotionClassifier: a zero-shot classifier adapted with a few labelled faces.

The prompts are the prior. Every method scores an image as the zero-shot
estimator's log-probabilities, tempered, plus a term learned from the shots
whose weight ``alpha`` is zero unless the shots show, by a one-sided sign test
on held-out predictions, that a larger weight is right more often than
zero-shot. With ``alpha = 0`` the classifier predicts exactly what the zero-shot
estimator predicts.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from scipy.stats import binomtest
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._abstention import check_classes
from ._base import EmotionClassifierBase, decision_from_proba, warn_skipped
from ._classifier import ZeroShotEmotionClassifier
from .backends._base import ModelReference
from .backends._images import check_image_sequence
from .exceptions import DuplicateShotsWarning, ImageInputError, InvalidParameterError
from .utils._param_validation import Choices, Protocol
from .utils._sklearn_compat import Hidden, Interval, StrOptions, fit_context

__all__ = ["FewShotEmotionClassifier"]

_OWNER = "FewShotEmotionClassifier"

# The candidates the "auto" rule tries (zero, the prior alone, always comes first).
TIP_ALPHAS = (0.5, 1.0, 2.0, 4.0, 8.0)
TIP_BETAS = (1.0, 5.5, 10.0)
INTERPOLATION_ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_CHUNK = 1024  # rows of the affinity matrix computed at once
_FLOOR = 1e-300  # zero-shot probabilities are clipped here before the log


_ESTIMATOR = Protocol(
    ["fit", "predict_proba", "embed"],
    (ZeroShotEmotionClassifier,),
    "a zero-shot estimator",
    "fit(), predict_proba(), embed() and a precomputed parameter",
)


def _as_array(X):
    """Embeddings given as a torch tensor (on any device, with grad, bfloat16) as numpy."""
    if type(X).__module__.startswith("torch") and hasattr(X, "detach"):
        return X.detach().cpu().float().numpy()
    return X


def _unit_rows(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)


_SAME = 1e-6  # cosines within this of 1: the same image (a batch may move the last bits)


def first_copies(embeddings, labels):
    """Which shots are not a copy of an earlier shot of the same class.

    Two unit embeddings whose cosine is within 1e-6 of 1 are one image seen
    twice (FER2013 holds such duplicates); kept, the copy would vouch for its
    original in the leave-one-out rule (a held-out shot finding itself in the
    cache) and weigh twice in the cache, the probe and the temperature.

    Parameters
    ----------
    embeddings : ndarray of shape (n_shots, dim)
        Unit embeddings.
    labels : ndarray of int, shape (n_shots,)

    Returns
    -------
    keep : ndarray of bool, shape (n_shots,)
        False for every copy after the first of each class.
    """
    keep = np.ones(len(embeddings), dtype=bool)
    for start in range(0, len(embeddings), _CHUNK):  # bounded memory however many shots
        rows = np.arange(start, min(start + _CHUNK, len(embeddings)))
        same = embeddings[rows] @ embeddings.T >= 1 - _SAME
        same &= labels[rows, None] == labels[None, :]
        same &= np.arange(len(embeddings))[None, :] < rows[:, None]  # an earlier shot
        keep[rows] = ~same.any(axis=1)
    return keep


def fit_temperature(log_prior, y):
    """The temperature that makes ``softmax(log_prior / T)`` fit the labels best.

    Parameters
    ----------
    log_prior : ndarray of shape (n_samples, n_classes)
        Zero-shot log-probabilities.
    y : ndarray of int, shape (n_samples,)
        Class indices.

    Returns
    -------
    temperature : float
        In [exp(-5), exp(8)]; the maximum-likelihood value on ``y``.
    """
    rows = np.arange(len(y))

    def nll(log_t):
        return -log_softmax(log_prior / np.exp(log_t), axis=1)[rows, y].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-5.0, 8.0), method="bounded").x))


def cache_scores(embeddings, shots, shot_labels, n_classes, beta, leave_one_out=False):
    """Tip-Adapter's cache term: each class's mean affinity to its shots, centred.

    The affinity of an image to a shot is ``exp(-beta * (1 - cosine))``. A
    class's score is the mean affinity to its shots, minus the mean of that
    over the classes that have shots; a class with no shots scores 0, so it
    keeps its zero-shot standing.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, dim)
        Unit image embeddings.
    shots : ndarray of shape (n_shots, dim)
        Unit embeddings of the labelled shots.
    shot_labels : ndarray of int, shape (n_shots,)
        Class index of each shot.
    n_classes : int
        Number of classes.
    beta : float
        Sharpness of the affinity.
    leave_one_out : bool, default=False
        ``embeddings`` are the shots themselves: each is scored without itself.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_classes)
    """
    members = np.eye(n_classes, dtype=np.float64)[shot_labels]  # (n_shots, n_classes)
    summed = np.empty((len(embeddings), n_classes))
    for start in range(0, len(embeddings), _CHUNK):  # bounded memory however many shots
        rows = slice(start, start + _CHUNK)
        affinity = np.exp(-beta * (1.0 - embeddings[rows] @ shots.T))
        if leave_one_out:
            affinity[np.arange(affinity.shape[0]), np.arange(start, start + affinity.shape[0])] = 0.0
        summed[rows] = affinity @ members
    if leave_one_out:
        counts = members.sum(axis=0) - members
    else:
        counts = np.broadcast_to(members.sum(axis=0), (len(embeddings), n_classes))
    present = counts > 0
    scores = summed / np.where(present, counts, 1)
    mean = (scores * present).sum(axis=1, keepdims=True) / np.maximum(present.sum(axis=1, keepdims=True), 1)
    return np.where(present, scores - mean, 0.0)


def _probe_log_proba(probe, embeddings, n_classes):
    """The probe's log-probabilities in all classes; a class it never saw gets
    the row's mean over the classes it saw (no evidence either way)."""
    out = np.empty((len(embeddings), n_classes))
    seen = probe.classes_
    known = probe.predict_log_proba(embeddings)
    out[:] = known.mean(axis=1, keepdims=True)
    out[:, seen] = known
    return out


def _fit_probe(embeddings, labels, C):
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(labels)) < 2:
        return None  # nothing to contrast: the prior alone
    return LogisticRegression(C=C, max_iter=1000).fit(embeddings, labels)


def choose_candidate(correct, significance):
    """Which candidate the shots support: the sign-test rule.

    Candidate 0 is the prior (zero-shot). Another candidate is eligible when a
    one-sided exact sign test over the shots it and the prior disagree on
    (right where the prior is wrong, against wrong where the prior is right)
    rejects "no better than the prior" at ``significance`` divided by the
    number of other candidates (Bonferroni). Among the eligible, the one right
    most often wins; ties go to the earlier (closer to the prior).

    Parameters
    ----------
    correct : ndarray of bool, shape (n_candidates, n_shots)
        Whether each candidate's held-out prediction of each shot was right.
    significance : float
        The test's level, in (0, 1]; 1 picks the best candidate outright
        (ties to the prior).

    Returns
    -------
    index : int
        The chosen candidate.
    p_values : ndarray of shape (n_candidates,)
        Each candidate's one-sided p-value (1 for the prior).
    """
    correct = np.asarray(correct, dtype=bool)
    wins = (correct & ~correct[0]).sum(axis=1)
    losses = (~correct & correct[0]).sum(axis=1)
    p_values = np.ones(len(correct))
    for i in range(1, len(correct)):
        if wins[i] > losses[i]:
            p_values[i] = binomtest(int(wins[i]), int(wins[i] + losses[i]), 0.5, alternative="greater").pvalue
    level = significance / max(len(correct) - 1, 1)
    gains = np.where((p_values <= level) | (significance >= 1), wins - losses, -np.inf)
    gains[0] = 0
    return int(np.argmax(gains)), p_values


class FewShotEmotionClassifier(EmotionClassifierBase):
    """Adapt a zero-shot classifier with a few labelled faces; the prompts are the prior.

    Each image is scored as ``log_softmax(log p_zs / T)``, the wrapped
    zero-shot estimator's probabilities tempered by a temperature ``T``
    fitted on the shots, plus a term learned from the shots, weighted by
    ``alpha``:

    - ``method="tip"`` (training-free, after Tip-Adapter): ``+ alpha *``
      the centred mean affinity ``exp(-beta (1 - cos))`` of the image to each
      class's shots;
    - ``method="interpolation"`` (a trained linear probe, interpolated with the
      zero-shot classifier): ``(1 - alpha) * prior + alpha *`` the
      log-probabilities of a ``LogisticRegression`` fitted on the shots'
      normalised embeddings. ``alpha = 1`` is the plain linear probe.

    ``alpha = 0`` is the zero-shot estimator itself: same predictions.

    Parameters
    ----------
    estimator : ZeroShotEmotionClassifier, default=None
        The prior: its model, prompt bank, synonym folder, decider and
        precision. None is ``ZeroShotEmotionClassifier()``. With
        ``precomputed=True`` on it, ``X`` is image embeddings (as its
        ``embed`` returns them); else images, as it takes them. It is cloned,
        never changed.
    method : {"tip", "interpolation"}, default="tip"
        How the shots speak: a cache of their embeddings, or a linear probe.
    alpha : "auto" or float, default="auto"
        Weight of the shots' term: >= 0 for ``"tip"``, in [0, 1] for
        ``"interpolation"``. ``"auto"`` chooses it from the shots alone (see
        Notes).
    beta : "auto" or float, default="auto"
        Sharpness of the cache's affinity (``"tip"`` only; ignored by
        ``"interpolation"``). ``"auto"`` chooses it with ``alpha``; with a
        given ``alpha``, the ``beta`` whose leave-one-out predictions of the
        shots are right most often.
    C : float, default=1.0
        Inverse regularisation of the probe's ``LogisticRegression``
        (``"interpolation"`` only); 1.0 is scikit-learn's default, the
        protocol of MIEB's linear probe.
    cv : int, default=5
        Folds of the internal cross-validation over the shots
        (``"interpolation"``; stratified, fewer when a class has fewer
        shots; plain shuffled folds, seeded, when a class has only one).
        ``"tip"`` always scores the
        shots leave-one-out, which costs nothing for a cache.
    significance : float, default=0.05
        Level of the sign test that lets the shots move the classifier away
        from zero-shot (see Notes), in (0, 1]. Smaller keeps the prior more
        often; 1 takes the candidate right most often on held-out shots.
    abstain_below : float in [0, 1], default=None
        With a float, :meth:`predict` (and ``predict_video``) answers
        ``"unsure"`` for the inputs whose confidence, the top probability of
        :meth:`predict_proba`, is below it, as
        :class:`ZeroShotEmotionClassifier` does; ``predict_proba`` and
        ``predict_topk`` are unchanged. :meth:`score` counts "unsure" as
        wrong. None (the default) always answers a class. These
        probabilities are not calibrated (see ``docs/few-shot.md``).

    Attributes
    ----------
    estimator_ : ZeroShotEmotionClassifier
        A fitted clone of ``estimator`` with ``precomputed=True``: it scores
        embeddings (and embeds images, through its ``embed``).
    classes_ : ndarray, shape (n_classes,)
        The prompt bank's classes, as ``estimator_.classes_``; columns of
        :meth:`predict_proba`. Classes with no shots are kept.
    alpha_, beta_ : float
        The weights in use (``beta_`` is None for ``"interpolation"``).
    temperature_ : float
        ``T``, fitted on the shots by maximum likelihood.
    shot_embeddings_ : ndarray of shape (n_shots, dim)
        The shots' unit embeddings (the cache; ``"tip"`` only, else None).
    shot_labels_ : ndarray of int, shape (n_shots,)
        The shots' class indices into ``classes_``.
    probe_ : LogisticRegression or None
        The probe fitted on all shots (``"interpolation"`` with shots of two
        classes or more), else None.
    selection_ : dict
        What the ``"auto"`` rule saw: ``candidates`` (list of dict of
        hyperparameters, the prior first), ``correct`` (held-out hits of
        each), ``p_values`` and ``chosen`` (an index into ``candidates``).
        Empty when ``alpha`` (and for ``"tip"``, ``beta``) were given.
    n_features_in_ : int
        Embedding width; set only when the estimator takes embeddings.

    Notes
    -----
    The ``"auto"`` rule uses the shots alone. Each candidate weight (the prior,
    ``alpha = 0``, first) predicts every shot without having seen it:
    leave-one-out for the cache, ``cv``-fold cross-validation for the probe,
    with the temperature fitted inside. A candidate replaces the prior only
    if an exact one-sided sign test on the shots where it and the prior
    disagree says it is right more often, at ``significance`` divided by the
    number of candidates (Bonferroni); among those, the most accurate wins.
    So with one shot per class (the held-out shot's class has no other shot)
    or where the prompts are already as good, the result is the zero-shot
    estimator's. The rule and its measured behaviour are in
    ``docs/few-shot.md``.

    A label the prompt bank does not know raises an error naming it. Shots of
    one class only, or none for some classes, are allowed: a class without
    shots keeps its zero-shot score (its cache and probe terms are neutral).

    Examples
    --------
    >>> zero_shot = ZeroShotEmotionClassifier(model="ViT-B/32")   # doctest: +SKIP
    >>> clf = FewShotEmotionClassifier(zero_shot).fit(paths, labels)  # doctest: +SKIP
    >>> clf.predict(["face.jpg"])                                 # doctest: +SKIP
    array(['happy'], dtype=object)
    """

    def __init__(
        self,
        estimator=None,
        *,
        method="tip",
        alpha="auto",
        beta="auto",
        C=1.0,
        cv=5,
        significance=0.05,
        abstain_below=None,
    ):
        self.estimator = estimator
        self.method = method
        self.alpha = alpha
        self.beta = beta
        self.C = C
        self.cv = cv
        self.significance = significance
        self.abstain_below = abstain_below

    _parameter_constraints = {
        "estimator": [None, _ESTIMATOR],
        "method": [Choices("tip", "interpolation")],
        "alpha": [Interval(Real, 0, None, closed="left"), Hidden(StrOptions({"auto"}))],
        "beta": [Interval(Real, 0, None, closed="neither"), Hidden(StrOptions({"auto"}))],
        "C": [Interval(Real, 0, None, closed="neither")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "significance": [Interval(Real, 0, 1, closed="right")],
        "abstain_below": [None, Interval(Real, 0, 1, closed="both")],
    }
    _parameter_notes = {
        "alpha": "'auto' (chosen from the shots) is also accepted",
        "beta": "'auto' (chosen from the shots) is also accepted",
    }

    # Fitting --------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Learn from labelled faces: fit the prior, then the shots' term and its weight.

        Parameters
        ----------
        X : sequence of images, or embeddings of shape (n_samples, dim)
            Images as the zero-shot estimator takes them, or its embeddings
            when it has ``precomputed=True``. Images it skips (its
            ``on_error="skip"``) are left out of the fit, with its warning;
            embeddings holding NaN, infinity or an all-zero row are refused
            with an error naming the problem (a shot must have an input).
        y : array-like of shape (n_samples,)
            Labels, each one of the prompt bank's classes; required (None
            raises an error that says so).

        Returns
        -------
        self : FewShotEmotionClassifier
        """
        from .metrics import check_labels_present

        if y is None:
            raise ValueError(
                f"{_OWNER} requires y to be passed, but the target y is None: give the "
                "shots' labels (for no labels at all, use the zero-shot estimator)."
            )
        if self.method == "interpolation" and not isinstance(self.alpha, str) and self.alpha > 1:
            raise ValueError(
                f"The 'alpha' parameter of {_OWNER} must be in [0, 1] with method='interpolation'. "
                f"Got {self.alpha!r} instead."
            )
        base = ZeroShotEmotionClassifier() if self.estimator is None else self.estimator
        if getattr(base, "abstain_below", None) is not None:
            raise InvalidParameterError(
                f"The 'estimator' of {_OWNER} has abstain_below={base.abstain_below!r}, which "
                f"{_OWNER} would not apply: it answers from its own, adapted probabilities. Set "
                f"abstain_below on the {_OWNER} instead ({_OWNER}(estimator, "
                f"abstain_below={base.abstain_below!r})) and leave the estimator's None."
            )
        takes_embeddings = bool(getattr(base, "precomputed", False))
        prior = clone(base).set_params(precomputed=True)
        y = column_or_1d(y, warn=True)
        check_labels_present(y, f"{_OWNER}.fit")
        if takes_embeddings:
            embeddings = _as_array(X)
        else:
            images = check_image_sequence(X)
            embeddings, errors = prior.embed(images, return_errors=True)  # NaN rows for those it skips
            if errors:  # stacklevel: warn_skipped, fit, fit_context, the caller
                what, prefix = "are left out of the fit", f"{_OWNER}.fit: "
                warn_skipped(errors, len(images), images, what=what, prefix=prefix, stacklevel=4)
            if len(embeddings) != len(y):
                raise ValueError(
                    f"X has {len(embeddings)} images but y has {len(y)} labels; give one label per image."
                )
            kept = ~np.isnan(embeddings).any(axis=1)
            embeddings, y = embeddings[kept], y[kept]
        prior.fit(embeddings, y)  # checks width, finiteness and that the bank knows every label
        if self.abstain_below is not None:
            check_classes(prior.classes_, _OWNER)
        embeddings = _unit_rows(check_array(embeddings, dtype=np.float64))
        index = {label: i for i, label in enumerate(prior.classes_.tolist())}
        labels = np.array([index[label] for label in y.tolist()], dtype=np.intp)
        # A shot the prior cannot score (an all-zero embedding, skipped under its
        # on_error="skip") must not enter the temperature, the cache or the probe.
        prior_decision = prior.decide(embeddings)
        if prior_decision.errors:
            row, reason = prior_decision.errors[0]
            raise ImageInputError(
                row,
                f"{reason}. {_OWNER}.fit needs every shot's embedding (a shot must have an "
                "input); drop that row.",
            )
        log_prior = np.log(np.clip(prior_decision.proba, _FLOOR, None))
        unique = first_copies(embeddings, labels)
        if not unique.all():
            warnings.warn(
                f"{_OWNER}.fit: {int((~unique).sum())} of {len(unique)} shots are copies of another "
                "shot of the same class (their embeddings' cosine is within 1e-6 of 1: the same "
                "image twice) and are left out, so that no shot vouches for its own copy when "
                f"the shots are held out; {int(unique.sum())} shots remain.",
                DuplicateShotsWarning,
                stacklevel=3,  # fit, fit_context, the caller
            )
            embeddings, labels, log_prior = embeddings[unique], labels[unique], log_prior[unique]

        n_classes = len(prior.classes_)
        if self.method == "tip":
            alpha, beta, selection = self._choose_tip(embeddings, labels, log_prior, n_classes)
            probe, cache = None, embeddings
        else:
            alpha, selection = self._choose_interpolation(embeddings, labels, log_prior, n_classes)
            beta, cache = None, None
            probe = _fit_probe(embeddings, labels, self.C) if alpha > 0 else None

        self.estimator_ = prior
        self.classes_ = prior.classes_
        self.temperature_ = fit_temperature(log_prior, labels)
        self.alpha_, self.beta_ = float(alpha), None if beta is None else float(beta)
        self.shot_embeddings_, self.shot_labels_ = cache, labels
        self.probe_ = probe
        self.selection_ = selection
        if takes_embeddings:
            self.n_features_in_ = embeddings.shape[1]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def _choose_tip(self, embeddings, labels, log_prior, n_classes):
        alphas = TIP_ALPHAS if self.alpha == "auto" else (float(self.alpha),)
        betas = TIP_BETAS if self.beta == "auto" else (float(self.beta),)
        if self.alpha != "auto" and (self.beta != "auto" or alphas[0] == 0):
            return alphas[0], betas[0], {}  # alpha 0: no cache, beta chooses nothing
        tempered = log_softmax(log_prior / fit_temperature(log_prior, labels), axis=1)
        candidates = [{"alpha": 0.0, "beta": betas[0]}]
        correct = [tempered.argmax(axis=1) == labels]
        for beta in betas:
            scores = cache_scores(embeddings, embeddings, labels, n_classes, beta, leave_one_out=True)
            for alpha in alphas:
                if alpha > 0:
                    candidates.append({"alpha": alpha, "beta": beta})
                    correct.append((tempered + alpha * scores).argmax(axis=1) == labels)
        if self.alpha != "auto":  # a given alpha: only beta is chosen, by held-out hits alone
            candidates, correct = candidates[1:], correct[1:]
            hits = np.array(correct).sum(axis=1)
            chosen, p_values = int(np.argmax(hits)), np.full(len(candidates), np.nan)
        else:
            chosen, p_values = choose_candidate(np.array(correct), self.significance)
        selection = {
            "candidates": candidates,
            "correct": np.array(correct),
            "p_values": p_values,
            "chosen": chosen,
        }
        return candidates[chosen]["alpha"], candidates[chosen]["beta"], selection

    def _splits(self, labels):
        counts = np.bincount(labels)
        smallest = counts[counts > 0].min()
        if smallest >= 2:
            return list(StratifiedKFold(min(self.cv, smallest)).split(labels, labels))
        if len(labels) < 2:
            return []  # one shot in all: nothing to hold out, the prior stays
        # A class with one shot: plain folds; its shot, held out, finds no other of its class.
        return list(KFold(min(self.cv, len(labels)), shuffle=True, random_state=0).split(labels))

    def _choose_interpolation(self, embeddings, labels, log_prior, n_classes):
        if self.alpha != "auto":
            return float(self.alpha), {}
        alphas = (0.0, *INTERPOLATION_ALPHAS)
        correct = np.zeros((len(alphas), len(labels)), dtype=bool)
        for train, test in self._splits(labels):
            temperature = fit_temperature(log_prior[train], labels[train])
            tempered = log_softmax(log_prior[test] / temperature, axis=1)
            probe = _fit_probe(embeddings[train], labels[train], self.C)
            probe_scores = tempered if probe is None else _probe_log_proba(probe, embeddings[test], n_classes)
            for i, alpha in enumerate(alphas):
                scores = (1 - alpha) * tempered + alpha * probe_scores
                correct[i, test] = scores.argmax(axis=1) == labels[test]
        chosen, p_values = choose_candidate(correct, self.significance)
        candidates = [{"alpha": a} for a in alphas]
        selection = {"candidates": candidates, "correct": correct, "p_values": p_values, "chosen": chosen}
        return alphas[chosen], selection

    # Scoring --------------------------------------------------------------------

    _fitted_attribute = "estimator_"

    def _takes_embeddings(self):
        return getattr(self, "n_features_in_", None) is not None

    def _embed_images(self, images):
        check_is_fitted(self, "estimator_")
        model = self.estimator_.model
        if isinstance(model, ModelReference):  # before the zero-shot estimator names a call we lack
            raise model.error(_OWNER, "clf.estimator_.set_params(model=loaded)")
        return self.estimator_.embed(images, return_errors=True)

    def _precomputed_embeddings(self, X):
        X = _as_array(X)
        errors = self.estimator_.decide(X).errors  # validates X as the zero-shot estimator does
        embeddings = check_array(X, dtype=np.float64, ensure_all_finite=False, copy=bool(errors))
        if errors:  # on a copy: X is the user's, perhaps read-only
            embeddings[[i for i, _ in errors]] = np.nan
        return embeddings, errors

    def _decide_embeddings(self, embeddings):
        """Ranking and probabilities of finite embeddings: the adapted scores' softmax."""
        embeddings = _unit_rows(np.asarray(embeddings, dtype=np.float64))
        proba = self.estimator_.scoring_core().decide(embeddings).proba
        return decision_from_proba(softmax(self._scores(proba, embeddings), axis=1))

    def _scores(self, proba, embeddings):
        """Adapted class scores (log-probabilities up to a constant) for valid rows."""
        tempered = log_softmax(np.log(np.clip(proba, _FLOOR, None)) / self.temperature_, axis=1)
        if self.alpha_ == 0:
            return tempered
        n_classes = len(self.classes_)
        if self.method == "tip":
            cache = cache_scores(embeddings, self.shot_embeddings_, self.shot_labels_, n_classes, self.beta_)
            return tempered + self.alpha_ * cache
        if self.probe_ is None:
            return tempered  # shots of one class: nothing to contrast
        probe = _probe_log_proba(self.probe_, embeddings, n_classes)
        return (1 - self.alpha_) * tempered + self.alpha_ * probe

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # poor_score: the rule may keep the prior
        base = self.estimator
        tags.input_tags.two_d_array = bool(getattr(base, "precomputed", False))
        return tags
