"""clip_fer.metrics for probabilities and selective prediction, against plain
per-sample references and scikit-learn."""

import itertools
import warnings

import numpy as np
import pytest

from clip_fer.exceptions import SkippedImagesWarning
from clip_fer.metrics import (
    abstention_scores,
    aurc,
    brier_score,
    expected_calibration_error,
    macro_f1,
    negative_log_likelihood,
    per_class_metrics,
    reliability_curve,
    risk_coverage_curve,
    selective_accuracy,
    summarize,
    unweighted_average_recall,
)

CLASSES = np.array(["angry", "happy", "sad"])


def random_case(n=200, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = CLASSES[rng.integers(0, 3, n)]
    return y, proba


def ece_by_loop(y, proba, classes, n_bins):
    """A plain reference: each sample into its bin, one at a time."""
    totals = [[0, 0.0, 0.0] for _ in range(n_bins)]
    for label, row in zip(y, proba):
        top = max(row)
        b = min(max(int(np.ceil(top * n_bins)) - 1, 0), n_bins - 1)
        totals[b][0] += 1
        totals[b][1] += top
        totals[b][2] += float(classes[int(np.argmax(row))] == label)
    return sum(n / len(y) * abs(acc / n - conf / n) for n, conf, acc in totals if n)


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_equals_a_per_sample_loop(n_bins):
    y, proba = random_case()
    assert expected_calibration_error(y, proba, classes=CLASSES, n_bins=n_bins) == pytest.approx(
        ece_by_loop(y, proba, CLASSES, n_bins)
    )


def test_reliability_curve_counts_and_perfect_calibration():
    # 10 rows at 0.8 of which 8 right: calibrated in their bin, ECE 0.
    y = ["a"] * 8 + ["b"] * 2
    proba = [[0.8, 0.2]] * 10
    curve = reliability_curve(y, proba, n_bins=10)
    assert curve.count.tolist() == [0] * 7 + [10, 0, 0]
    assert curve.accuracy[7] == pytest.approx(0.8) and curve.confidence[7] == pytest.approx(0.8)
    assert curve.ece == pytest.approx(0.0)
    assert np.isnan(curve.accuracy[0])


def test_nll_and_brier_by_hand_and_column_order():
    y, proba = random_case(50, seed=1)
    index = np.searchsorted(CLASSES, y)
    nll = -np.mean(np.log(proba[np.arange(len(y)), index]))
    onehot = np.eye(3)[index]
    brier = np.mean(np.sum((proba - onehot) ** 2, axis=1))
    assert negative_log_likelihood(y, proba, classes=CLASSES) == pytest.approx(nll)
    assert brier_score(y, proba, classes=CLASSES) == pytest.approx(brier)
    # Columns given in another order, with their classes: the same scores.
    order = [2, 0, 1]
    assert negative_log_likelihood(y, proba[:, order], classes=CLASSES[order]) == pytest.approx(nll)
    assert brier_score(y, proba[:, order], classes=CLASSES[order]) == pytest.approx(brier)
    assert expected_calibration_error(y, proba[:, order], classes=CLASSES[order]) == pytest.approx(
        expected_calibration_error(y, proba, classes=CLASSES)
    )


def test_probability_scores_leave_skipped_rows_out_with_a_warning():
    y, proba = random_case(20)
    holed = proba.copy()
    holed[[2, 5]] = np.nan
    keep = np.ones(20, bool)
    keep[[2, 5]] = False
    for score in (expected_calibration_error, negative_log_likelihood, brier_score):
        with pytest.warns(SkippedImagesWarning, match="2 of 20 samples have no prediction"):
            value = score(y, holed, classes=CLASSES)
        assert value == pytest.approx(score(y[keep], proba[keep], classes=CLASSES))
    with pytest.warns(SkippedImagesWarning):
        assert np.isnan(brier_score(["a"], [[np.nan, np.nan]], classes=["a", "b"]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y_true=["a", "b"], y_proba=[[0.5, 0.5]]), "same n_samples"),
        (dict(y_true=["a"], y_proba=[[0.5, 0.5]]), "pass classes=clf.classes_"),
        (
            dict(y_true=["a"], y_proba=[[0.5, 0.5]], classes=["a", "a"]),
            "name each of y_proba's 2 columns once",
        ),
        (dict(y_true=["x"], y_proba=[[0.5, 0.5]], classes=["a", "b"]), "labels \\['x'\\] that are not among"),
        (dict(y_true=["a"], y_proba=[[1.5, -0.5]], classes=["a", "b"]), "probabilities in \\[0, 1\\]"),
        (dict(y_true=["a"], y_proba=[[np.inf, 0]], classes=["a", "b"]), "probabilities in \\[0, 1\\]"),
        (dict(y_true=[], y_proba=np.empty((0, 2)), classes=["a", "b"]), "y_true is empty"),
        (dict(y_true=["a"], y_proba=[["x", "y"]], classes=["a", "b"]), "must be an array of numbers"),
    ],
)
def test_bad_probability_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(**kwargs)


def test_risk_coverage_curve_by_hand():
    y = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "a"]  # right, wrong, right, wrong
    coverage, risk, thresholds = risk_coverage_curve(y, pred, [0.9, 0.1, 0.8, 0.8])
    assert coverage.tolist() == [0.25, 0.75, 1.0]
    assert risk.tolist() == pytest.approx([0.0, 1 / 3, 0.5])
    assert thresholds.tolist() == [0.9, 0.8, 0.1]


def brute_force_aurc(y, pred, conf):
    """The mean AURC over every order of tied items, by enumeration."""
    errors = np.asarray(pred) != np.asarray(y)
    values = []
    for order in itertools.permutations(range(len(y))):
        order = np.array(order)
        if np.any(np.diff(np.asarray(conf)[order]) > 0):
            continue  # not a descending order
        risks = np.cumsum(errors[order]) / np.arange(1, len(y) + 1)
        values.append(risks.mean())
    return np.mean(values)


@pytest.mark.parametrize("seed", range(5))
def test_aurc_is_the_expectation_over_tie_orders(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b"], 7)
    pred = rng.choice(["a", "b"], 7)
    conf = rng.choice([0.2, 0.5, 0.9], 7)  # many ties
    assert aurc(y, pred, conf) == pytest.approx(brute_force_aurc(y, pred, conf))


def test_aurc_orders_oracle_random_and_worst():
    y, proba = random_case(300, seed=3)
    pred = CLASSES[np.argmax(proba, axis=1)]
    right = (pred == y).astype(float)
    error_rate = np.mean(pred != y)
    assert aurc(y, pred, right) < aurc(y, pred, np.zeros(300)) == pytest.approx(error_rate)
    assert aurc(y, pred, -right) > error_rate


def test_selective_accuracy():
    y = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "a"]
    conf = [0.9, 0.1, 0.8, 0.2]
    assert selective_accuracy(y, pred, conf, coverage=0.5) == 1.0
    assert selective_accuracy(y, pred, conf, coverage=0.75) == pytest.approx(2 / 3)
    assert selective_accuracy(y, pred, conf, coverage=1.0) == 0.5
    assert selective_accuracy(y, pred, [0.5] * 4, coverage=0.25) == pytest.approx(0.5)  # ties: expectation
    for bad in (0, 1.5, True, "half"):
        with pytest.raises(ValueError, match="coverage must be a float in \\(0, 1\\]"):
            selective_accuracy(y, pred, conf, coverage=bad)


def test_ranking_functions_refuse_abstained_predictions_and_skip_missing():
    with pytest.raises(ValueError, match="y_pred holds 'unsure'"):
        aurc(["a", "b"], ["a", "unsure"], [0.9, 0.1])
    with pytest.raises(ValueError, match="confidence must be finite"):
        aurc(["a", "b"], ["a", "b"], [0.9, np.inf])
    with pytest.warns(SkippedImagesWarning, match="1 of 3"):
        assert aurc(["a", "b", "b"], ["a", None, "a"], [0.9, 0.5, 0.1]) == pytest.approx(0.25)
    with pytest.warns(SkippedImagesWarning, match="1 of 3"):
        assert aurc(["a", "b", "b"], ["a", "b", "a"], [0.9, np.nan, 0.1]) == pytest.approx(0.25)


def test_unsure_counts_wrong_and_is_not_a_class_of_the_averages():
    y = ["a", "a", "b", "b"]
    pred = ["a", "unsure", "b", "a"]
    scores = abstention_scores(y, pred)
    assert scores == {
        "n_unsure": 1,
        "coverage": 0.75,
        "selective_accuracy": pytest.approx(2 / 3),
        "accuracy": 0.5,
    }
    # Recall of a: 1/2 (the unsure one is missed); of b 1/2. F1 over a and b only.
    assert unweighted_average_recall(y, pred) == pytest.approx(0.5)
    assert list(per_class_metrics(y, pred)) == ["a", "b"]
    f1_a = 2 * 0.5 * 0.5 / (0.5 + 0.5)  # precision 1/2, recall 1/2
    f1_b = 2 * 1.0 * 0.5 / 1.5  # precision 1, recall 1/2
    assert macro_f1(y, pred) == pytest.approx((f1_a + f1_b) / 2)


def test_summarize_adds_probability_and_abstention_scores():
    y, proba = random_case(60, seed=4)
    order = np.argsort(-proba, axis=1)
    ranked = CLASSES[order]
    top = proba.max(axis=1)
    threshold = float(np.median(top))
    summary = summarize(
        y, ranked, k=2, y_proba=proba, classes=CLASSES, confidence=top, abstain_below=threshold
    )
    assert list(summary)[-7:] == [
        "ece",
        "nll",
        "brier",
        "aurc",
        "selective_accuracy_at_80",
        "coverage",
        "selective_accuracy",
    ]
    answers = np.where(top < threshold, "unsure", ranked[:, 0])
    assert summary["top1_accuracy"] == pytest.approx(np.mean(answers == y))
    assert summary["coverage"] == pytest.approx(np.mean(top >= threshold))
    assert summary["selective_accuracy"] == pytest.approx(np.mean((answers == y)[top >= threshold]))
    assert summary["ece"] == pytest.approx(expected_calibration_error(y, proba, classes=CLASSES))
    assert summary["aurc"] == pytest.approx(aurc(y, ranked[:, 0], top))
    plain = summarize(y, ranked, k=2)
    assert summary["top2_accuracy"] == plain["top2_accuracy"] and "ece" not in plain
    with pytest.raises(ValueError, match="abstain_below needs the confidence"):
        summarize(y, ranked, k=2, abstain_below=0.5)
    with pytest.raises(ValueError, match="'abstain_below' parameter of summarize must be None or a float"):
        summarize(y, ranked, k=2, confidence=top, abstain_below=2)


def test_summarize_leaves_a_skipped_row_out_of_every_score():
    y, proba = random_case(10, seed=5)
    ranked = CLASSES[np.argsort(-proba, axis=1)].astype(object)
    ranked[4] = None
    holed = proba.copy()
    holed[4] = np.nan
    top = holed.max(axis=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = summarize(y, ranked, k=2, y_proba=holed, classes=CLASSES, confidence=top)
    assert summary["n_skipped"] == 1 and summary["n_images"] == 9
    keep = np.arange(10) != 4
    assert summary["nll"] == pytest.approx(negative_log_likelihood(y[keep], proba[keep], classes=CLASSES))
    assert sum(issubclass(w.category, SkippedImagesWarning) for w in caught) == 1
