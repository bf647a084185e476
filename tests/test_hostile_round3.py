"""A hostile user's inputs against issue 18's scoring core and records and issue 19's
abstention, metrics and calibration: each test failed on main before its fix.

Fast: the estimator runs on precomputed embeddings with a test-only bank
(``DataShapedBank``); the model is never loaded.
"""

import numpy as np
import pytest
from test_sklearn_compat import DataShapedBank

from clip_fer import Decision, MeanProbaDecider, ZeroShotEmotionClassifier, metrics
from clip_fer.exceptions import InvalidParameterError

X = np.random.default_rng(1).normal(size=(30, 8))
Y = np.array(["angry", "happy", "sad"] * 10)


class NudgedDecider:
    """MeanProbaDecider's decision, its probabilities then nudged by ``how``:
    within the core's tolerances (what float32 arithmetic in a user's decider gives)."""

    def __init__(self, how):
        self.how = how

    def fit(self):
        return self

    def decide(self, class_scores):
        decision = MeanProbaDecider().fit().decide(class_scores)
        ranking, proba = decision.ranking, decision.proba.copy()
        rows = np.arange(len(proba))
        if self.how == "tiny negative":  # the last-ranked class at -1e-6, the first takes the rest
            proba[rows, ranking[:, -1]] = -1e-6
            proba[rows, ranking[:, 0]] += 1 - proba.sum(axis=1)
        elif self.how == "float32 sum":  # rows summing to 1 + 4e-6
            proba = (proba * 1.000004).astype(np.float32)
        return Decision(ranking, decision.scores, proba)


def fitted(**params):
    return ZeroShotEmotionClassifier(
        model="unused", prompt_bank=DataShapedBank(), precomputed=True, **params
    ).fit(X, Y)


@pytest.mark.parametrize("how", ["tiny negative", "float32 sum"])
def test_a_decision_accepted_within_tolerance_comes_out_exact(how):
    # Before: predict_proba returned -1e-6 (or rows summing to 1 + 4e-6) as the decider
    # gave them; every probability metric (and clip-fer evaluate, after predicting every
    # image) then raised "y_proba must hold probabilities in [0, 1]", or sklearn warned
    # that the values "do not sum to one".
    clf = fitted(decider=NudgedDecider(how))
    proba = clf.predict_proba(X)
    assert proba.min() >= 0.0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    predicted = np.searchsorted(clf.classes_, clf.predict(X))
    np.testing.assert_array_equal(proba[np.arange(len(X)), predicted], proba.max(axis=1))  # ties aside
    y = Y
    for score in (metrics.expected_calibration_error, metrics.negative_log_likelihood, metrics.brier_score):
        assert np.isfinite(score(y, proba, classes=clf.classes_))


def test_probabilities_that_do_not_sum_to_one_are_refused_by_the_metrics():
    # Before: the ECE of halved probabilities was a plausible 0.17 with no word; NLL and
    # Brier only warned (scikit-learn's warning, naming no row).
    clf = fitted()
    proba = clf.predict_proba(X)
    for score in (metrics.expected_calibration_error, metrics.negative_log_likelihood, metrics.brier_score):
        with pytest.raises(ValueError, match="row 0 sums to 0.5"):
            score(Y, proba * 0.5, classes=clf.classes_)
        with pytest.raises(ValueError, match="must sum to 1"):  # a class's column left out
            score(Y, np.c_[proba[:, :2], np.zeros(len(proba))], classes=clf.classes_)


def test_probabilities_rounded_to_six_decimals_are_scored_as_the_exact_ones():
    # What clip-fer predict --format csv and evaluate's predictions.csv write.
    rng = np.random.default_rng(0)
    classes = np.array([f"class {i}" for i in range(40)])
    proba = rng.dirichlet(np.ones(40), size=200)
    y = classes[rng.integers(0, 40, size=200)]
    rounded = np.round(proba, 6)
    assert np.abs(rounded.sum(axis=1) - 1).max() > 1e-6  # not exact: sklearn used to warn
    assert (rounded.argmax(axis=1) == proba.argmax(axis=1)).all()
    for score in (metrics.expected_calibration_error, metrics.negative_log_likelihood, metrics.brier_score):
        exact = score(y, proba, classes=classes)
        assert score(y, rounded, classes=classes) == pytest.approx(exact, abs=1e-4)


def test_one_class_probabilities_score_zero_loss():
    # Before: a one-class bank made negative_log_likelihood and brier_score raise
    # scikit-learn's "The labels array needs to contain at least two labels", so
    # clip-fer evaluate with a one-class bank ended after predicting every image.
    y = np.array(["happy"] * 5)
    proba = np.ones((5, 1))
    assert metrics.negative_log_likelihood(y, proba, classes=["happy"]) == 0.0
    assert metrics.brier_score(y, proba, classes=["happy"]) == 0.0
    assert metrics.expected_calibration_error(y, proba, classes=["happy"]) == 0.0
    summary = metrics.summarize(
        y, y[:, None], k=1, y_proba=proba, classes=["happy"], confidence=np.ones(5), abstain_below=0.5
    )
    assert summary["nll"] == 0.0 and summary["brier"] == 0.0 and summary["top1_accuracy"] == 1.0


def test_a_class_named_unsure_is_refused_before_the_metrics_miscount_it():
    # Before: a bank with a class "unsure" (allowed without abstain_below) predicted it;
    # abstention_scores then counted those answers as abstentions (coverage 0.83 with no
    # abstention at all) and summarize, so clip-fer evaluate, ended after predicting every
    # image with "y_pred holds 'unsure'; rank the predictions made without abstention".
    y = np.array(["unsure", "happy", "sad"] * 10)
    with pytest.raises(ValueError, match="a class is named 'unsure'.*rename that class"):
        ZeroShotEmotionClassifier(model="unused", prompt_bank=DataShapedBank(), precomputed=True).fit(X, y)


def test_the_public_scoring_core_scores_raw_features_as_the_estimator_does():
    # Before: ScoringCore.decide on a model's raw (not unit) features gave other
    # probabilities than the estimator's precomputed path for the same rows (up to 0.47
    # apart on the FER2013 checkpoint), with no word.
    clf = fitted()
    core = clf.scoring_core()
    raw = X * np.linspace(0.5, 20, len(X))[:, None]  # each row its own length
    np.testing.assert_allclose(core.decide(raw).proba, clf.predict_proba(raw), atol=1e-9)
    np.testing.assert_allclose(core.decide(raw).proba, core.decide(X).proba, atol=1e-9)


@pytest.mark.parametrize("row", [np.nan, np.inf, 0.0])
def test_the_scoring_core_names_an_embedding_row_with_no_direction(row):
    # Before: a NaN row blamed the folder ("The synonym_folder SynonymFolder broke its
    # contract"); an all-zero row was scored as if it were a face.
    bad = X.copy()
    bad[4] = row
    with pytest.raises(ValueError, match="row 4 holds NaN or infinity or is all zeros"):
        fitted().scoring_core().decide(bad)


def test_the_scoring_core_takes_no_images_and_labels_of_checks_its_indices():
    core = fitted().scoring_core()
    empty = core.decide(np.zeros((0, X.shape[1])))  # before: "cannot reshape array of size 0"
    assert empty.proba.shape == (0, 3)
    assert core.labels_of([0, -1, 2]).tolist() == ["angry", None, "sad"]
    # Before: 1.7 was read as class 1, -2 as a skipped input, 3 an IndexError naming nothing.
    with pytest.raises(ValueError, match="integer class indices"):
        core.labels_of(np.array([0.0, 1.7]))
    for index in (-2, 3):
        with pytest.raises(ValueError, match=f"class index {index} is not among 0..2"):
            core.labels_of([index])


@pytest.mark.parametrize(
    "files, stray",
    [
        (["happy/a.jpg", "sad/b.jpg", "c.jpg"], "c.jpg"),  # beside the class folders
        (["train/happy/a.jpg", "train/sad/b.jpg", "cover.jpg"], "cover.jpg"),  # beside the splits
        (["happy/x/a.jpg", "sad/b.jpg"], "happy/x/a.jpg"),  # a whole class went missing
        (["train/happy/a.jpg", "happy/b.jpg"], "train/happy/a.jpg"),  # a split read as a class tree
        (["train/happy/a.jpg", "train/sad/b.jpg", "train/sad/c/d.jpg"], "train/sad/c/d.jpg"),
    ],
)
def test_every_image_of_a_folder_is_read_or_named(tmp_path, files, stray):
    # Before: each of these loaded without a word and left the stray image out (in the
    # third, every 'happy' face: an evaluation over the other classes only).
    from PIL import Image

    from clip_fer.datasets import load_image_folder
    from clip_fer.exceptions import DatasetError

    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    with pytest.raises(DatasetError, match=f"{stray}'.*Move the stray file into a class folder"):
        load_image_folder(tmp_path)
    (tmp_path / stray).unlink()
    assert len(load_image_folder(tmp_path).images) == len(files) - 1


def test_summarize_names_a_confidence_of_the_wrong_shape():
    # Before: passing the probabilities as the confidence ended in numpy's "boolean index
    # did not match indexed array along axis 0; size of axis is 90".
    clf = fitted()
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"confidence must have shape \(n_samples,\).*\(30, 3\)"):
        metrics.summarize(Y, clf.predict_topk(X, 3), confidence=proba)


@pytest.mark.parametrize("name", ["NaN", "None", "null", "NA", "n/a"])
def test_a_class_name_that_reads_back_as_missing_is_refused(name):
    # Before: a bank with classes "None", "NaN", "null" was accepted, and pandas read
    # clip-fer predict --format csv back with NaN in label_1/label_2 where those classes
    # were predicted: the same as a skipped image's empty label.
    y = np.array([name, "happy", "sad"] * 10)
    with pytest.raises(ValueError, match=f"a class is named '{name}'.*missing value.*Rename"):
        ZeroShotEmotionClassifier(model="unused", prompt_bank=DataShapedBank(), precomputed=True).fit(X, y)


def test_class_names_that_read_back_are_kept_in_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    from clip_fer._records import flat_columns

    classes = np.array(["nan-ish", "proba_happy", "happy", "é", "1"], dtype=object)
    fitted_names = ZeroShotEmotionClassifier(
        model="unused", prompt_bank=DataShapedBank(), precomputed=True
    ).fit(X[:25], np.tile(classes, 5))
    assert set(fitted_names.classes_) == set(classes)
    columns = flat_columns(classes, 2, "image")
    assert len(set(columns)) == len(columns)
    frame = pd.DataFrame([dict.fromkeys(columns, "x")] * 2)
    frame.to_csv(tmp_path / "out.csv", index=False)
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == columns


class UnsortedBank(DataShapedBank):
    """DataShapedBank with its classes listed in reverse order (word_class_ to match)."""

    def fit(self, X=None, y=None):
        super().fit(X, y)
        self.classes_ = self.classes_[::-1].copy()
        self.word_class_ = len(self.classes_) - 1 - self.word_class_
        return self


def test_a_bank_with_unsorted_classes_is_refused():
    # Before: classes_ ['sad', 'happy'] passed through to predict_proba's columns; then
    # metrics.negative_log_likelihood(y, proba) (and sklearn's log_loss) read the columns
    # in sorted order: 2.17 instead of 0.70 on 18 FER2013 faces, ECE 0.62 instead of 0.26.
    with pytest.raises(InvalidParameterError, match="unique, sorted class names.*'sad', 'happy', 'angry'"):
        ZeroShotEmotionClassifier(model="unused", prompt_bank=UnsortedBank(), precomputed=True).fit(X, Y)


def test_score_refuses_unsure_among_the_true_labels():
    # Before: with abstain_below, every item labelled "unsure" in y that the estimator
    # abstained on was scored right (0.33 for an estimator that abstained on everything
    # and was given y with one third "unsure"), though score counts "unsure" as wrong.
    clf = fitted(abstain_below=1.0)
    y = np.where(np.arange(len(Y)) % 3 == 0, "unsure", Y)
    with pytest.raises(ValueError, match="y holds 'unsure'.*never a true class"):
        clf.score(X, y)
    assert clf.score(X, Y) == 0.0


@pytest.mark.parametrize("errors", [None, [(0, "a decider's own note")]])
def test_a_deciders_errors_are_not_taken_for_skipped_inputs(errors):
    # Before: errors=None ended in "'NoneType' object is not iterable" (naming nothing);
    # a list made decide(X).errors report image 0 as skipped though it was predicted.
    class Noting(NudgedDecider):
        def decide(self, class_scores):
            decision = super().decide(class_scores)
            return Decision(decision.ranking, decision.scores, decision.proba, errors=errors)

    decision = fitted(decider=Noting("none")).decide(X)
    assert decision.errors == []
    assert (decision.ranking[:, 0] >= 0).all()
