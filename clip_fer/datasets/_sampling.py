"""Few-shot sampling: ``k`` labelled examples per class, and the rest."""

import numpy as np

__all__ = ["sample_k_shot"]


def sample_k_shot(X, y, k, random_state=None, *, max_fraction=1.0):
    """Draw ``k`` examples of each class (the shots) and return them and the rest.

    Like :func:`sklearn.model_selection.train_test_split`, but stratified by
    count: each class gives ``k`` items, drawn without replacement with
    ``random_state``, so a learning curve over ``k`` and seeds is one loop.
    The same ``random_state`` and ``y`` give the same shots whatever ``X`` is
    (paths, arrays or embeddings of the same items), so images and their
    cached embeddings can be sampled alike.

    Parameters
    ----------
    X : sequence or array of shape (n_samples, ...)
        Images (paths, arrays) or embeddings; indexed as scikit-learn does.
    y : array-like of shape (n_samples,)
        Labels.
    k : int
        Shots per class, >= 1.
    random_state : int, numpy Generator or None, default=None
        Seed of the draw.
    max_fraction : float, default=1.0
        At most this fraction of each class (rounded down) becomes shots,
        in (0, 1]; 0.5 always leaves at least half of every class to evaluate on.

    Returns
    -------
    X_shots, X_rest : same type as ``X``
        The shots, class by class in the order of ``np.unique(y)`` and by
        index within a class, and every other item in its original order.
    y_shots, y_rest : ndarray
        Their labels.

    Warns
    -----
    UserWarning
        When a class has fewer items than ``k`` allows (``max_fraction``
        included): it gives all it can, and the warning names it and how many.

    Examples
    --------
    >>> from clip_fer.datasets import sample_k_shot
    >>> X, y = list(range(10)), ["a"] * 6 + ["b"] * 4
    >>> X_shots, X_rest, y_shots, y_rest = sample_k_shot(X, y, 2, random_state=0)
    >>> list(y_shots), len(X_rest)
    (['a', 'a', 'b', 'b'], 6)
    """
    import warnings
    from numbers import Integral, Real

    from sklearn.utils import _safe_indexing, check_random_state
    from sklearn.utils.validation import column_or_1d

    from ..metrics import check_labels_present

    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(
            f"The 'k' parameter of sample_k_shot must be an int >= 1 (shots per class). Got {k!r} instead."
        )
    if isinstance(max_fraction, bool) or not isinstance(max_fraction, Real) or not 0 < max_fraction <= 1:
        raise ValueError(
            "The 'max_fraction' parameter of sample_k_shot must be a float in (0, 1]. "
            f"Got {max_fraction!r} instead."
        )
    y = column_or_1d(y if hasattr(y, "dtype") else np.asarray(y, dtype=object))
    check_labels_present(y, "sample_k_shot")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} items but y has {len(y)} labels; give one label per item.")
    rng = np.random.default_rng(random_state) if not isinstance(random_state, np.random.RandomState) else None
    if rng is None:
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    chosen, short = [], []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        limit = min(k, int(np.floor(len(members) * max_fraction)))
        if limit < k:
            short.append(f"{label!r} ({limit} of {len(members)})")
        chosen.append(np.sort(rng.choice(members, size=limit, replace=False)))
    if short:
        warnings.warn(
            f"sample_k_shot: {len(short)} classes have fewer than k={k} items to give "
            f"(max_fraction={max_fraction}); they give what they can: {', '.join(short)}.",
            UserWarning,
            stacklevel=2,
        )
    shots = np.concatenate(chosen).astype(np.intp)
    rest = np.setdiff1d(np.arange(len(y)), shots)
    return _safe_indexing(X, shots), _safe_indexing(X, rest), y[shots], y[rest]
