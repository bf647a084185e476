"""clip_fer.analyze: the same rows as the classifier, the cropper and predict_faces."""

import numpy as np
import pytest
from PIL import Image

import clip_fer
from clip_fer import FaceCropper, PromptBank, ZeroShotEmotionClassifier, predict_faces
from clip_fer.exceptions import ImageInputError, InvalidParameterError, SkippedImagesWarning
from tests.conftest import TwoFaces

pd = pytest.importorskip("pandas")


@pytest.fixture
def photos(tmp_path, face_arrays):
    Image.fromarray(face_arrays[0]).convert("RGB").resize((120, 80)).save(tmp_path / "group.png")
    Image.fromarray(face_arrays[1]).save(tmp_path / "alone.jpg")  # no face for the stub
    (tmp_path / "broken.png").write_bytes(b"not a png")
    return [str(tmp_path / name) for name in ("group.png", "alone.jpg", "broken.png")]


def test_analyze_gives_the_rows_of_the_three_parts(toy_checkpoint, photos):
    options = {"prompt_bank": PromptBank.openai_fer2013(), "batch_size": 2}
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, **options).fit()
    cropper = FaceCropper(TwoFaces(), margin=0.2, grayscale=True)
    expected = predict_faces(clf, photos, cropper=cropper, top_k=2)
    with pytest.warns(SkippedImagesWarning, match=r"1 of 3 images failed.*broken\.png") as caught:
        found = clip_fer.analyze(
            photos, model=toy_checkpoint, detector=TwoFaces(), margin=0.2, grayscale=True, top_k=2, **options
        )
    assert [index for index, _ in caught[0].message.errors] == [2]
    pd.testing.assert_frame_equal(found, expected)
    assert found.status.tolist() == ["face", "face", "no face", "failed"]
    records = clip_fer.analyze(photos[0], model=toy_checkpoint, detector=TwoFaces(), as_frame=False)
    assert [r["face"] for r in records] == [0, 1] and records[0]["image"] == photos[0]


def test_an_unknown_option_is_named(toy_checkpoint, photos):
    with pytest.raises(InvalidParameterError, match="analyze got 'treshold', which is not a parameter"):
        clip_fer.analyze(photos, model=toy_checkpoint, treshold=0.5)


@pytest.mark.parametrize("kind", ["pil", "array", "tensor", "path"])
def test_one_image_of_any_kind_is_taken_as_deepface_takes_it(toy_checkpoint, photos, kind):
    torch = pytest.importorskip("torch")
    image = Image.open(photos[0]).convert("RGB")
    one = {
        "pil": image,
        "array": np.asarray(image),
        "tensor": torch.from_numpy(np.array(image)).permute(2, 0, 1),
        "path": photos[0],
    }[kind]
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    expected = predict_faces(clf, [one], cropper=FaceCropper(TwoFaces()))
    found = clip_fer.analyze(one, model=toy_checkpoint, detector=TwoFaces())
    pd.testing.assert_frame_equal(found, expected)
    assert found.status.tolist() == ["face", "face"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            "https://example.org/faces/a.jpg",
            r"'https://example\.org/faces/a\.jpg' is a URL; .* Download it first",
        ),
        ("folder", r"'.*folder' is a folder, not an image file"),
        ("missing.jpg", r"file '.*missing\.jpg' does not exist"),
    ],
)
def test_a_url_a_folder_or_a_missing_file_is_named(toy_checkpoint, photos, tmp_path, bad, reason):
    if bad == "folder":
        bad = str(tmp_path / bad)
        (tmp_path / "folder").mkdir()
    elif bad == "missing.jpg":
        bad = str(tmp_path / bad)
    # The default on_error="raise": before the model is loaded (this one does not exist).
    with pytest.raises(ImageInputError, match=rf"^Image at index 1: {reason}"):
        clip_fer.analyze([photos[0], bad], model=str(tmp_path / "no-model.pt"), detector=TwoFaces())
    # on_error="skip": a failed row, named in a warning; the other image's rows as usual.
    with pytest.warns(SkippedImagesWarning, match=rf"1 of 2 images failed .*{reason}"):
        found = clip_fer.analyze([photos[0], bad], model=toy_checkpoint, detector=TwoFaces(), on_error="skip")
    assert found.status.tolist() == ["face", "face", "failed"]
    assert found.image.iloc[2] == bad  # as given: a URL keeps its //
