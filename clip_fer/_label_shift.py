"""Label shift: the class prior of unlabelled inputs, and posteriors moved to it.

Few labelled shots are usually drawn class-balanced; the faces to label are not.
A classifier fitted on the shots assumes their class frequencies, so it favours
rare classes on the real inputs. Saerens, Latinne and Decaestecker (Neural
Computation 14(1), 2002) estimate the inputs' class prior by EM from the
classifier's own posteriors, and move each posterior to it by Bayes' rule.
"""

import numpy as np
from scipy.special import log_softmax

__all__ = ["em_class_prior", "shift_log_proba"]

_FLOOR = 1e-12  # a class prior is clipped here before the log


def shift_log_proba(log_proba, source_prior, target_prior):
    """Log-posteriors moved from one class prior to another (Bayes' rule).

    ``p_t(c | x)`` is proportional to ``p_s(c | x) * target_prior[c] /
    source_prior[c]``: the likelihood ``p(x | c)`` is assumed the same in both.

    Parameters
    ----------
    log_proba : ndarray of shape (n_samples, n_classes)
        Log-posteriors under ``source_prior``.
    source_prior, target_prior : ndarray of shape (n_classes,)
        Class priors (non-negative; each is clipped at 1e-12 before the log).

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        Normalised log-posteriors under ``target_prior``.
    """
    shift = np.log(np.clip(target_prior, _FLOOR, None)) - np.log(np.clip(source_prior, _FLOOR, None))
    return log_softmax(np.asarray(log_proba, dtype=np.float64) + shift, axis=1)


def em_class_prior(proba, source_prior, *, tol=1e-8, max_iter=1000):
    """The class prior of unlabelled inputs, by Saerens et al.'s EM (2002).

    Starting from ``source_prior``, each step moves every posterior to the
    current prior (:func:`shift_log_proba`) and takes their mean as the next
    prior; this increases the likelihood of the inputs under the mixture
    ``sum_c prior[c] p(x | c)`` and stops when no class's prior moves by more
    than ``tol``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Posteriors of the unlabelled inputs under ``source_prior`` (rows sum to 1).
    source_prior : ndarray of shape (n_classes,)
        The class prior the posteriors were fitted under (e.g. the shots'
        class frequencies); positive, sums to 1.
    tol : float, default=1e-8
        Stop when the prior moves by less than this in every class.
    max_iter : int, default=1000
        At most this many steps.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        The estimated class prior of the inputs (sums to 1).
    proba : ndarray of shape (n_samples, n_classes)
        The posteriors moved to ``prior``.
    """
    proba = np.asarray(proba, dtype=np.float64)
    source = np.asarray(source_prior, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(source) or len(proba) == 0:
        raise ValueError(
            f"em_class_prior needs posteriors of shape (n_samples >= 1, {len(source)}); "
            f"got shape {proba.shape}."
        )
    if not (np.all(np.isfinite(proba)) and np.all(source > 0)):
        raise ValueError("em_class_prior needs finite posteriors and a positive source prior.")
    prior = source.copy()
    for _ in range(max_iter):
        moved = proba * (prior / source)
        moved /= moved.sum(axis=1, keepdims=True)
        new = moved.mean(axis=0)
        done = np.max(np.abs(new - prior)) < tol
        prior = new
        if done:
            break
    moved = proba * (prior / source)
    return prior, moved / moved.sum(axis=1, keepdims=True)
