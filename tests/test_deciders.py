"""RankVoteDecider and MeanProbaDecider against hand-computed cases and a plain reference."""

import math
from collections import Counter

import numpy as np
import pytest
from sklearn.base import clone

from clip_fer import Decision, MeanProbaDecider, RankVoteDecider
from clip_fer.exceptions import InvalidParameterError

# Case "bug": template 0 (first inserted in the report's Counter) puts class 2 first,
# templates 1 and 2 put class 0 first. Per-template rankings: [2,1,0], [0,2,1], [0,1,2].
# Means: c0 = 7/3, c1 = 5/3, c2 = 2, so the mean order is [0, 2, 1].
BUG = [[[1, 2, 3], [3, 1, 2], [3, 2, 1]]]


def ensemble_by_hand(scores):
    """Mean over templates of softmax over classes, for one image, in plain Python."""
    probas = []
    for template in scores:
        exps = [math.exp(s) for s in template]
        probas.append([e / sum(exps) for e in exps])
    return [sum(p[c] for p in probas) / len(probas) for c in range(len(scores[0]))]


def decide(scores, top_k=3):
    return RankVoteDecider(top_k=top_k).fit().decide(np.array(scores, dtype=float))


def test_most_frequent_rank1_class_wins_not_first_inserted():
    decision = decide(BUG)
    assert isinstance(decision, Decision)
    np.testing.assert_array_equal(decision.ranking, [[0, 1, 2]])
    # rank 1: class 0 by 2 of 3; rank 2: class 1 (t0, t2); rank 3: class 2 (t2 only).
    np.testing.assert_allclose(decision.scores, [[2 / 3, 2 / 3, 1 / 3]])


def test_count_tie_broken_by_mean_score():
    # Rankings [0,1,2] and [1,2,0]: rank 1 is a 1-1 tie of classes 0 and 1;
    # class 1 has the larger mean (5 > 2.5), so it wins although class 0 is earlier.
    decision = decide([[[5, 4, 0], [0, 6, 1]]])
    np.testing.assert_array_equal(decision.ranking, [[1, 2, 0]])
    np.testing.assert_allclose(decision.scores, [[0.5, 0.5, 0.5]])


def test_count_tie_with_equal_means_broken_by_class_order():
    # Rankings [1,2,0] and [0,2,1]; classes 0 and 1 both have mean 2.
    decision = decide([[[1, 3, 2], [3, 1, 2]]])
    np.testing.assert_array_equal(decision.ranking, [[0, 2, 1]])
    np.testing.assert_allclose(decision.scores, [[0.5, 1.0, 0.5]])


def test_equal_scores_within_a_template_rank_earlier_class_first():
    # Both templates tie classes 1 and 2, so both rank them [1, 2]; class 0 is last.
    decision = decide([[[0, 5, 5], [1, 3, 3]]])
    np.testing.assert_array_equal(decision.ranking, [[1, 2, 0]])
    np.testing.assert_allclose(decision.scores, [[1.0, 1.0, 1.0]])


def test_fallback_when_every_class_at_rank_is_chosen():
    # Classes A, B, C, D = 0..3. Per-template rankings:
    #   t0 A C B D, t1 A D B C, t2 C B A D, t3 D B A C
    # rank 1: A (2 votes); rank 2: B (2 votes, C and D 1 each);
    # rank 3: B, B, A, A -> all chosen, so the unchosen class with the larger mean:
    # D (mean 2.5) over C (mean 2.25), although C comes first. Rank 4: C.
    scores = [[[4, 2, 3, 1], [4, 2, 1, 3], [2, 3, 4, 1], [2, 3, 1, 5]]]
    decision = decide(scores, top_k=4)
    np.testing.assert_array_equal(decision.ranking, [[0, 1, 3, 2]])
    np.testing.assert_allclose(decision.scores, [[0.5, 0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(decide(scores, top_k=3).ranking, [[0, 1, 3, 2]])


def test_top_k_only_changes_ranks_after_it():
    voted = decide(BUG, top_k=3)
    by_mean_after_1 = decide(BUG, top_k=1)
    np.testing.assert_array_equal(voted.ranking, [[0, 1, 2]])
    np.testing.assert_array_equal(by_mean_after_1.ranking, [[0, 2, 1]])
    # Shares are still "templates that put this class at this rank".
    np.testing.assert_allclose(by_mean_after_1.scores, [[2 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_array_equal(decide(BUG, top_k=2).ranking, [[0, 1, 2]])


def test_proba_is_the_ensemble_when_the_vote_agrees():
    # Each column holds its own class's ensemble probability: the vote's first
    # class (0) is also the ensemble's first, so nothing moves, whatever the
    # later ranks (the vote puts class 1 second, the ensemble class 2).
    ensemble = ensemble_by_hand(BUG[0])  # about [0.473, 0.194, 0.333]
    assert ensemble[0] > ensemble[2] > ensemble[1]
    voted = decide(BUG, top_k=3)  # ranking [0, 1, 2]
    np.testing.assert_array_equal(voted.ranking, [[0, 1, 2]])
    np.testing.assert_allclose(voted.proba, [ensemble])
    agreed = decide(BUG, top_k=1)  # ranking [0, 2, 1] = ensemble order: unchanged
    np.testing.assert_allclose(agreed.proba, [ensemble])


def test_proba_lifts_the_voted_class_when_the_vote_overrules_the_ensemble():
    # Two templates narrowly put class 0 first; one puts class 1 first by far,
    # so the ensemble prefers class 1 while the vote chooses class 0.
    scores = [[[1.0, 0.9, 0.0], [1.0, 0.9, 0.0], [0.0, 10.0, 0.0]]]
    ensemble = ensemble_by_hand(scores[0])
    assert ensemble[1] > ensemble[0]
    decision = decide(scores, top_k=1)
    assert decision.ranking[0, 0] == 0
    lag = ensemble[1] - ensemble[0]
    alpha = 2 * lag / (1 + 2 * lag)
    expected = [(1 - alpha) * ensemble[0] + alpha, (1 - alpha) * ensemble[1], (1 - alpha) * ensemble[2]]
    np.testing.assert_allclose(decision.proba, [expected])
    # The voted class leads by the margin it trailed by, scaled like the rest.
    np.testing.assert_allclose(decision.proba[0, 0] - decision.proba[0, 1], (1 - alpha) * lag)
    # The other columns keep their classes' ensemble ratio.
    np.testing.assert_allclose(decision.proba[0, 1] / decision.proba[0, 2], ensemble[1] / ensemble[2])
    assert decision.proba.argmax() == 0 and decision.proba.sum() == pytest.approx(1.0)


def test_proba_argmax_is_the_vote_when_saturated_templates_tie():
    # Each template's softmax saturates on a different class: the ensemble ties
    # classes 0 and 2 exactly; the vote (1-1) goes to class 2 by mean score.
    decision = decide([[[0.0, -900.0, -50.0], [-800.0, -900.0, 0.0]]], top_k=1)
    assert decision.ranking[0, 0] == 2
    assert decision.proba.argmax() == 2 and decision.proba.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(decision.proba, [[0.5, 0.0, 0.5]], atol=1e-8)


def test_top_k_out_of_range():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'top_k' parameter of RankVoteDecider must be an int in \[1, inf\]\. Got 0 instead\.$",
    ):
        RankVoteDecider(top_k=0).decide(np.array(BUG, dtype=float))


def test_top_k_above_the_classes_is_capped():
    capped = RankVoteDecider(top_k=4).decide(np.array(BUG, dtype=float))
    exact = RankVoteDecider(top_k=3).decide(np.array(BUG, dtype=float))
    np.testing.assert_array_equal(capped.ranking, exact.ranking)
    np.testing.assert_array_equal(capped.proba, exact.proba)


def test_top_k_checked_at_fit():
    with pytest.raises(
        InvalidParameterError,
        match=r"^The 'top_k' parameter of RankVoteDecider must be an int in \[1, inf\]\. "
        r"Got 0 instead\.$",
    ):
        RankVoteDecider(top_k=0).fit()
    assert clone(RankVoteDecider(top_k=2)).get_params() == {"top_k": 2}


def test_mean_proba_decider():
    decision = MeanProbaDecider().fit().decide(np.array(BUG, dtype=float))
    ensemble = ensemble_by_hand(BUG[0])
    np.testing.assert_array_equal(decision.ranking, [[0, 2, 1]])
    np.testing.assert_allclose(decision.scores, [[ensemble[0], ensemble[2], ensemble[1]]])
    np.testing.assert_allclose(decision.proba, [ensemble])


def test_mean_proba_decider_random():
    scores = np.random.default_rng(1).normal(size=(20, 3, 5)) * 5
    decision = MeanProbaDecider().decide(scores)
    expected = np.array([ensemble_by_hand(image) for image in scores.tolist()])
    np.testing.assert_allclose(decision.proba, expected)
    np.testing.assert_array_equal(decision.ranking, np.argsort(-expected, axis=1))
    np.testing.assert_allclose(decision.scores, -np.sort(-expected, axis=1))


# Plain per-image reference, written from the rule, independent of the vectorized code.
def reference_vote(scores, top_k):
    n_templates, n_classes = len(scores), len(scores[0])
    orders = [sorted(range(n_classes), key=lambda c: (-t[c], c)) for t in scores]
    mean = [sum(t[c] for t in scores) / n_templates for c in range(n_classes)]
    chosen = []
    for r in range(top_k):
        counts = Counter(order[r] for order in orders if order[r] not in chosen)
        if counts:
            most = max(counts.values())
            candidates = [c for c in counts if counts[c] == most]
        else:
            candidates = [c for c in range(n_classes) if c not in chosen]
        chosen.append(min(candidates, key=lambda c: (-mean[c], c)))
    rest = sorted((c for c in range(n_classes) if c not in chosen), key=lambda c: (-mean[c], c))
    ranking = chosen + rest
    shares = [sum(order[r] == ranking[r] for order in orders) / n_templates for r in range(n_classes)]
    ensemble = ensemble_by_hand(scores)
    voted = ranking[0]
    lag = max(ensemble) - ensemble[voted]
    if ensemble.index(max(ensemble)) != voted:  # ties: the voted class must still be argmax
        lag = max(lag, 1e-9)
    alpha = 2 * lag / (1 + 2 * lag)
    proba = [(1 - alpha) * p + (alpha if c == voted else 0.0) for c, p in enumerate(ensemble)]
    return ranking, shares, proba


@pytest.mark.parametrize("kind", ["float", "int-with-ties"])
@pytest.mark.parametrize("top_k", [1, 2, 3, 7])
def test_rank_vote_matches_reference(kind, top_k):
    rng = np.random.RandomState(12345 + top_k)
    if kind == "float":
        scores = rng.normal(size=(50, 4, 7)) * 10
    else:
        scores = rng.randint(0, 3, size=(50, 4, 7)).astype(float)
    decision = RankVoteDecider(top_k=top_k).decide(scores)
    for i, image in enumerate(scores.tolist()):
        ranking, shares, proba = reference_vote(image, top_k)
        assert decision.ranking[i].tolist() == ranking, f"image {i}"
        np.testing.assert_allclose(decision.scores[i], shares)
        np.testing.assert_allclose(decision.proba[i], proba)
    np.testing.assert_allclose(decision.proba.sum(axis=1), 1.0)
    if kind == "float":  # no ties in the probabilities
        np.testing.assert_array_equal(decision.proba.argmax(axis=1), decision.ranking[:, 0])
    for row in decision.ranking:
        assert sorted(row) == list(range(7))


def test_reference_disagrees_with_report_bug():
    # Guards the reference itself: the report's first-inserted rule would pick class 2.
    first_inserted = next(iter(Counter(o[0] for o in [[2, 1, 0], [0, 2, 1], [0, 1, 2]])))
    assert first_inserted == 2
    assert reference_vote(BUG[0], 3)[0] == [0, 1, 2]


def test_minus_infinity_scores_never_repeat_a_class():
    # Every candidate's mean is -inf at rank 2: the masked choice must still pick an
    # unchosen class (a -inf placeholder once let argmax return a chosen one).
    d = decide([[[0.0, -np.inf, -np.inf], [0.0, -np.inf, -np.inf]]], top_k=2)
    np.testing.assert_array_equal(d.ranking, [[0, 1, 2]])
