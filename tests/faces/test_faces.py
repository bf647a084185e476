"""FaceCropper, predict_faces and draw_faces with a stub detector (no extra needed),
and with BlazeFace where the faces extra is installed."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.pipeline import make_pipeline

from clip_fer import FaceCropper, ZeroShotEmotionClassifier, draw_faces, predict_faces
from clip_fer.exceptions import InvalidParameterError, MissingDependencyError
from clip_fer.faces._drawing import _COLOURS, save_annotated

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class PastedFaces:
    """A detector that 'finds' the squares it was told were pasted, per image size."""

    def __init__(self, boxes_by_size):
        self.boxes_by_size = boxes_by_size

    def detect(self, image):
        return [(box, 0.9 - 0.1 * i) for i, box in enumerate(self.boxes_by_size.get(image.size, []))]


class Broken:
    def detect(self, image):
        if image.size == (99, 99):
            raise RuntimeError("detector crashed")
        return []


@pytest.fixture(scope="module")
def clf(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint).fit()


@pytest.fixture
def scene(face_arrays):
    """Two faces pasted on a 200x120 canvas, a faceless 90x90 image, and the faces alone."""
    faces = [Image.fromarray(a).convert("RGB") for a in face_arrays[:2]]
    canvas = Image.new("RGB", (200, 120), (30, 60, 90))
    boxes = [(10, 20, 58, 68), (120, 40, 168, 88)]
    for face, box in zip(faces, boxes):
        canvas.paste(face, box[:2])
    empty = Image.new("RGB", (90, 90), (200, 200, 200))
    return canvas, empty, faces, boxes


def test_each_face_row_equals_that_face_alone(clf, scene):
    canvas, empty, faces, boxes = scene
    cropper = FaceCropper(PastedFaces({canvas.size: boxes}), margin=0.0)
    rows = predict_faces(clf, [canvas, empty], cropper=cropper, top_k=2, as_frame=False)
    assert [(r["image_index"], r["face"], r["status"]) for r in rows] == [
        (0, 0, "face"),
        (0, 1, "face"),
        (1, None, "no face"),
    ]
    expected = clf.predict_proba(faces)
    for row, proba, box in zip(rows, expected, boxes):
        assert row["box"] == list(box) and row["score"] in (0.9, 0.8)
        np.testing.assert_allclose([row["probabilities"][c] for c in clf.classes_], proba, atol=1e-6)
        assert row["labels"] == clf.classes_[np.argsort(-proba, kind="stable")[:2]].tolist()
    assert rows[2]["box"] is None and rows[2]["labels"] == [] and rows[2]["probabilities"] == {}


def test_paths_are_kept_and_a_bad_item_fails_alone(clf, scene, tmp_path):
    canvas, _, _, boxes = scene
    good = tmp_path / "class.png"
    canvas.save(good)
    broken = Image.new("RGB", (99, 99))
    cropper = FaceCropper(PastedFaces({canvas.size: boxes}))
    rows = predict_faces(clf, [str(tmp_path / "missing.jpg"), good, broken], cropper=cropper, as_frame=False)
    assert [(r["image_index"], r["status"]) for r in rows] == [
        (0, "failed"),
        (1, "face"),
        (1, "face"),
        (2, "no face"),
    ]
    assert rows[0]["image"] == str(tmp_path / "missing.jpg") and rows[1]["image"] == str(good)
    assert rows[0]["error"].startswith("Image at index 0: file") and "does not exist" in rows[0]["error"]
    rows = predict_faces(clf, [canvas, broken], cropper=FaceCropper(Broken()), as_frame=False)
    assert [r["status"] for r in rows] == ["no face", "failed"]
    assert rows[1]["error"] == ("Image at index 1: face detection failed (RuntimeError: detector crashed).")


def test_a_detector_that_cannot_work_stops_everything(clf, scene):
    class NotInstalled:
        def detect(self, image):
            raise MissingDependencyError("install the faces extra")

    with pytest.raises(MissingDependencyError, match="install the faces extra"):
        predict_faces(clf, [scene[0]], cropper=FaceCropper(NotInstalled()))


def test_data_frame_has_flat_columns(clf, scene):
    pd = pytest.importorskip("pandas")
    canvas, empty, _, boxes = scene
    cropper = FaceCropper(PastedFaces({canvas.size: boxes}))
    frame = predict_faces(clf, [canvas, empty], cropper=cropper, top_k=3)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    assert list(frame.columns) == [
        "image_index",
        "image",
        "face",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "label_1",
        "label_2",
        "label_3",
        *[f"proba_{c}" for c in clf.classes_],
        "status",
        "error",
    ]
    assert frame["x0"].tolist()[:2] == [b[0] for b in boxes] and frame["x0"].isna().tolist()[2]
    assert str(frame["face"].dtype) == "Int64"
    np.testing.assert_allclose(frame.loc[:1, [f"proba_{c}" for c in clf.classes_]].sum(axis=1), 1, atol=1e-5)


def test_records_without_pandas(clf, scene, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    canvas, _, _, boxes = scene
    cropper = FaceCropper(PastedFaces({canvas.size: boxes}))
    assert isinstance(predict_faces(clf, [canvas], cropper=cropper), list)
    with pytest.raises(ImportError):
        predict_faces(clf, [canvas], cropper=cropper, as_frame=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(top_k=0), r"'top_k' parameter of predict_faces must be an int in \[1, 7\]"),
        (dict(as_frame="yes"), r"'as_frame' parameter of predict_faces must be True, False or 'auto'"),
        (dict(cropper="blazeface"), r"'cropper' parameter of predict_faces must be None or a FaceCropper"),
    ],
)
def test_bad_arguments_are_named(clf, scene, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        predict_faces(clf, [scene[0]], **kwargs)


def test_precomputed_estimator_is_refused(toy_checkpoint, scene):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True).fit()
    with pytest.raises(InvalidParameterError, match="predict_faces needs an estimator that takes images"):
        predict_faces(clf, [scene[0]])


# FaceCropper ----------------------------------------------------------------------


def test_crop_is_a_square_with_margin_and_black_past_the_border():
    image = Image.new("RGB", (100, 80), (255, 255, 255))
    cropper = FaceCropper(PastedFaces({}), margin=0.25).fit()
    crop = cropper.crop(image, (0, 10, 40, 30))  # 40 wide: side 60, centred on (20, 20)
    assert crop.size == (60, 60)
    pixels = np.asarray(crop)
    assert (pixels[:, :10] == 0).all() and (pixels[20:, 10:] == 255).all()
    gray = (
        FaceCropper(PastedFaces({}), grayscale=True)
        .fit()
        .crop(Image.new("RGB", (9, 9), (255, 0, 0)), (0, 0, 9, 9))
    )
    assert gray.mode == "RGB" and len(set(np.asarray(gray)[4, 4])) == 1


def test_find_faces_clips_and_sorts():
    detector = PastedFaces({(50, 50): [(-5.4, 10.6, 20.2, 30), (40, 40, 70, 70), (60, 60, 80, 80)]})
    found = FaceCropper(detector).fit().find_faces(Image.new("RGB", (50, 50)))
    assert found == [((0, 11, 20, 30), 0.9), ((40, 40, 50, 50), 0.8)]  # the third lies outside


def test_transform_in_a_pipeline_warns_about_faceless_images(clf, scene):
    canvas, empty, faces, boxes = scene
    pipeline = make_pipeline(FaceCropper(PastedFaces({canvas.size: boxes}), margin=0.0), clf)
    with pytest.warns(
        UserWarning, match=r"found no face in the images at index \[1\]; they are passed on whole"
    ):
        predicted = pipeline.fit([canvas, empty]).predict([canvas, empty])
    assert predicted.tolist() == [clf.predict([faces[0]])[0], clf.predict([empty])[0]]


def test_a_pipeline_is_fitted_without_images_as_the_classifier_is(clf, scene):
    canvas, empty, faces, boxes = scene
    pipeline = make_pipeline(FaceCropper(PastedFaces({canvas.size: boxes}), margin=0.0), clf)
    assert pipeline.fit(None) is pipeline
    assert pipeline.predict([canvas]).tolist() == clf.predict([faces[0]]).tolist()
    cropper = FaceCropper(PastedFaces({}))
    assert cropper.fit_transform(None) is None and hasattr(cropper, "detector_")


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(margin=-0.1), r"'margin' parameter of FaceCropper must be a float in \[0, 2\]. Got -0.1"),
        (
            dict(detector="haar"),
            r"'detector' parameter of FaceCropper must be None or an object with a method detect",
        ),
        (dict(grayscale="no"), r"'grayscale' parameter of FaceCropper must be a bool"),
    ],
)
def test_cropper_parameters_are_checked_in_fit(params, match):
    cropper = FaceCropper(**params)  # __init__ accepts anything, as sklearn wants
    with pytest.raises(InvalidParameterError, match=match):
        cropper.fit()


# Drawing ----------------------------------------------------------------------------


def test_draw_faces_boxes_in_the_label_colour(clf, scene):
    canvas, _, _, boxes = scene
    rows = predict_faces(
        clf, [canvas], cropper=FaceCropper(PastedFaces({canvas.size: boxes})), as_frame=False
    )
    picture = draw_faces(canvas, rows)
    assert picture.size == canvas.size and picture is not canvas
    for row in rows:
        x0, y0, x1, y1 = row["box"]
        colour = _COLOURS[row["labels"][0]]
        assert picture.getpixel((x0, (y0 + y1) // 2)) == colour
        assert picture.getpixel((x1 - 1, (y0 + y1) // 2)) == colour
    assert canvas.getpixel((boxes[0][0], 40)) != picture.getpixel((boxes[0][0], 40))  # input untouched


def test_draw_faces_takes_the_data_frame_too(clf, scene):
    pytest.importorskip("pandas")
    canvas, _, _, boxes = scene
    cropper = FaceCropper(PastedFaces({canvas.size: boxes}))
    frame = predict_faces(clf, [canvas], cropper=cropper, as_frame=True)
    records = predict_faces(clf, [canvas], cropper=cropper, as_frame=False)
    assert np.array_equal(np.asarray(draw_faces(canvas, frame)), np.asarray(draw_faces(canvas, records)))


def test_save_annotated_names_and_skips(tmp_path, scene):
    canvas = scene[0]
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        canvas.save(tmp_path / sub / "photo.jpg")
    paths = [tmp_path / "a" / "photo.jpg", tmp_path / "b" / "photo.jpg", tmp_path / "gone.jpg"]
    records = [
        {
            "image_index": 0,
            "box": [10, 20, 58, 68],
            "labels": ["happy"],
            "probabilities": {"happy": 0.8},
            "status": "face",
        },
        {"image_index": 1, "labels": ["sad"], "probabilities": {"sad": 0.6}},  # a whole-image label
        {"image_index": 2, "box": None, "labels": [], "probabilities": {}, "status": "failed"},
    ]
    written = save_annotated(paths, records, tmp_path / "out")
    assert [p.name for p in written] == ["photo.png", "photo-1.png"]
    assert Image.open(written[0]).getpixel((10, 40)) == _COLOURS["happy"]
    assert Image.open(written[1]).getpixel((1, 1)) == _COLOURS["sad"]  # the caption's corner


# With BlazeFace ---------------------------------------------------------------------


def test_blazeface_rows_match_their_crops(clf):
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    cropper = FaceCropper(margin=0.1)
    try:
        cropper.fit().detector_._net()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    photo = Image.open(EXAMPLES / "group.jpg").convert("RGB")
    rows = predict_faces(clf, [photo], cropper=cropper, as_frame=False)
    assert len(rows) == 8 and all(r["status"] == "face" for r in rows)
    crops = [cropper.crop(photo, r["box"]) for r in rows]
    expected = clf.predict_proba(crops)
    got = [[r["probabilities"][c] for c in clf.classes_] for r in rows]
    np.testing.assert_allclose(got, expected, atol=1e-6)
