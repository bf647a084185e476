"""Issue 10, vocabularies and scores: the default decider works for every bank,
skipped items are left out of every score with one warning, and CSV bytes."""

import numpy as np
import pytest
from PIL import Image
from real_inputs import kind
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold

from clip_fer import PromptBank, RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier, metrics
from clip_fer.datasets import load_fer2013_csv
from clip_fer.exceptions import DatasetError, SkippedImagesWarning

# 9. Small vocabularies ----------------------------------------------------------------


@kind(
    9,
    "PromptBank.gender(), a 1-class and a 2-class bank with the default RankVoteDecider(top_k=3)",
    "fit and predict; equal to top_k = n_classes",
)
@pytest.mark.parametrize(
    "bank",
    [
        PromptBank.gender(),
        PromptBank(["a photo of a {} face"], {"happy": ["happy"]}),
        PromptBank(["a {} face", "this is {} person"], {"happy": ["glad", "happy"], "sad": ["sad"]}),
    ],
    ids=["gender", "one class", "two classes"],
)
def test_default_decider_works_for_small_banks(toy_checkpoint, face_arrays, bank):
    default = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=bank).fit()
    n = len(default.classes_)
    exact = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=bank, decider=RankVoteDecider(top_k=n)
    ).fit()
    np.testing.assert_array_equal(default.predict(face_arrays), exact.predict(face_arrays))
    np.testing.assert_array_equal(default.predict_proba(face_arrays), exact.predict_proba(face_arrays))
    assert default.predict_topk(face_arrays, k=n).shape == (12, n)


# 10. Skipped items and scoring ---------------------------------------------------------


@pytest.fixture
def labelled(tmp_path, face_arrays):
    paths = []
    for i, face in enumerate(face_arrays):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(face).save(paths[-1])
    paths[4] = str(tmp_path / "gone.png")  # one bad path among 12
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    return paths, y


@kind(
    10,
    "clf.score with one unreadable path of 12 (on_error='skip')",
    "accuracy over the 11 readable ones, with a warning saying 1 was left out",
)
def test_score_leaves_skipped_items_out(toy_checkpoint, labelled):
    paths, y = labelled
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    good = [i for i in range(12) if i != 4]
    expected = accuracy_score(y[good], clf.predict([paths[i] for i in good]))
    with pytest.warns(SkippedImagesWarning) as record:
        score = clf.score(paths, y)
    assert score == pytest.approx(expected)
    assert len(record) == 1 and "left out 1 of 12 inputs" in str(record[0].message)
    with pytest.warns(SkippedImagesWarning) as record:
        assert np.isnan(clf.score([paths[4], paths[4]], y[:2]))
    assert len(record) == 1 and "left out 2 of 2 inputs" in str(record[0].message)


@kind(
    10,
    "GridSearchCV over 2 folders x 3 folds with one bad path of 12",
    "no NaN score: each split scored over its readable images",
)
def test_grid_search_with_one_bad_path(toy_checkpoint, labelled):
    paths, y = labelled
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip", synonym_folder=SynonymFolder())
    cv = KFold(3)
    with pytest.warns(SkippedImagesWarning):
        search = GridSearchCV(clf, {"synonym_folder__reduce": ["mean", "max"]}, cv=cv).fit(paths, y)
    for c, params in enumerate(search.cv_results_["params"]):
        for s, (_, test) in enumerate(cv.split(paths)):
            readable = [i for i in test if i != 4]
            fitted = ZeroShotEmotionClassifier(
                model=toy_checkpoint, synonym_folder=SynonymFolder(params["synonym_folder__reduce"])
            ).fit()
            expected = accuracy_score(y[readable], fitted.predict([paths[i] for i in readable]))
            assert search.cv_results_[f"split{s}_test_score"][c] == pytest.approx(expected)


RANKED = np.array([["a", "b"], [None, None], ["b", "a"], ["c", "a"]], dtype=object)
Y_TRUE = np.array(["a", "b", "a", "c"], dtype=object)


@kind(
    10,
    "metrics.top_k_accuracy, summarize, macro_f1, unweighted_average_recall, per_class_metrics, confusion with a row of None",
    "scored over the rows with a prediction, one warning each",
)
@pytest.mark.parametrize(
    "name, call, reference",
    [
        (
            "top_k_accuracy",
            lambda y, r: metrics.top_k_accuracy(y, r, k=2),
            lambda y, r: metrics.top_k_accuracy(y, r, k=2),
        ),
        (
            "summarize",
            lambda y, r: {k: v for k, v in metrics.summarize(y, r, k=2).items() if k != "n_skipped"},
            lambda y, r: {k: v for k, v in metrics.summarize(y, r, k=2).items() if k != "n_skipped"},
        ),
        ("macro_f1", lambda y, r: metrics.macro_f1(y, r[:, 0]), lambda y, r: metrics.macro_f1(y, r[:, 0])),
        (
            "unweighted_average_recall",
            lambda y, r: metrics.unweighted_average_recall(y, r[:, 0]),
            lambda y, r: metrics.unweighted_average_recall(y, r[:, 0]),
        ),
        (
            "per_class_metrics",
            lambda y, r: metrics.per_class_metrics(y, r[:, 0]),
            lambda y, r: metrics.per_class_metrics(y, r[:, 0]),
        ),
        (
            "confusion",
            lambda y, r: metrics.confusion(y, r[:, 0])[0].tolist(),
            lambda y, r: metrics.confusion(y, r[:, 0])[0].tolist(),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_metrics_leave_unpredicted_rows_out(name, call, reference):
    keep = [0, 2, 3]
    expected = reference(Y_TRUE[keep], RANKED[keep])
    with pytest.warns(SkippedImagesWarning, match=f"{name}: 1 of 4 samples have no prediction"):
        got = call(Y_TRUE, RANKED)
    assert got == expected


def test_summarize_counts_the_skipped_rows():
    with pytest.warns(SkippedImagesWarning):
        summary = metrics.summarize(Y_TRUE, RANKED, k=2)
    assert (summary["n_images"], summary["n_skipped"]) == (3, 1)
    assert list(metrics.top_k_predictions(Y_TRUE, RANKED, k=2)) == ["a", None, "a", "c"]


# 11. CSV bytes ---------------------------------------------------------------------------


@kind(
    11, "FER2013 CSVs with Latin-1 bytes in the header and in a Usage field", "DatasetError naming the line"
)
@pytest.mark.parametrize("where", ["header", "usage"])
def test_csv_that_is_not_utf8(tmp_path, where):
    pixels = " ".join(["0"] * 2304)
    header = b"emotion,pixels,Usage\xe9" if where == "header" else b"emotion,pixels,Usage"
    usage = b"Training" if where == "header" else b"Entra\xeenement"
    path = tmp_path / "fer.csv"
    path.write_bytes(header + b"\n0," + pixels.encode() + b"," + usage + b"\n")
    line = "header \\(line 1\\)" if where == "header" else "Line 2"
    with pytest.raises(DatasetError, match=f"{line} .* not UTF-8"):
        load_fer2013_csv(path)
