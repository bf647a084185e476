"""SynonymFolder against hand-computed class scores."""

import math

import numpy as np
import pytest
from sklearn.base import clone

from clip_fer import SynonymFolder
from clip_fer.exceptions import InvalidParameterError

# Words of a class are not contiguous: class 0 = words 1, 4; class 1 = words 0, 2;
# class 2 = word 3.
WORD_CLASS = np.array([1, 0, 1, 2, 0])
SCORES = np.array(
    [  # (2 images, 2 templates, 5 words)
        [[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, -1.0, 2.0, 10.0, 4.0]],
        [[5.0, 4.0, 3.0, 2.0, 1.0], [-2.0, 0.0, 6.0, 1.0, 3.0]],
    ]
)
EXPECTED = {
    "sum": [[[7, 4, 4], [3, 2, 10]], [[5, 8, 2], [3, 4, 1]]],
    "mean": [[[3.5, 2, 4], [1.5, 1, 10]], [[2.5, 4, 2], [1.5, 2, 1]]],
    "max": [[[5, 3, 4], [4, 2, 10]], [[4, 5, 2], [3, 6, 1]]],
}


def lse(*values):
    return math.log(sum(math.exp(v) for v in values))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_fold_by_hand(reduce):
    folded = SynonymFolder(reduce).fit().fold(SCORES, WORD_CLASS, n_classes=3)
    assert folded.shape == (2, 2, 3)
    np.testing.assert_allclose(folded, EXPECTED[reduce])


def test_fold_logsumexp_by_hand():
    expected = [
        [[lse(2, 5), lse(1, 3), lse(4)], [lse(-1, 4), lse(0, 2), lse(10)]],
        [[lse(4, 1), lse(5, 3), lse(2)], [lse(0, 3), lse(-2, 6), lse(1)]],
    ]
    folded = SynonymFolder("logsumexp").fold(SCORES, WORD_CLASS, n_classes=3)
    np.testing.assert_allclose(folded, expected, rtol=1e-12)


def test_default_reduce_is_mean():
    assert SynonymFolder().reduce == "mean"
    np.testing.assert_allclose(SynonymFolder().fold(SCORES, WORD_CLASS, 3), EXPECTED["mean"])


def test_fold_1d_and_docstring_example():
    folded = SynonymFolder("sum").fold(np.array([1.0, 3.0, 2.0]), np.array([0, 0, 1]), 2)
    np.testing.assert_array_equal(folded, [4.0, 2.0])


def test_clone_keeps_reduce():
    assert clone(SynonymFolder("max")).get_params() == {"reduce": "max"}


@pytest.mark.parametrize("reduce", ["median", None, "SUM"])
def test_bad_reduce(reduce):
    folder = SynonymFolder(reduce)  # accepted by __init__
    match = (
        r"^The 'reduce' parameter of SynonymFolder must be one of 'sum', 'mean', 'max', "
        rf"'logsumexp'\. Got {reduce!r} instead\.$"
    )
    with pytest.raises(InvalidParameterError, match=match):
        folder.fit()
    with pytest.raises(InvalidParameterError, match=match):
        folder.fold(SCORES, WORD_CLASS, 3)


def test_word_count_mismatch():
    with pytest.raises(ValueError, match=r"^scores has 5 words on its last axis but word_class has 4\.$"):
        SynonymFolder().fold(SCORES, WORD_CLASS[:4], 3)


def test_class_without_words():
    with pytest.raises(ValueError, match=r"^Classes \[1, 3\] have no words in word_class\.$"):
        SynonymFolder().fold(SCORES, np.array([0, 0, 2, 2, 0]), 4)


def test_class_index_out_of_range():
    with pytest.raises(ValueError, match=r"word_class holds class indices outside \[0, 1\]: \[0, 1, 5\]"):
        SynonymFolder("sum").fold(np.ones((1, 3)), np.array([0, 1, 5]), n_classes=2)
