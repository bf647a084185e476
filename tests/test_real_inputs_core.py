"""Issue 18, the scoring core and the one record: class names that collide with output
columns, components that break the decision contract, synonyms equal to the
tokenizer, work lost to one bad item, a stray image in a split/class tree, and the
parts that reached into each other's privates."""

import csv
import io
import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from PIL import Image
from real_inputs import kind
from sklearn.base import BaseEstimator
from test_datasets import write_csv

from clip_fer import (
    ComponentContractError,
    Decision,
    EmotionSmoother,
    FaceCropper,
    IoUTracker,
    MeanProbaDecider,
    PromptBank,
    ZeroShotEmotionClassifier,
    predict_faces,
    predict_video,
)
from clip_fer.cli import main
from clip_fer.datasets import load_fer2013_csv, load_image_folder
from clip_fer.exceptions import DatasetError, InvalidParameterError, PromptBankError, SkippedImagesWarning

# Class names that are also fixed columns of some output.
COLLIDING = [
    "image",
    "image_index",
    "score",
    "status",
    "error",
    "label",
    "label_1",
    "labels",
    "time",
    "frame",
    "track",
    "face",
    "box",
    "x0",
    "detected",
    "raw_label",
    "path",
]


def colliding_bank(names=COLLIDING):
    return PromptBank(["a photo of a {} face"], {name: [f"word{i}"] for i, name in enumerate(names)})


@pytest.fixture(scope="module")
def colliding_clf(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=colliding_bank()).fit()


class PastedFaces:
    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return [(box, 0.9 - 0.1 * i) for i, box in enumerate(self.boxes)]


def _proba_columns(columns):
    return [c for c in columns if c.startswith("proba_")]


# 20. Class names that collide with output columns ------------------------------------


@kind(
    20,
    "predict_faces with a bank whose 17 classes are called image, score, status, label_1, time, box, ...",
    "image and score columns keep the path and the detector's score; one proba_<class> column each",
)
def test_predict_faces_columns_survive_colliding_class_names(colliding_clf, face_arrays, tmp_path):
    canvas = Image.new("RGB", (120, 80), (30, 60, 90))
    canvas.paste(Image.fromarray(face_arrays[0]).convert("RGB"), (10, 10))
    path = tmp_path / "photo.png"
    canvas.save(path)
    cropper = FaceCropper(PastedFaces([(10, 10, 58, 58)]))
    frame = predict_faces(colliding_clf, [str(path)], cropper=cropper, top_k=2)
    assert frame.columns.is_unique
    assert frame["image"].tolist() == [str(path)] and frame["score"].tolist() == [0.9]
    assert frame["status"].tolist() == ["face"] and frame["label_1"].iloc[0] in COLLIDING
    assert _proba_columns(frame.columns) == [f"proba_{c}" for c in colliding_clf.classes_]
    np.testing.assert_allclose(frame[_proba_columns(frame.columns)].sum(axis=1), 1, atol=1e-6)
    expected = colliding_clf.predict_proba([cropper.fit().crop(canvas.convert("RGB"), (10, 10, 58, 58))])
    np.testing.assert_allclose(frame[_proba_columns(frame.columns)].to_numpy(float), expected, atol=1e-6)


@kind(
    20,
    "clip-fer predict --format csv and json with the 17 colliding class names",
    "unique CSV header; image column holds the paths; JSON probabilities keyed by every class",
)
def test_cli_predict_csv_and_json_with_colliding_class_names(toy_checkpoint, face_arrays, tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(face_arrays[i]).save(folder / f"f{i}.png")
    bank = tmp_path / "bank.json"
    bank.write_text(
        json.dumps({"templates": ["a {} face"], "synonyms": {n: [f"w{i}"] for i, n in enumerate(COLLIDING)}})
    )
    args = ["predict", str(folder), "--model", toy_checkpoint, "--bank", str(bank)]
    assert main([*args, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    header = rows[0]
    assert len(header) == len(set(header))
    records = [dict(zip(header, row)) for row in rows[1:]]
    assert [r["image"] for r in records] == [str(folder / "f0.png"), str(folder / "f1.png")]
    assert all(r["status"] == "ok" and r["error"] == "" for r in records)
    for r in records:
        assert sum(float(r[f"proba_{c}"]) for c in COLLIDING) == pytest.approx(1, abs=1e-4)
    assert main([*args, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in shown] == [str(folder / "f0.png"), str(folder / "f1.png")]
    assert all(set(r["probabilities"]) == set(COLLIDING) for r in shown)


class NamedColours(BaseEstimator):
    """An estimator stand-in whose classes are fixed column names of the video output."""

    classes_ = np.array(["label", "time", "track"])
    precomputed = False
    text_features_ = np.zeros((3, 4))

    def fit(self, X=None, y=None):
        return self

    def predict_proba(self, crops):
        means = np.array([np.asarray(c.convert("RGB"), float).reshape(-1, 3).mean(0) for c in crops])
        e = np.exp(means / 20.0 - (means / 20.0).max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def _frames(n=6):
    frames = []
    for i in range(n):
        image = np.zeros((80, 120, 3), np.uint8)
        image[20:60, 20 + i : 60 + i] = (200, 40, 40)
        frames.append(image)
    return frames


@kind(
    20,
    "predict_video and faces.csv (FaceRowWriter) with classes called label, time and track",
    "no TypeError; time and track keep their meaning; proba_<class> columns sum to 1",
)
def test_video_rows_with_colliding_class_names(tmp_path):
    from clip_fer.video._outputs import FaceRowWriter

    detector = PastedFaces([(20, 20, 60, 60)])
    faces = predict_video(NamedColours(), _frames(), detector=detector, detect_every=1, frame_rate=10.0)
    assert faces.columns.is_unique and len(faces) == 6
    np.testing.assert_allclose(faces["time"], np.arange(6) / 10.0)
    assert faces["track"].tolist() == [1] * 6 and set(faces["label"]) <= {"label", "time", "track"}
    np.testing.assert_allclose(faces[["proba_label", "proba_time", "proba_track"]].sum(axis=1), 1)
    from clip_fer import iter_video_faces

    path = tmp_path / "faces.csv"
    with FaceRowWriter(path, NamedColours.classes_) as rows:
        for frame, found in iter_video_faces(NamedColours(), _frames(), detector=detector, frame_rate=10.0):
            rows.write(frame, found)
    written = pd.read_csv(path)
    assert written.columns.is_unique and written["time"].tolist() == pytest.approx(list(np.arange(6) / 10.0))


@kind(
    20,
    "The Ray/Parquet predictor with classes called label, labels, error and path",
    "label, labels and error keep their meaning; proba_<class> columns; the input path passes through",
)
def test_ray_predictor_columns_with_colliding_class_names(toy_checkpoint, face_arrays, tmp_path):
    from clip_fer.distributed._actors import Predictor

    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(face_arrays[i]).save(paths[-1])
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=colliding_bank(["label", "labels", "error", "path"])
    )
    table = Predictor(clf, "path", "path", 2)(pa.table({"path": paths}))
    assert table.column_names == [
        "path",
        "label",
        "labels",
        *[f"proba_{c}" for c in sorted(["label", "labels", "error", "path"])],
        "error",
    ]
    frame = table.to_pandas()
    assert frame["path"].tolist() == paths and frame["error"].isna().all()
    local = clf.fit().predict_proba(paths)
    np.testing.assert_allclose(frame[_proba_columns(frame.columns)].to_numpy(float), local, atol=1e-6)
    assert frame["label"].tolist() == list(clf.predict(paths))


@kind(
    20,
    "Resuming a Parquet output written with bare class columns (before the proba_ prefix)",
    "refused ('differing: columns') instead of mixing two column schemes in one output",
)
def test_parquet_output_of_the_old_column_scheme_is_not_resumed(toy_checkpoint, tmp_path):
    from clip_fer.distributed import _parquet
    from clip_fer.exceptions import ClipFerError

    settings = _parquet._settings(ZeroShotEmotionClassifier(toy_checkpoint), "predict", "path", "path", 3)
    old = {name: value for name, value in settings.items() if name != "columns"}
    out = tmp_path / "old.parquet"
    out.mkdir()
    (out / _parquet.MANIFEST).write_text(json.dumps(old))
    with pytest.raises(ClipFerError, match=r"other settings \(differing: columns\)"):
        _parquet._prepare(out, settings)


# 21. Components that break the decision contract -----------------------------------


class RowTooFew:
    def fit(self):
        return self

    def decide(self, class_scores):
        decision = MeanProbaDecider().decide(class_scores)
        return Decision(decision.ranking[1:], decision.scores[1:], decision.proba[1:])


class Twisted:
    """A decider whose Decision breaks one rule, chosen by name."""

    def __init__(self, rule):
        self.rule = rule

    def fit(self):
        return self

    def decide(self, class_scores):
        d = MeanProbaDecider().decide(class_scores)
        ranking, scores, proba = d.ranking.copy(), d.scores.copy(), d.proba.copy()
        if self.rule == "nan":
            proba[0, 0] = np.nan
        elif self.rule == "unnormalised":
            proba = proba * 2
        elif self.rule == "argmax":
            ranking[:, [0, 1]] = ranking[:, [1, 0]]
        elif self.rule == "permutation":
            ranking[0] = 0
        elif self.rule == "float ranking":
            ranking = ranking.astype(float)
        return Decision(ranking, scores, proba)


class WrongFolder:
    def __init__(self, rule):
        self.rule = rule

    def fit(self):
        return self

    def fold(self, scores, word_class, n_classes):
        if self.rule == "shape":
            return scores[..., :3]  # words, not classes
        folded = np.stack([scores[..., word_class == c].mean(-1) for c in range(n_classes)], -1)
        folded[0, 0, 0] = np.nan
        return folded


@kind(
    21,
    "A decider returning one row too few for 12 images",
    "ComponentContractError naming the decider and 'one row per image', not 11 labels",
)
def test_decider_with_a_row_too_few_is_named(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=RowTooFew()).fit()
    with pytest.raises(
        ComponentContractError, match=r"decider RowTooFew broke its contract: .*one row per image"
    ):
        clf.predict(face_arrays)


@kind(
    21,
    "Deciders whose Decision has NaN, unnormalised proba, argmax off ranking[:, 0], a non-permutation or float ranking",
    "ComponentContractError naming the decider and the rule",
)
@pytest.mark.parametrize(
    "rule, message",
    [
        ("nan", "Decision.proba must be finite"),
        ("unnormalised", "each row of Decision.proba must sum to 1; image 0 sums to 2"),
        ("argmax", r"argmax\(Decision.proba\) must be Decision.ranking\[:, 0\]"),
        ("permutation", "each row of Decision.ranking must be a permutation"),
        ("float ranking", "Decision.ranking must hold integer class indices"),
    ],
)
def test_decisions_breaking_a_rule_are_named(toy_checkpoint, face_arrays, rule, message):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=Twisted(rule)).fit()
    with pytest.raises(
        ComponentContractError, match=f"decider Twisted broke its contract: {message}"
    ) as info:
        clf.predict_proba(face_arrays)
    assert info.value.role == "decider"


@kind(
    21,
    "Folders returning the words' shape or a NaN class score",
    "ComponentContractError naming the folder and the rule, not 'index 7 is out of bounds'",
)
@pytest.mark.parametrize(
    "rule, message",
    [("shape", r"fold\(\) must return shape \(12, 3, 7\)"), ("nan", "class scores must be finite")],
)
def test_folders_breaking_a_rule_are_named(toy_checkpoint, face_arrays, rule, message):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, synonym_folder=WrongFolder(rule)).fit()
    with pytest.raises(
        ComponentContractError, match=f"synonym_folder WrongFolder broke its contract: {message}"
    ):
        clf.predict(face_arrays)


@kind(
    21,
    "logit_scale=1e39 (and 1e5, inf)",
    "refused at fit with InvalidParameterError; 1e4 gives finite probabilities",
)
def test_huge_logit_scale_is_refused_and_the_largest_accepted_is_finite(toy_checkpoint, face_arrays):
    for scale in (1e39, 1e5, float("inf")):
        with pytest.raises(
            InvalidParameterError, match=r"'logit_scale' parameter .* must be a float in \(0, 10000\]"
        ):
            ZeroShotEmotionClassifier(model=toy_checkpoint, logit_scale=scale).fit()
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, logit_scale=1e4, decider=MeanProbaDecider()).fit()
    proba = clf.predict_proba(face_arrays)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)


class EncodedBank:
    """A bank bringing its own text features (and perhaps its own scale)."""

    def __init__(self, features, scale=None):
        self.features, self.scale = features, scale

    def fit(self, X=None, y=None):
        self.classes_ = np.array(["happy", "sad"], dtype=object)
        self.templates_ = ("a {} face",)
        self.word_class_ = np.array([0, 1])
        self.sentences_ = ("a glad face", "a sad face")
        self.text_features_ = self.features
        if self.scale is not None:
            self.logit_scale_ = self.scale
        return self


@kind(
    21,
    "A bank whose own text_features_ has an all-zero, a NaN or an infinite row; or logit_scale_=1e39",
    "refused at fit, naming the sentence (or the scale), as an image embedding would be",
)
@pytest.mark.parametrize("bad", ["zero", "nan", "inf", "scale"])
def test_bank_text_features_with_no_direction_are_refused(bad):
    features = np.eye(2, 8, dtype=np.float32)
    if bad == "zero":
        features[1] = 0
    elif bad == "nan":
        features[1, 3] = np.nan
    elif bad == "inf":
        features[1, 3] = np.inf
    clf = ZeroShotEmotionClassifier(
        model="unused", prompt_bank=EncodedBank(features, 1e39 if bad == "scale" else None), precomputed=True
    )
    if bad == "scale":
        with pytest.raises(ComponentContractError, match="scale in \\(0, 10000\\].*got scale 1e\\+39"):
            clf.fit()
        return
    what = "is all zeros" if bad == "zero" else "holds NaN or infinity"
    with pytest.raises(InvalidParameterError, match=f"row of sentence 1 \\('a sad face'\\) {what}"):
        clf.fit()


# 22. Synonyms equal up to case or spaces --------------------------------------------


@kind(
    22,
    "Synonyms 'Glad' vs 'glad', 'glad ' vs 'glad', 'very  glad' vs 'very glad', '&amp;' vs '&' under two classes",
    "PromptBankError naming both classes and the word",
)
@pytest.mark.parametrize(
    "first, second",
    [
        ("Glad", "glad"),
        ("glad ", "glad"),
        ("very  glad", "very glad"),
        ("GLAD", "glad"),
        ("fish &amp; chips", "fish & chips"),
    ],
)
def test_synonyms_equal_to_the_tokenizer_are_duplicates(first, second):
    bank = PromptBank(["a {} face"], {"happy": [first], "sad": [second]})
    with pytest.raises(
        PromptBankError, match="listed under both 'happy' and 'sad'.*one word to CLIP's tokenizer"
    ):
        bank.fit()
    with pytest.raises(PromptBankError, match="listed twice under 'happy'"):
        PromptBank(["a {} face"], {"happy": [first, second]}).fit()


class RawBank:
    """A bank of the protocol that does not compare its words itself."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array(["happy", "sad"], dtype=object)
        self.templates_ = ("a {} face", "this is {}")
        self.words_ = ("Glad", "glad", "sad")
        self.word_class_ = np.array([0, 1, 1])
        self.sentences_ = tuple(t.replace("{}", w) for t in self.templates_ for w in self.words_)
        return self


@kind(
    22,
    "A bank of the protocol listing 'Glad' under happy and 'glad' under sad (no word check of its own)",
    "PromptBankError at fit: the model encodes both alike; names both words and classes",
)
def test_words_the_model_encodes_alike_are_refused(toy_checkpoint):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=RawBank())
    with pytest.raises(
        PromptBankError, match="'Glad' \\(class 'happy'\\) and 'glad' \\(class 'sad'\\) are the same"
    ):
        clf.fit()


# 23. Work lost to one bad item --------------------------------------------------------


def _csv_with_a_bad_row(path):
    rows = [(3, "PublicTest"), (4, "PublicTest"), (0, "PublicTest"), (6, "PublicTest")]
    write_csv(path, rows)
    lines = path.read_text().splitlines()
    code, pixels, usage = lines[2].split(",")
    lines[2] = ",".join([code, pixels.replace("0", "x", 1) if "0" in pixels else "x" + pixels, usage])
    path.write_text("\n".join(lines) + "\n")
    return path


@kind(
    23,
    "predict(on_error='skip') over load_fer2013_csv with one malformed row of 4",
    "no exception: None for that row, the 3 others predicted, a warning naming the line",
)
def test_skip_over_a_lazy_csv_with_a_malformed_row(toy_checkpoint, tmp_path):
    data = load_fer2013_csv(_csv_with_a_bad_row(tmp_path / "fer.csv"))
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning, match="1 of 4 inputs were skipped.*index 1: line 3 of"):
        labels = clf.predict(data.images)
    assert labels[1] is None and all(label is not None for i, label in enumerate(labels) if i != 1)
    good = [data.images[i] for i in (0, 2, 3)]
    assert list(labels[[0, 2, 3]]) == list(
        ZeroShotEmotionClassifier(model=toy_checkpoint).fit().predict(good)
    )


@kind(
    23,
    "clip-fer evaluate --on-error skip over a FER2013 CSV with one malformed row of 4",
    "exit 0; metrics over the 3 readable rows; the bad row named on stderr and in predictions.csv",
)
def test_cli_evaluate_on_error_skip(toy_checkpoint, tmp_path, capsys):
    csv_path = _csv_with_a_bad_row(tmp_path / "fer.csv")
    out = tmp_path / "out"
    args = ["evaluate", "--data", str(csv_path), "--model", toy_checkpoint, "--out", str(out)]
    assert main(args) == 1  # the default stops at the bad row, naming it
    assert "line 3 of" in capsys.readouterr().err
    assert main([*args, "--on-error", "skip"]) == 0
    err = capsys.readouterr().err
    assert "skipped:" in err and "line 3 of" in err and "1 of 4 images could not be read" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_images"] == 3 and metrics["n_skipped"] == 1
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 4 and predictions["error"].notna().tolist() == [False, True, False, False]
    assert predictions.loc[1, ["label_1"]].isna().all()


class SkipsFirstCrop(ZeroShotEmotionClassifier):
    """Skips its first input as on_error='skip' does an unreadable one."""

    def decide(self, X):
        decision = super().decide(X)
        ranking, scores, proba = decision.ranking.copy(), decision.scores.copy(), decision.proba.copy()
        ranking[0], scores[0], proba[0] = -1, np.nan, np.nan
        return Decision(ranking, scores, proba, errors=[(0, "unreadable crop")])


@kind(
    23,
    "predict_video with an estimator (on_error='skip') that skips one face crop",
    "the video goes on through the estimator's decide: that face is NaN with no label, the others scored",
)
def test_video_goes_through_the_estimators_error_policy(toy_checkpoint):
    clf = SkipsFirstCrop(model=toy_checkpoint, on_error="skip").fit()
    faces = predict_video(
        clf, _frames(3), detector=PastedFaces([(20, 20, 60, 60)]), detect_every=1, batch_frames=3
    )
    probabilities = faces[_proba_columns(faces.columns)].to_numpy(float)
    assert np.isnan(probabilities[0]).all() and faces["label"].isna().tolist() == [True, False, False]
    np.testing.assert_allclose(probabilities[1:].sum(axis=1), 1, atol=1e-6)


@kind(
    23,
    "predict_faces with an estimator (on_error='skip') that skips one of two face crops",
    "that face's row is 'failed' with the reason, not labelled with the last class; the other scored",
)
def test_predict_faces_with_a_skipped_crop(toy_checkpoint, face_arrays):
    clf = SkipsFirstCrop(model=toy_checkpoint, on_error="skip").fit()
    canvas = Image.new("RGB", (200, 80), (30, 60, 90))
    for i, x in enumerate((10, 120)):
        canvas.paste(Image.fromarray(face_arrays[i]).convert("RGB"), (x, 10))
    cropper = FaceCropper(PastedFaces([(10, 10, 58, 58), (120, 10, 168, 58)]))
    rows = predict_faces(clf, [canvas], cropper=cropper, as_frame=False)
    assert [r["status"] for r in rows] == ["failed", "face"]
    assert rows[0]["labels"] == [] and "unreadable crop" in rows[0]["error"]
    assert len(rows[1]["labels"]) == 3 and sum(rows[1]["probabilities"].values()) == pytest.approx(1)


# 24. A stray image in a split/class tree -------------------------------------------


@kind(
    24,
    "A split/class tree with one stray image in the split folder (train/stray.jpg beside train/happy/)",
    "DatasetError naming the stray file and the rule, not a class named 'train'",
)
def test_stray_image_at_the_split_level(tmp_path, face_arrays):
    for cls in ("happy", "sad"):
        (tmp_path / "train" / cls).mkdir(parents=True)
        Image.fromarray(face_arrays[0]).save(tmp_path / "train" / cls / "a.png")
    Image.fromarray(face_arrays[1]).save(tmp_path / "train" / "stray.jpg")
    with pytest.raises(DatasetError, match="stray.jpg.*every image must be in a class folder") as info:
        load_image_folder(tmp_path)
    assert "'train' holds image files itself" in str(info.value)
    (tmp_path / "train" / "stray.jpg").unlink()
    assert sorted(set(load_image_folder(tmp_path).target)) == ["happy", "sad"]


# 25. One core, one record: parts through public names ------------------------------


@kind(
    25,
    "A track that ends (unmatched for longer than max_missed) in a long video",
    "its smoothing state is dropped with it; live tracks keep theirs",
)
def test_smoother_state_is_dropped_with_its_track():
    from clip_fer.video._predict import _forget_ended_tracks

    tracker, smoother = IoUTracker(max_missed=1.0), EmotionSmoother(0.5)
    first = tracker.update([[0, 0, 10, 10], [50, 50, 60, 60]], 0.0)
    for track in first:
        smoother.update(track, 0.0, [0.5, 0.5])
    later = tracker.update([[0, 0, 10, 10]], 2.0)  # the second face is gone for 2 s
    smoother.update(later[0], 2.0, [1.0, 0.0])
    _forget_ended_tracks(smoother, tracker, 2.0)
    assert smoother.tracks() == {later[0]} == tracker.live_tracks()


@kind(
    25,
    "IoU of boxes in the detector's merge, the tracker and by hand",
    "one box-geometry module: the same numbers everywhere",
)
def test_one_box_geometry():
    from clip_fer import _boxes
    from clip_fer.faces._detectors import merge_detections
    from clip_fer.video import _tracking

    a, b = [[0, 0, 10, 10]], [[5, 0, 15, 10]]
    assert _boxes.iou(a, b)[0, 0] == pytest.approx(50 / 150)  # by hand
    assert _tracking.iou is _boxes.iou
    merged, _ = merge_detections(np.array(a + b, float), np.array([0.9, 0.8]), iou_threshold=0.3)
    assert len(merged) == 1  # IoU 1/3 > 0.3: one face
    merged, _ = merge_detections(np.array(a + b, float), np.array([0.9, 0.8]), iou_threshold=0.34)
    assert len(merged) == 2


@kind(
    25,
    "The scoring core used directly on embeddings",
    "the same Decision as the estimator's decide; labels from the one labels_of",
)
def test_scoring_core_is_the_estimators(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    core = clf.scoring_core()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decision = core.decide(clf.embed(face_arrays))
    expected = clf.decide(face_arrays)
    np.testing.assert_array_equal(decision.ranking, expected.ranking)
    np.testing.assert_array_equal(decision.proba, expected.proba)
    assert list(core.labels_of(decision.ranking[:, 0])) == list(clf.predict(face_arrays))
