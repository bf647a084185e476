"""abstain_below: "unsure" below the top probability, in predict, score, records,
faces, video and the CLI; predict_proba unchanged; the default unchanged."""

import pickle

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from test_sklearn_compat import DataShapedBank

from clip_fer import PredictionRecord, ZeroShotEmotionClassifier, predict_faces
from clip_fer._abstention import UNSURE, abstain, confidence
from clip_fer.exceptions import InvalidParameterError
from clip_fer.faces import FaceCropper

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 8))
Y = np.array(["angry", "happy", "sad", "surprise"] * 10)


def precomputed(**params):
    return ZeroShotEmotionClassifier(model="unused", prompt_bank=DataShapedBank(), precomputed=True, **params)


@pytest.fixture(scope="module")
def fitted():
    return precomputed().fit(X, Y)


def test_predict_says_unsure_exactly_below_the_top_probability(fitted):
    proba = fitted.predict_proba(X)
    top = proba.max(axis=1)
    threshold = float(np.median(top))
    labels = clone(fitted).set_params(abstain_below=threshold).fit(X, Y).predict(X)
    # An independent reference: one image at a time.
    for row, label in zip(proba, labels):
        expected = UNSURE if row.max() < threshold else fitted.classes_[np.argmax(row)]
        assert label == expected
    assert 0 < np.sum(labels == UNSURE) < len(X)


def test_default_and_probabilities_are_unchanged(fitted):
    sure = clone(fitted).set_params(abstain_below=0.99).fit(X, Y)
    np.testing.assert_array_equal(sure.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(sure.predict_topk(X, k=2), fitted.predict_topk(X, k=2))
    assert UNSURE not in fitted.predict(X).tolist()
    assert (
        clone(fitted).set_params(abstain_below=0.0).fit(X, Y).predict(X).tolist()
        == fitted.predict(X).tolist()
    )
    assert set(clone(fitted).set_params(abstain_below=1.0).fit(X, Y).predict(X)) <= {UNSURE, *fitted.classes_}


def test_score_counts_unsure_as_wrong(fitted):
    half = float(np.median(fitted.predict_proba(X).max(axis=1)))
    abstaining = clone(fitted).set_params(abstain_below=half).fit(X, Y)
    labels = abstaining.predict(X)
    assert abstaining.score(X, Y) == pytest.approx(np.mean(labels == Y))
    assert abstaining.score(X, Y) <= fitted.score(X, Y)
    everything_unsure = clone(fitted).set_params(abstain_below=1.0).fit(X, Y)
    if (fitted.predict_proba(X).max(axis=1) < 1.0).all():
        assert everything_unsure.score(X, Y) == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "high", True, [0.5]])
def test_bad_thresholds_are_refused_by_name(bad):
    with pytest.raises(InvalidParameterError, match="'abstain_below' parameter of ZeroShotEmotionClassifier"):
        precomputed(abstain_below=bad).fit(X, Y)


def test_a_threshold_set_after_fit_is_checked_at_predict(fitted):
    clf = clone(fitted).fit(X, Y)
    clf.abstain_below = 2.0
    with pytest.raises(InvalidParameterError, match="must be None or a float in \\[0, 1\\]. Got 2.0"):
        clf.predict(X)


def test_a_class_named_unsure_is_refused_with_or_without_abstention():
    # Without abstention too: the metrics count "unsure" as an abstention (see
    # test_hostile_round3::test_a_class_named_unsure_is_refused_before_the_metrics_miscount_it).
    y = np.array(["unsure", "happy"] * 20)
    for clf in (precomputed(), precomputed(abstain_below=0.5)):
        with pytest.raises(ValueError, match="a class is named 'unsure'"):
            clf.fit(X, y)


def test_short_class_names_are_not_truncated():
    y = np.array(["a", "b"] * 20)
    clf = precomputed(abstain_below=0.5).fit(X, y)
    top = clf.predict_proba(X).max(axis=1)
    clf.abstain_below = float(np.median(top))
    labels = clf.predict(X)
    assert (labels == UNSURE).sum() == (top < clf.abstain_below).sum() > 0
    assert set(labels.tolist()) <= {"a", "b", UNSURE}


def test_skipped_inputs_stay_none_and_clone_and_pickle_keep_the_threshold(fitted):
    clf = clone(fitted).set_params(abstain_below=1.0, on_error="skip").fit(X, Y)
    bad = X.copy()
    bad[3] = np.nan
    with pytest.warns(Warning, match="skipped"):
        labels = clf.predict(bad)
    assert labels[3] is None and set(labels[np.arange(len(X)) != 3]) == {UNSURE}
    again = pickle.loads(pickle.dumps(clf))
    assert again.abstain_below == 1.0 and clone(clf).abstain_below == 1.0


def test_abstain_and_confidence_by_hand():
    assert confidence([[0.2, 0.8], [np.nan, np.nan]])[0] == 0.8
    assert np.isnan(confidence([[0.2, 0.8], [np.nan, np.nan]])[1])
    labels = abstain(np.array([1, 2, None], dtype=object), [0.9, 0.1, np.nan], 0.5)
    assert labels.tolist() == [1, UNSURE, None]
    assert abstain(["x"], [0.1], None).tolist() == ["x"]
    with pytest.raises(ValueError, match="same shape"):
        abstain(["x", "y"], [0.1], 0.5)


def test_a_record_that_abstains_captions_its_top_probability():
    record = PredictionRecord(0, None, labels=[UNSURE], probabilities={"happy": 0.3, "sad": 0.7})
    assert record.caption == (UNSURE, 0.7)


class PastedFace:
    def detect(self, image):
        return [((4, 4, 44, 44), 0.9)]


def test_predict_faces_abstains_like_predict(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays[:4]]
    cropper = FaceCropper(PastedFace(), margin=0.0)
    rows = predict_faces(clf, images, cropper=cropper, as_frame=False)
    tops = [max(r["probabilities"].values()) for r in rows]
    threshold = float(np.median(tops))
    unsure = predict_faces(clf.set_params(abstain_below=threshold), images, cropper=cropper, as_frame=False)
    for row, plain, top in zip(unsure, rows, tops):
        assert row["probabilities"] == plain["probabilities"]
        assert row["labels"] == ([UNSURE] if top < threshold else plain["labels"])


def test_cli_predict_and_evaluate_abstain(toy_checkpoint, face_arrays, tmp_path, capsys, monkeypatch):
    import json

    from clip_fer.cli import main
    from clip_fer.experiments import _reports

    drawn = {}
    draw = _reports.plot_confusion_matrix
    monkeypatch.setattr(
        _reports, "plot_confusion_matrix", lambda *a, **kw: drawn.update(args=a, kw=kw) or draw(*a, **kw)
    )

    root = tmp_path / "faces"
    for i, array in enumerate(face_arrays[:6]):
        folder = root / ["happy", "sad"][i % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(folder / f"{i}.png")
    paths = sorted(str(p) for p in root.glob("*/*.png"))
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    top = clf.predict_proba(paths).max(axis=1)
    threshold = float(np.median(top))
    expected = clf.set_params(abstain_below=threshold).predict(paths)
    assert (
        main(
            [
                "predict",
                *paths,
                "--model",
                toy_checkpoint,
                "--format",
                "json",
                "--abstain-below",
                str(threshold),
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["labels"][0] for r in rows] == expected.tolist()
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(root),
                "--model",
                toy_checkpoint,
                "--abstain-below",
                str(threshold),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f'| coverage (answered, not "unsure") | {np.mean(expected != UNSURE):.3f} |' in out
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    y = [p.split("/")[-2] for p in paths]
    assert report["top1_accuracy"] == pytest.approx(np.mean(expected == np.array(y)))
    assert report["run"]["abstain_below"] == threshold and "ece" in report and "aurc" in report
    assert (tmp_path / "out" / "reliability_diagram.png").is_file()
    # The figure counts "unsure" in a column of its own and says how many were answered.
    assert drawn["kw"]["columns"] == [*clf.classes_, UNSURE]
    answered = int(np.sum(expected != UNSURE))
    assert drawn["args"][4].startswith(f"Top-1 confusion, {answered} of {len(paths)} images answered")
    assert report["confusion_matrix"]["labels"][-1] == UNSURE
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", paths[0], "--model", toy_checkpoint, "--abstain-below", "1.5"])
    assert exit_info.value.code == 2
    assert "--abstain-below: must be a number in [0, 1]" in capsys.readouterr().err


def test_ray_rows_abstain_like_predict(toy_checkpoint, face_arrays, tmp_path):
    pa = pytest.importorskip("pyarrow")
    from clip_fer.distributed._actors import Predictor

    paths = []
    for i, array in enumerate(face_arrays[:6]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(array).save(paths[-1])
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    threshold = float(np.median(clf.predict_proba(paths).max(axis=1)))
    clf.set_params(abstain_below=threshold)
    expected = clf.predict(paths)
    rows = Predictor(clf, "path", "path", 2)(pa.table({"path": paths})).to_pydict()
    assert rows["label"] == expected.tolist()
    for label, labels in zip(rows["label"], rows["labels"]):
        assert labels == [UNSURE] if label == UNSURE else (len(labels) == 2 and labels[0] == label)


def test_a_one_dimensional_array_of_paths_is_a_list_of_images(toy_checkpoint, face_arrays, tmp_path):
    from clip_fer.exceptions import ImageInputError

    paths = []
    for i, array in enumerate(face_arrays[:3]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(array).save(paths[-1])
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    np.testing.assert_array_equal(clf.predict_proba(np.asarray(paths)), clf.predict_proba(paths))
    np.testing.assert_array_equal(
        clf.predict_proba(np.asarray(paths, dtype=object)), clf.predict_proba(paths)
    )
    with pytest.raises(ImageInputError, match="X is empty"):
        clf.predict(np.asarray([], dtype=str))
