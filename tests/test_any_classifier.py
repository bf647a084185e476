"""Every entry point takes any fitted classifier of images (issue 25): a few-shot one, a
temperature-calibrated one, with the same rows, columns, abstention and error policy.

The reference is always the classifier itself on the crops the entry point made.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FER2013, TINY_FER_CLIP, needs_fer2013, needs_tiny_fer_clip
from PIL import Image
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier, analyze, predict_faces
from clip_fer._abstention import UNSURE
from clip_fer._front import classifier_front
from clip_fer.exceptions import ImageInputError, InvalidParameterError
from clip_fer.faces import FaceCropper

sys.path.insert(0, str(Path(__file__).parent / "video"))
from video_scenes import ColourDetector, colour_people, render

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
REPO = Path(__file__).resolve().parents[1]


class PastedFace:
    def detect(self, image):
        return [((4, 4, 44, 44), 0.9)]


def _views(arrays):
    """Each array and three flips/turns of it: more distinct images for calibration."""
    return [v for a in arrays for v in (a, a[::-1], a[:, ::-1], np.rot90(a).copy())]


@pytest.fixture(scope="module")
def classifiers(toy_checkpoint, face_arrays):
    """A few-shot classifier and a temperature-calibrated one over it (toy model)."""
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip")
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    views = _views(face_arrays)
    y_cal = np.array([CLASSES[i % len(CLASSES)] for i in range(len(views))], dtype=object)
    calibrated = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature").fit(views, y_cal)
    return few_shot, calibrated


def _crops(images, cropper):
    return [cropper.crop(Image.fromarray(a).convert("RGB"), (4, 4, 44, 44)) for a in images]


def _pipeline(few_shot, face_arrays):
    """A Pipeline ending in a clip-fer estimator: a grayscale step, then the few-shot one."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    gray = FunctionTransformer(lambda images: [i.convert("L").convert("RGB") for i in images])
    return make_pipeline(gray, FrozenEstimator(few_shot)).fit([Image.fromarray(face_arrays[0])], ["happy"])


@pytest.mark.parametrize("which", ["few-shot", "calibrated", "pipeline"])
def test_predict_faces_and_analyze_take_the_classifier(classifiers, face_arrays, which):
    few_shot, calibrated = classifiers
    clf = {"few-shot": few_shot, "calibrated": calibrated}.get(which) or _pipeline(few_shot, face_arrays)
    cropper = FaceCropper(PastedFace(), margin=0.0).fit()
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays[:5]]
    expected = clf.predict_proba(_crops(face_arrays[:5], cropper))
    rows = predict_faces(clf, images, cropper=cropper, as_frame=False)
    classes = [str(c) for c in clf.classes_]
    got = np.array([[row["probabilities"][c] for c in classes] for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert [row["labels"][0] for row in rows] == [classes[i] for i in expected.argmax(axis=1)]
    same = analyze(images, classifier=clf, detector=PastedFace(), margin=0.0, as_frame=False)
    assert same == rows


def test_the_inner_threshold_acts_on_the_calibrated_probabilities(classifiers, face_arrays):
    few_shot, calibrated = classifiers
    cropper = FaceCropper(PastedFace(), margin=0.0).fit()
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays]
    proba = calibrated.predict_proba(_crops(face_arrays, cropper))
    threshold = float(np.median(proba.max(axis=1)))
    few_shot.set_params(abstain_below=threshold)  # the wrapped estimator's own threshold
    try:
        rows = predict_faces(calibrated, images, cropper=cropper, as_frame=False)
    finally:
        few_shot.set_params(abstain_below=None)
    unsure = [row["labels"] == [UNSURE] for row in rows]
    assert unsure == list(proba.max(axis=1) < threshold)  # before: never "unsure"
    assert 0 < sum(unsure) < len(rows)
    # The entry point's own threshold wins.
    rows = predict_faces(calibrated, images, cropper=cropper, as_frame=False, abstain_below=1.0)
    assert all(row["labels"] == [UNSURE] for row in rows)


def test_a_foreign_classifier_follows_the_inner_error_policy(classifiers, face_arrays, toy_checkpoint):
    _, calibrated = classifiers
    items = [face_arrays[0], "/missing/face.jpg", face_arrays[1]]
    front = classifier_front(calibrated, owner="test")
    assert front.on_error == "skip"  # the zero-shot estimator's, two levels down
    decision = front.decide(items)
    assert [i for i, _ in decision.errors] == [1] and "/missing/face.jpg" in decision.errors[0][1]
    assert (decision.ranking[1] == -1).all() and np.isnan(decision.proba[1]).all()
    np.testing.assert_allclose(decision.proba[[0, 2]], calibrated.predict_proba([items[0], items[2]]))
    strict = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    front = classifier_front(FrozenEstimator(strict), owner="test")  # on_error="raise" inside
    with pytest.raises(ImageInputError, match="index 1"):
        front.decide(items)


def test_what_is_not_a_classifier_of_images_is_refused(toy_checkpoint):
    precomputed = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True).fit()
    with pytest.raises(InvalidParameterError, match="takes embeddings"):
        predict_faces(FrozenEstimator(precomputed), ["x.jpg"])
    with pytest.raises(InvalidParameterError, match="predict_proba"):
        predict_faces(object(), ["x.jpg"])
    with pytest.raises(InvalidParameterError, match="classifier= and 'device', 'model'"):
        analyze(["x.jpg"], model="ViT-B/32", classifier=precomputed, device="cpu")


@pytest.mark.parametrize("which", ["few-shot", "calibrated"])
def test_predict_video_takes_the_classifier_and_its_threshold(classifiers, which):
    from clip_fer.video import iter_video_faces

    clf = dict(zip(["few-shot", "calibrated"], classifiers))[which]
    frames, _ = render(colour_people(6), 6)
    cropper = FaceCropper(ColourDetector()).fit()
    raw = {}
    for frame, faces in iter_video_faces(clf, frames, detector=ColourDetector(), smoothing=0):
        crops = [cropper.crop(Image.fromarray(frame.image), face.box) for face in faces]
        expected = clf.predict_proba(crops) if crops else []
        for face, row in zip(faces, expected):
            np.testing.assert_allclose([face.probabilities[str(c)] for c in clf.classes_], row, atol=1e-6)
            raw[(frame.index, face.track)] = row.max()
    assert raw
    threshold = float(np.median(list(raw.values())))
    inner = clf if which == "few-shot" else clf.estimator.estimator
    inner.set_params(abstain_below=threshold)
    try:
        for frame, faces in iter_video_faces(clf, frames, detector=ColourDetector(), smoothing=0):
            for face in faces:
                assert (face.labels == [UNSURE]) == (raw[(frame.index, face.track)] < threshold)
    finally:
        inner.set_params(abstain_below=None)


# The shared checkpoint on the examples: the "done when".


@pytest.fixture(scope="module")
def fer_classifiers():
    if not (TINY_FER_CLIP.is_file() and (FER2013 / "public_test").is_dir()):
        pytest.skip("the shared checkpoint or FER2013 is absent")
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    from clip_fer.datasets import load_image_folder, sample_k_shot

    data = load_image_folder(FER2013, split="public_test")
    shots, rest, y_shots, y_rest = sample_k_shot(data.images, data.target, 4, random_state=0)
    _, cal, _, y_cal = sample_k_shot(rest, y_rest, 8, random_state=1)
    zero_shot = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), device="cpu")
    few_shot = FewShotEmotionClassifier(zero_shot, abstain_below=0.4).fit(shots, y_shots)
    calibrated = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature").fit(cal, y_cal)
    return few_shot, calibrated


@pytest.mark.slow
@needs_tiny_fer_clip
@needs_fer2013
@pytest.mark.parametrize("which", ["few-shot", "calibrated"])
def test_the_example_photo_and_video_with_the_checkpoint(fer_classifiers, which):
    clf = dict(zip(["few-shot", "calibrated"], fer_classifiers))[which]
    photo = str(REPO / "examples" / "group.jpg")
    cropper = FaceCropper(grayscale=True).fit()
    rows = predict_faces(clf, [photo], cropper=cropper, as_frame=False)
    assert [row["status"] for row in rows] == ["face"] * 8
    picture = Image.open(photo)
    expected = clf.predict_proba([cropper.crop(picture, row["box"]) for row in rows])
    classes = [str(c) for c in clf.classes_]
    np.testing.assert_allclose([[r["probabilities"][c] for c in classes] for r in rows], expected, atol=1e-6)
    assert any(r["labels"] == [UNSURE] for r in rows) == bool((expected.max(axis=1) < 0.4).any())
    assert analyze([photo], classifier=clf, grayscale=True, as_frame=False) == rows

    from clip_fer.video import iter_video_faces

    video = str(REPO / "examples" / "two-faces.mp4")
    n = 0
    for frame, faces in iter_video_faces(clf, video, fps=2, smoothing=0, grayscale=True):
        crops = [cropper.crop(Image.fromarray(frame.image), face.box) for face in faces]
        for face, row in zip(faces, clf.predict_proba(crops) if crops else []):
            np.testing.assert_allclose([face.probabilities[c] for c in classes], row, atol=1e-6)
            n += 1
    assert n > 0
