"""clip_fer.analyze: the same rows as the classifier, the cropper and predict_faces."""

import pytest
from PIL import Image

import clip_fer
from clip_fer import FaceCropper, PromptBank, ZeroShotEmotionClassifier, predict_faces
from clip_fer.exceptions import InvalidParameterError
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
    found = clip_fer.analyze(
        photos, model=toy_checkpoint, detector=TwoFaces(), margin=0.2, grayscale=True, top_k=2, **options
    )
    pd.testing.assert_frame_equal(found, expected)
    assert found.status.tolist() == ["face", "face", "no face", "failed"]
    records = clip_fer.analyze(photos[0], model=toy_checkpoint, detector=TwoFaces(), as_frame=False)
    assert [r["face"] for r in records] == [0, 1] and records[0]["image"] == photos[0]


def test_an_unknown_option_is_named(toy_checkpoint, photos):
    with pytest.raises(InvalidParameterError, match="analyze got 'treshold', which is not a parameter"):
        clip_fer.analyze(photos, model=toy_checkpoint, treshold=0.5)
