"""Label shift: Saerens et al.'s EM prior and Bayes' rule, against hand-computed numbers."""

import numpy as np
import pytest
from scipy.special import softmax

from clip_fer._label_shift import em_class_prior, shift_log_proba


def test_em_reaches_the_hand_computed_maximum_likelihood_prior():
    # Two inputs, uniform source prior, posteriors (0.9, 0.1) and (0.3, 0.7). The
    # likelihood of pi (class 0's prior) is log(0.1 + 0.8 pi) + log(0.7 - 0.4 pi), whose
    # derivative 0.8 / (0.1 + 0.8 pi) - 0.4 / (0.7 - 0.4 pi) is zero at pi = 13/16.
    # Moved there, the posteriors are 0.73125 / 0.75 = 0.975 and 0.24375 / 0.375 = 0.65.
    prior, moved = em_class_prior(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(prior, [13 / 16, 3 / 16], atol=1e-6)
    np.testing.assert_allclose(moved, [[0.975, 0.025], [0.65, 0.35]], atol=1e-6)


def test_em_recovers_a_known_shift_of_a_bayes_classifier():
    # Exact posteriors of two unit-variance Gaussians at -1 and +1 under a balanced
    # source, evaluated on a sample drawn with prior (0.8, 0.2): EM finds (0.8, 0.2).
    rng = np.random.default_rng(0)
    labels = rng.random(20000) < 0.2
    x = np.where(labels, 1.0, -1.0) + rng.normal(size=labels.size)
    proba = softmax(np.stack([-((x + 1) ** 2) / 2, -((x - 1) ** 2) / 2], axis=1), axis=1)
    prior, _ = em_class_prior(proba, np.array([0.5, 0.5]))
    np.testing.assert_allclose(prior, [0.8, 0.2], atol=0.02)


def test_shift_log_proba_is_bayes_rule_by_hand():
    # (0.5, 0.5) under source (0.25, 0.75), moved to (0.5, 0.5): weights 2 and 2/3,
    # so (1, 1/3) / (4/3) = (0.75, 0.25).
    out = shift_log_proba(np.log([[0.5, 0.5]]), np.array([0.25, 0.75]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(np.exp(out), [[0.75, 0.25]])


def test_the_same_prior_moves_nothing():
    proba = np.array([[0.2, 0.5, 0.3]])
    out = shift_log_proba(np.log(proba), np.array([0.1, 0.3, 0.6]), np.array([0.1, 0.3, 0.6]))
    np.testing.assert_allclose(np.exp(out), proba)


@pytest.mark.parametrize(
    ("proba", "source"),
    [(np.ones((0, 2)), [0.5, 0.5]), (np.full((2, 3), 1 / 3), [0.5, 0.5]), ([[np.nan, 1.0]], [0.5, 0.5])],
)
def test_bad_posteriors_are_refused(proba, source):
    with pytest.raises(ValueError, match="em_class_prior needs"):
        em_class_prior(np.asarray(proba, dtype=float), np.asarray(source))
