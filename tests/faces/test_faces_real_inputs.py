"""Issue 10, faces: boxes of EXIF-rotated photos are in the upright frame, every
bad item costs only itself, and FaceCropper in a Pipeline follows the classifier's
on_error."""

import numpy as np
import pytest
import torch
from PIL import Image
from real_inputs import kind, save_with_orientation
from sklearn.pipeline import make_pipeline

from clip_fer import FaceCropper, ZeroShotEmotionClassifier, draw_faces, predict_faces
from clip_fer.exceptions import ImageInputError, SkippedImagesWarning


class BrightSquare:
    """A detector that finds the one white square of an image (independent of clip-fer)."""

    def detect(self, image):
        gray = np.asarray(image.convert("L"))
        ys, xs = np.nonzero(gray == 255)
        if len(xs) == 0:
            return []
        return [((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), 0.9)]


def _scene(face_arrays):
    """An upright 64x96 photo: dark, a 16x24 white 'face' near the top left."""
    scene = np.full((96, 64), 40, np.uint8)
    scene[50:80, 30:60] = face_arrays[0][:30, :30] // 2
    scene[8:32, 6:22] = 255
    return scene


@pytest.fixture
def clf(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()


@kind(
    1,
    "photos with EXIF Orientation 2..8 through predict_faces and draw_faces",
    "boxes, crops and drawings in the upright frame",
)
@pytest.mark.parametrize("orientation", range(2, 9))
def test_faces_of_rotated_photos_are_found_upright(clf, face_arrays, tmp_path, orientation):
    scene = _scene(face_arrays)
    upright = tmp_path / "upright.png"
    Image.fromarray(scene).save(upright)
    rotated = save_with_orientation(scene, tmp_path / "phone.png", orientation)
    cropper = FaceCropper(BrightSquare(), margin=0).fit()
    rows = predict_faces(clf, [str(upright), rotated], cropper=cropper, as_frame=False)
    assert [r["box"] for r in rows] == [[6, 8, 22, 32]] * 2
    assert rows[0]["labels"] == rows[1]["labels"]
    np.testing.assert_allclose(
        list(rows[1]["probabilities"].values()), list(rows[0]["probabilities"].values()), atol=1e-6
    )
    drawn = draw_faces(rotated, [rows[1]])
    assert drawn.size == (64, 96)  # width, height of the upright photo


BAD_ITEMS = {
    "long name": lambda t: str(t / ("b" * 300 + ".png")),
    "bfloat16 tensor": lambda t: torch.full((48, 48), 0.5, dtype=torch.bfloat16),
    "La image": lambda t: Image.new("La", (48, 48), (120, 200)),
    "20000x1 file": lambda t: (Image.new("L", (20000, 1)).save(t / "line.png"), str(t / "line.png"))[1],
    "folder": lambda t: str(t),
}


@kind(
    7,
    "predict_faces batches holding: " + ", ".join(BAD_ITEMS),
    "that image's row only; every other row identical to a clean run",
)
@pytest.mark.parametrize("bad", list(BAD_ITEMS))
def test_predict_faces_bad_item_costs_only_itself(clf, face_arrays, tmp_path, bad):
    scenes = [_scene(face_arrays), np.full((48, 48), 30, np.uint8), _scene(face_arrays[3:])]
    cropper = FaceCropper(BrightSquare()).fit()
    clean = predict_faces(clf, scenes, cropper=cropper, as_frame=False)
    rows = predict_faces(
        clf, [scenes[0], BAD_ITEMS[bad](tmp_path), *scenes[1:]], cropper=cropper, as_frame=False
    )
    (row,) = [r for r in rows if r["image_index"] == 1]
    if bad in ("bfloat16 tensor", "La image"):  # readable: no white square, so no face
        assert row["status"] == "no face" and row["error"] is None
    else:
        assert row["status"] == "failed" and row["error"].startswith("Image at index 1: ")
    others = [
        dict(r, image_index=r["image_index"] - (r["image_index"] > 1)) for r in rows if r["image_index"] != 1
    ]
    assert others == clean


@kind(
    7,
    "FaceCropper in a Pipeline with a missing file, a 20000x1 array, a failing detection",
    "the classifier's on_error: raise names the item, skip gives None and the rest identical",
)
@pytest.mark.parametrize("bad", ["/missing/photo.jpg", np.zeros((20000, 1), np.uint8), "DETECTOR"])
def test_pipeline_follows_the_classifiers_on_error(toy_checkpoint, face_arrays, bad):
    scenes = [_scene(face_arrays), _scene(face_arrays[2:]), _scene(face_arrays[4:])]

    class Flaky(BrightSquare):
        def detect(self, image):
            if np.asarray(image)[0, 0, 0] == 7:
                raise RuntimeError("detector crashed")
            return super().detect(image)

    if isinstance(bad, str) and bad == "DETECTOR":
        bad = np.full((48, 48), 7, np.uint8)
    batch = [scenes[0], bad, *scenes[1:]]

    def pipeline(on_error):
        classifier = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, on_error=on_error)
        return make_pipeline(FaceCropper(Flaky()), classifier).fit(scenes)

    clean = pipeline("raise").predict_proba(scenes)
    with pytest.raises(ImageInputError, match="Image at index 1: "):
        pipeline("raise").predict(batch)
    with pytest.warns(SkippedImagesWarning, match="1 of 4 inputs were skipped"):
        proba = pipeline("skip").predict_proba(batch)
    assert np.isnan(proba[1]).all()
    np.testing.assert_array_equal(np.delete(proba, 1, axis=0), clean)
