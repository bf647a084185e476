"""Every accepted image form gives the same embedding; every bad item is named."""

import numpy as np
import pytest
import torch
from PIL import Image

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.backends._images import to_rgb_image
from clip_fer.exceptions import ImageInputError


@pytest.fixture(scope="module")
def gray():
    rng = np.random.default_rng(1)
    return np.kron(rng.integers(0, 256, (6, 6)), np.ones((8, 8))).astype(np.uint8)


def test_one_face_in_every_accepted_form_is_the_same_rgb_image(gray, tmp_path):
    png = tmp_path / "face.png"
    Image.fromarray(gray).save(png)
    forms = [
        gray,  # FER2013: 48x48 uint8
        np.stack([gray] * 3, axis=-1),  # HxWx3 uint8
        gray[..., None],  # HxWx1
        gray / 255.0,  # float in [0, 1]
        Image.fromarray(gray),  # PIL "L"
        Image.fromarray(gray).convert("RGBA"),  # PIL with alpha
        torch.from_numpy(gray / 255.0)[None].repeat(3, 1, 1),  # (C, H, W) float tensor
        torch.from_numpy(gray),  # (H, W) uint8 tensor
        str(png),
        png,
    ]
    expected = np.stack([gray] * 3, axis=-1)
    for i, form in enumerate(forms):
        image = to_rgb_image(form, i)
        assert image.mode == "RGB" and image.size == (48, 48)
        np.testing.assert_array_equal(np.asarray(image), expected, err_msg=f"form {i}")


def test_mixed_list_predicts_like_a_uniform_one(toy_checkpoint, gray, tmp_path):
    png = tmp_path / "face.png"
    Image.fromarray(gray).save(png)
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    mixed = clf.embed([gray, str(png), Image.fromarray(gray), gray / 255.0])
    np.testing.assert_allclose(mixed, np.repeat(mixed[:1], 4, axis=0), atol=1e-6)


def test_stacked_array_is_a_batch_of_images(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()
    np.testing.assert_allclose(clf.embed(np.stack(face_arrays)), clf.embed(face_arrays), atol=1e-6)


@pytest.mark.parametrize(
    "item, message",
    [
        ("/no/such/face.jpg", "file '/no/such/face.jpg' does not exist"),
        (np.zeros((48, 48, 2), np.uint8), r"array of shape \(48, 48, 2\) is not an image"),
        (np.zeros((0, 48), np.uint8), r"array of shape \(0, 48\) is not an image"),
        (np.zeros((48, 48, 5), np.uint8), r"array of shape \(48, 48, 5\) is not an image"),
        (np.zeros((2, 48, 48, 3), np.uint8), r"array of shape \(2, 48, 48, 3\) is not an image"),
        (np.full((4, 4), np.nan), "float array contains NaN or infinity"),
        (np.full((4, 4), 2.0), r"float array has values in \[2, 2\]; float images must be in \[0, 1\]"),
        (np.zeros((4, 4), np.int64), "array of dtype int64 is not supported"),
        (42, "items of type int are not images"),
    ],
)
def test_bad_item_error_names_its_index_and_reason(toy_checkpoint, face_arrays, item, message):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    with pytest.raises(ImageInputError, match=f"Image at index 1: {message}") as info:
        clf.predict([face_arrays[0], item, face_arrays[1]])
    assert info.value.index == 1


def test_unreadable_files_are_named(tmp_path, toy_checkpoint, face_arrays):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    truncated = tmp_path / "cut.jpg"
    Image.fromarray(face_arrays[0]).save(tmp_path / "whole.jpg")
    truncated.write_bytes((tmp_path / "whole.jpg").read_bytes()[:300])
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    with pytest.raises(ImageInputError, match="index 0: file .*notes.jpg' is not an image format"):
        clf.predict([text])
    with pytest.raises(ImageInputError, match="index 0: file .*cut.jpg' is truncated or corrupt"):
        clf.predict([truncated])


@pytest.mark.parametrize(
    "X, message",
    [
        ("face.jpg", "got a single str. Wrap it in a list"),
        ([], "X is empty"),
        (np.zeros((5, 32), np.float32), r"shape \(5, 32\) is not a stack of images.*precomputed=True"),
        (7, "X must be a list of images; got int"),
    ],
)
def test_bad_collections_are_refused(toy_checkpoint, X, message):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    with pytest.raises(ImageInputError, match=message):
        clf.predict(X)


def test_sixteen_bit_and_palette_images_convert(face_arrays):
    sixteen = Image.fromarray(face_arrays[0].astype(np.uint16) * 257)  # mode I;16
    assert sixteen.mode.startswith("I;16")
    np.testing.assert_array_equal(np.asarray(to_rgb_image(sixteen, 0))[..., 0], face_arrays[0])
    palette = Image.fromarray(face_arrays[0]).convert("P")
    palette.info["transparency"] = 0
    assert to_rgb_image(palette, 0).mode == "RGB"
