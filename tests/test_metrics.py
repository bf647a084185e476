"""clip_fer.metrics against hand-computed cases."""

import warnings

import numpy as np
import pytest

from clip_fer.metrics import (
    confusion,
    macro_f1,
    per_class_metrics,
    summarize,
    top_k_accuracy,
    top_k_predictions,
    unweighted_average_recall,
)

# Four samples ranked over classes a, b, c. The true class is at rank 1, 2, 3, and 2.
Y_RANKED_TRUE = ["a", "b", "c", "a"]
RANKED = [["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"], ["c", "a", "b"]]

# Five samples for the top-1 scores:
#   a: 2 true, predicted a and b -> tp 1, fn 1; the c sample is predicted a -> fp 1
#      precision 1/2, recall 1/2, F1 1/2
#   b: 2 true, both predicted b; one a sample predicted b -> tp 2, fp 1
#      precision 2/3, recall 1, F1 0.8
#   c: 1 true, predicted a -> precision 0 (none predicted), recall 0, F1 0
Y_TRUE = ["a", "a", "b", "b", "c"]
Y_PRED = ["a", "b", "b", "b", "a"]


# sklearn rightly warns that k = n_classes scores 1 whatever the ranking.
@pytest.mark.filterwarnings("ignore:'k' \\(3\\) greater than or equal to 'n_classes'")
@pytest.mark.parametrize("k, expected", [(1, 1 / 4), (2, 3 / 4), (3, 1.0)])
def test_top_k_accuracy(k, expected):
    assert top_k_accuracy(Y_RANKED_TRUE, RANKED, k=k) == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore:'k' \\(3\\) greater than or equal to 'n_classes'")
def test_top_k_accuracy_uses_only_the_first_k_columns_and_unranked_truths_miss():
    ranked = [["a", "b", "c"], ["b", "c", "a"]]
    assert top_k_accuracy(["c", "a"], ranked, k=2) == 0.0
    assert top_k_accuracy(["c", "a"], ranked, k=3) == 1.0
    assert top_k_accuracy(["x", "a"], [["a", "b"], ["a", "b"]], k=2) == 0.5  # x never ranked
    assert top_k_accuracy(["a", "b"], ["a", "a"], k=1) == 0.5  # 1-D: one rank


@pytest.mark.parametrize(
    "y, ranked, k, expected",
    [
        (["a", "b", "a"], [["a", "b"], ["a", "b"], ["b", "a"]], 1, 1 / 3),
        (["a", "b", "b"], [["b"], ["b"], ["b"]], 1, 2 / 3),
        (["b", "b"], [["b"], ["b"]], 1, 1.0),
    ],
)
def test_top_k_accuracy_with_two_or_one_labels(y, ranked, k, expected):
    assert top_k_accuracy(y, ranked, k=k) == pytest.approx(expected)


def test_top_k_predictions_is_the_reports_rule():
    # Truth ranked 1st, 2nd, 3rd, 2nd: with k=2 the third sample falls back to its best.
    assert top_k_predictions(Y_RANKED_TRUE, RANKED, k=2).tolist() == ["a", "b", "b", "a"]
    assert top_k_predictions(Y_RANKED_TRUE, RANKED, k=1).tolist() == ["a", "c", "b", "c"]
    assert top_k_predictions(Y_RANKED_TRUE, RANKED, k=3).tolist() == Y_RANKED_TRUE


def test_macro_f1_and_uar_by_hand():
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert unweighted_average_recall(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    # A class that is neither true nor predicted counts only when named.
    assert macro_f1(Y_TRUE, Y_PRED, labels=["a", "b", "c", "d"]) == pytest.approx(1.3 / 4)


def test_uar_ignores_predicted_classes_absent_from_y_true_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Recalls: a 1/2 (one predicted d), b 1.
        assert unweighted_average_recall(["a", "a", "b"], ["a", "d", "b"]) == pytest.approx(0.75)


def test_per_class_metrics_by_hand():
    table = per_class_metrics(Y_TRUE, Y_PRED)
    assert list(table) == ["a", "b", "c"]
    assert table["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert table["b"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert table["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert list(per_class_metrics(Y_TRUE, Y_PRED, labels=["c", "a"])) == ["c", "a"]


def test_confusion_by_hand():
    matrix, labels = confusion(Y_TRUE, Y_PRED)
    assert labels.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    matrix, labels = confusion(Y_TRUE, Y_PRED, labels=["c", "b", "a"])
    np.testing.assert_array_equal(matrix, [[0, 0, 1], [0, 2, 0], [0, 1, 1]])


def test_summarize_by_hand():
    # Best labels: a, c, b, c -> only the first is right; top-2 hits: 1st, 2nd, 4th.
    summary = summarize(Y_RANKED_TRUE, RANKED, k=2)
    assert list(summary) == [
        "n_images",
        "n_skipped",
        "top1_accuracy",
        "top2_accuracy",
        "macro_f1",
        "uar",
        "top2_macro_f1",
    ]
    assert summary["n_images"] == 4
    assert summary["top1_accuracy"] == pytest.approx(0.25)
    assert summary["top2_accuracy"] == pytest.approx(0.75)
    # Top-1 F1: a 2/3 (tp 1, fn 1, fp 0), b 0, c 0 -> 2/9. Recalls: a 1/2, b 0, c 0 -> 1/6.
    assert summary["macro_f1"] == pytest.approx(2 / 9)
    assert summary["uar"] == pytest.approx(1 / 6)
    # Top-2 rule predictions a, b, b, a: F1 a 1, b 2/3 (tp 1, fp 1), c 0 -> 5/9.
    assert summary["top2_macro_f1"] == pytest.approx(5 / 9)
    assert all(isinstance(v, float) for k, v in summary.items() if k not in ("n_images", "n_skipped"))


@pytest.mark.parametrize(
    "y, ranked, k, match",
    [
        (
            ["a"],
            [["a", "b"]],
            3,
            r"^k must be an int in \[1, 2\], the number of ranked labels per sample in y_ranked\. Got 3 instead",
        ),
        (["a"], [["a", "b"]], 0, r"k must be an int in \[1, 2\].*Got 0 instead"),
        (["a"], [["a", "b"]], True, r"k must be an int in \[1, 2\].*Got True instead"),
        (
            ["a", "b"],
            [["a", "b"]],
            1,
            r"y_true must have shape \(n_samples,\) and y_ranked \(n_samples, k\), with the same n_samples\. Got \(2,\) and \(1, 2\) instead",
        ),
        ([], np.empty((0, 2)), 1, r"y_true is empty"),
    ],
)
def test_bad_inputs(y, ranked, k, match):
    with pytest.raises(ValueError, match=match):
        top_k_accuracy(y, ranked, k=k)
