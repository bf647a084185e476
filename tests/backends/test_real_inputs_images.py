"""Issue 10, images: EXIF orientation, single arrays, extreme shapes, items that
escaped on_error='skip', PIL modes, and the smaller input kinds.

Each test builds its inputs and, where a batch is involved, checks that the other
items' results are identical to a clean run without the bad item.
"""

import os
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from real_inputs import asymmetric_face, kind, pillow_upright, save_with_orientation

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.backends._images import check_image_sequence, to_rgb_image
from clip_fer.exceptions import ImageInputError, MultiFrameWarning, SkippedImagesWarning


@pytest.fixture
def clf(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()


def _skip(clf):
    return ZeroShotEmotionClassifier(model=clf.model, cache=False, on_error="skip").fit()


def assert_item_fails_alone(clf, good, bad, match):
    """Under raise: ImageInputError at the bad item's index. Under skip: None for
    it, and every other result identical to a clean run without it."""
    batch = [good[0], bad, *good[1:]]
    with pytest.raises(ImageInputError, match=f"Image at index 1: {match}"):
        clf.predict(batch)
    clean = clf.predict_proba(good)
    with pytest.warns(SkippedImagesWarning, match="1 of"):
        proba = _skip(clf).predict_proba(batch)
    assert np.isnan(proba[1]).all()
    np.testing.assert_array_equal(np.delete(proba, 1, axis=0), clean)


# 1. EXIF orientation ----------------------------------------------------------------


@kind(
    1,
    "PNG and JPEG faces stored with EXIF Orientation 2..8",
    "read upright: embedding equal to the upright copy's",
)
@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_rotated_file_reads_upright(clf, tmp_path, orientation):
    face = asymmetric_face(orientation)
    path = save_with_orientation(face, tmp_path / "phone.png", orientation)
    np.testing.assert_array_equal(np.asarray(to_rgb_image(path, 0))[..., 0], face)
    np.testing.assert_array_equal(np.asarray(to_rgb_image(path, 0)), pillow_upright(path))
    np.testing.assert_allclose(clf.embed([path]), clf.embed([face]), atol=1e-6)


@kind(1, "an opened PIL image of an EXIF-rotated JPEG", "read upright, as its file is")
def test_exif_rotated_pil_image_reads_upright(clf, tmp_path):
    face = asymmetric_face(1)
    path = save_with_orientation(face, tmp_path / "phone.jpg", 6, fmt="JPEG")
    with Image.open(path) as opened:
        assert opened.size == (face.shape[0], face.shape[1])  # stored sideways
        image = to_rgb_image(opened, 0)
    assert image.size == (face.shape[1], face.shape[0])
    np.testing.assert_array_equal(np.asarray(image), pillow_upright(path))
    with Image.open(path) as opened:
        np.testing.assert_allclose(clf.embed([opened]), clf.embed([path]), atol=1e-6)


# 5. A single image array -------------------------------------------------------------


@kind(
    5,
    "one (48, 48, 3) array, one (3, 48, 48) tensor, one (48, 48) array as X",
    "refused: 'wrap it in a list'",
)
@pytest.mark.parametrize(
    "make",
    [
        lambda f: np.stack([f] * 3, axis=-1),
        lambda f: torch.from_numpy(np.stack([f] * 3)),
        lambda f: f[..., None],
        lambda f: torch.from_numpy(f[None]),
        lambda f: f,
        lambda f: torch.from_numpy(f),
    ],
    ids=["HWC array", "CHW tensor", "HW1 array", "1HW tensor", "HW array", "HW tensor"],
)
def test_single_image_array_is_not_read_as_a_batch(clf, make):
    with pytest.raises(ImageInputError, match=r"[Ww]rap .*in a list: predict\(\[image\]\)"):
        clf.predict(make(asymmetric_face()))


@kind(
    5,
    "4-D stacks (N, H, W, C) arrays, (N, C, H, W) tensors, (5, H, W) arrays",
    "one prediction per image, equal to a list",
)
def test_stacks_are_still_stacks(clf, face_arrays):
    faces = np.stack(face_arrays[:5])
    expected = clf.predict_proba(list(faces))
    np.testing.assert_array_equal(clf.predict_proba(faces), expected)
    np.testing.assert_array_equal(clf.predict_proba(faces[..., None]), expected)
    np.testing.assert_allclose(clf.predict_proba(torch.from_numpy(faces[:, None])), expected, atol=1e-12)


# 6. Extreme shapes ------------------------------------------------------------------


@kind(
    6,
    "20000x1, 1x20000 and 60000x1 PNG files in a batch",
    "refused (aspect ratio over 100:1) before any resize; skip: the rest identical",
)
@pytest.mark.parametrize("size", [(20000, 1), (1, 20000), (60000, 1)])
def test_extreme_aspect_ratio_file_is_refused_per_item(clf, tmp_path, face_arrays, size):
    path = tmp_path / "line.png"
    Image.new("L", size, 128).save(path)
    assert_item_fails_alone(
        clf, face_arrays[:3], str(path), r"file '.*line.png' is \d+x\d+ pixels, an aspect ratio over 100:1"
    )


@kind(6, "a (20000, 1) uint8 array", "refused per item like the file")
def test_extreme_aspect_ratio_array_is_refused_per_item(clf, face_arrays):
    assert_item_fails_alone(
        clf, face_arrays[:3], np.zeros((20000, 1), np.uint8), r"array of shape \(20000, 1\) is 1x20000 pixels"
    )


@kind(6, "100:1 and 1:100 images (the limit)", "predicted")
def test_aspect_ratio_at_the_limit_is_read(clf):
    assert (
        clf.predict([np.zeros((2, 200), np.uint8), np.zeros((300, 3), np.uint8)]).tolist()[0] in clf.classes_
    )


# 7. Items that escaped on_error="skip" --------------------------------------------------


def _closed_image(tmp_path):
    Image.fromarray(asymmetric_face()).save(tmp_path / "closed.png")
    image = Image.open(tmp_path / "closed.png")
    image.close()
    return image


@kind(
    7,
    "a 300-character file name, a closed PIL image, a folder, a complex tensor",
    "that item's ImageInputError; skip: the rest identical",
)
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda t: str(t / ("a" * 300 + ".png")), r"file '.*aaaa.png' cannot be read \(File name too long\)"),
        (_closed_image, r"PIL image cannot be read \(Operation on closed image\); is it closed\?"),
        (lambda t: str(t), r"'.*' is a folder, not an image file"),
        (lambda t: torch.zeros(8, 8, dtype=torch.complex64), "array of dtype complex64 is not supported"),
    ],
    ids=["long name", "closed PIL image", "folder", "complex tensor"],
)
def test_escaped_items_fail_alone(clf, tmp_path, face_arrays, make, match):
    assert_item_fails_alone(clf, face_arrays[:3], make(tmp_path), match)


@kind(7, "bfloat16 and float16 tensors in [0, 1]", "predicted, equal to the same values as float32")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_tensors_are_read(clf, dtype):
    tensor = torch.from_numpy(asymmetric_face() / 255.0).to(dtype)
    np.testing.assert_array_equal(clf.embed([tensor]), clf.embed([tensor.float()]))


@kind(
    7,
    "PIL modes La, LA, PA, RGBa, RGBX, HSV, LAB, YCbCr, CMYK, 1, P with transparency",
    "predicted as Pillow's own RGB conversion",
)
@pytest.mark.parametrize("mode", ["La", "LA", "PA", "RGBa", "RGBX", "HSV", "LAB", "YCbCr", "CMYK", "1", "P"])
def test_every_pil_mode_is_read(clf, face_arrays, mode):
    rgb = Image.fromarray(np.stack([face_arrays[0], face_arrays[1], face_arrays[2]], axis=-1))
    image = rgb.convert("RGBA").convert(mode) if mode in ("La", "LA", "PA", "RGBa") else rgb.convert(mode)
    if mode == "P":
        image.info["transparency"] = 0
    reference = image.convert("LA" if mode == "La" else image.mode)
    reference = reference.convert("RGBA" if mode == "P" else reference.mode).convert("RGB")
    np.testing.assert_array_equal(np.asarray(to_rgb_image(image, 0)), np.asarray(reference))
    np.testing.assert_array_equal(clf.embed([face_arrays[0], image])[0], clf.embed([face_arrays[0]])[0])


# 8. PIL modes F, I and I;16 ---------------------------------------------------------------


@kind(8, "mode F images with values in [0, 1]", "scaled by 255: equal to the uint8 image")
def test_mode_f_in_unit_range_is_scaled(clf):
    face = asymmetric_face()
    image = Image.fromarray((face / 255.0).astype(np.float32), mode="F")
    np.testing.assert_array_equal(np.asarray(to_rgb_image(image, 0))[..., 0], face)
    np.testing.assert_allclose(clf.embed([image]), clf.embed([face]), atol=1e-6)


@kind(8, "mode F images with values in [0, 255] or NaN", "refused: 'float images must be in [0, 1]'")
@pytest.mark.parametrize(
    "values", [lambda f: f.astype(np.float32), lambda f: np.where(f > 100, np.nan, 0.5).astype(np.float32)]
)
def test_mode_f_outside_unit_range_is_refused(clf, face_arrays, values):
    image = Image.fromarray(values(asymmetric_face()), mode="F")
    assert_item_fails_alone(
        clf,
        face_arrays[:2],
        image,
        r"mode F \(float\) image has values in .*float images must be in \[0, 1\]",
    )


@kind(
    8,
    "mode I with 8-bit values (a dark one too), mode I with 16-bit values, I;16 and a 16-bit TIFF",
    "8-bit as is (no contrast stretch), 16-bit divided by 65535 (equal to the float image)",
)
def test_integer_modes_have_documented_scales(clf, tmp_path):
    face = asymmetric_face()
    for pixels in (face, face // 3):  # a dark image stays dark
        as_8bit = Image.fromarray(pixels.astype(np.int32), mode="I")
        np.testing.assert_array_equal(np.asarray(to_rgb_image(as_8bit, 0))[..., 0], pixels)
    deep = face.astype(np.uint16) * 257  # 0..65535
    expected = np.asarray(to_rgb_image(deep / 65535.0, 0))
    for image in (Image.fromarray(deep.astype(np.int32), mode="I"), Image.fromarray(deep)):
        np.testing.assert_array_equal(np.asarray(to_rgb_image(image, 0)), expected)
    Image.fromarray(deep).save(tmp_path / "deep.tif")
    np.testing.assert_array_equal(np.asarray(to_rgb_image(str(tmp_path / "deep.tif"), 0)), expected)
    np.testing.assert_array_equal(np.asarray(expected)[..., 0], face)


@kind(8, "mode I with negative values or values over 65535", "refused with the rule")
def test_mode_i_out_of_range_is_refused(clf, face_arrays):
    image = Image.fromarray(asymmetric_face().astype(np.int32) * 1000 - 5, mode="I")
    assert_item_fails_alone(clf, face_arrays[:2], image, r"mode I image has values in \[-5, 254995\]")


# 11. Smaller ones ----------------------------------------------------------------------


@kind(
    11,
    "a set of paths, a dict, a DataFrame of paths",
    "refused: a set has no order, a DataFrame iterates its column names",
)
def test_unordered_and_tabular_collections_are_refused(clf, tmp_path, face_arrays):
    import pandas as pd

    paths = []
    for i in range(3):
        Image.fromarray(face_arrays[i]).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    with pytest.raises(ImageInputError, match="X is a set .*give a list"):
        clf.predict(set(paths))
    with pytest.raises(ImageInputError, match="X is a mapping"):
        clf.predict(dict.fromkeys(paths))
    frame = pd.DataFrame({"path": paths})
    with pytest.raises(ImageInputError, match=r"X is a DataFrame.* X=frame\['path'\]"):
        clf.predict(frame)
    np.testing.assert_array_equal(clf.predict(frame["path"]), clf.predict(paths))


@kind(11, "an empty (0, 48, 48) array and (0, 3, 48, 48) tensor", "ImageInputError: X is empty")
@pytest.mark.parametrize("X", [np.zeros((0, 48, 48), np.uint8), torch.zeros(0, 3, 48, 48)])
def test_empty_stack_is_refused(clf, X):
    with pytest.raises(ImageInputError, match="X is empty"):
        clf.predict(X)


@kind(
    11,
    "an animated GIF (3 frames) and a 2-page TIFF",
    "first frame used, with a MultiFrameWarning naming the file",
)
@pytest.mark.parametrize("suffix", [".gif", ".tif"])
def test_multi_frame_files_say_so(clf, tmp_path, face_arrays, suffix):
    frames = [Image.fromarray(face_arrays[i]) for i in range(3 if suffix == ".gif" else 2)]
    path = tmp_path / f"animated{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(
        MultiFrameWarning, match=f"animated{suffix}' has {len(frames)} frames; only the first is used"
    ):
        embedding = clf.embed([str(path)])
    Image.fromarray(face_arrays[0]).save(tmp_path / "first.png")
    np.testing.assert_allclose(embedding, clf.embed([str(tmp_path / "first.png")]), atol=1e-6)


@kind(11, "ImageInputError, MultiFrameWarning, CacheWriteWarning imported from clip_fer", "importable")
def test_error_types_are_importable_from_the_package():
    import clip_fer

    for name in ("ImageInputError", "SkippedImagesWarning", "CacheWriteWarning", "MultiFrameWarning"):
        assert name in clip_fer.__all__ and getattr(clip_fer, name).__module__ == "clip_fer.exceptions"


def test_check_image_sequence_keeps_lists_and_series():
    import pandas as pd

    assert check_image_sequence(pd.Series(["a.png", "b.png"])) == ["a.png", "b.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(check_image_sequence(np.zeros((5, 48, 48), np.uint8))) == 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_pipe_or_device_is_refused_without_reading_it(clf, tmp_path, face_arrays, monkeypatch):
    # A path that is not a regular file (a named pipe called photo.jpg, /dev/zero,
    # /dev/stdin) must not be read to key the cache: /dev/zero never ends, a pipe blocks.
    import clip_fer.backends._cache as cache

    read = []

    def no_read(path):
        read.append(path)  # content_key swallows errors: record the call instead
        raise OSError("not to be read")

    monkeypatch.setattr(cache, "_file_digest", no_read)
    pipe = tmp_path / "photo.jpg"
    os.mkfifo(pipe)
    assert cache.content_key(str(pipe)) is None
    if os.path.exists("/dev/zero"):
        assert cache.content_key("/dev/zero") is None
    assert read == []
    assert_item_fails_alone(clf, face_arrays[:3], str(pipe), "'.*photo.jpg' is not a regular file")
