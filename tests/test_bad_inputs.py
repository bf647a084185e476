"""Every kind of bad input the issue tracker lists, and what each one gets.

Run ``python tests/test_bad_inputs.py`` to print the table in docs/bad-inputs.md.
"""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from clip_fer import PromptBank, RankVoteDecider, ZeroShotEmotionClassifier
from clip_fer.exceptions import ImageInputError, PromptBankError

FACE = np.kron(np.arange(36, dtype=np.uint8).reshape(6, 6) * 7, np.ones((8, 8), np.uint8))


def _jpeg_bytes():
    buffer = io.BytesIO()
    Image.fromarray(FACE).save(buffer, format="JPEG")
    return buffer.getvalue()


def _write(tmp, name, data):
    path = tmp / name
    path.write_bytes(data)
    return str(path)


def _image_file(tmp, name, image, **kwargs):
    path = tmp / name
    image.save(path, **kwargs)
    return str(path)


def _bomb(tmp):
    # A PNG whose header claims more pixels than Pillow's decompression-bomb limit.
    size = int((Image.MAX_IMAGE_PIXELS * 2.5) ** 0.5)
    return _image_file(tmp, "bomb.png", Image.new("1", (size, size)))


# (description, make(tmp) -> input item, outcome): outcome is "predicted" or the
# start of the ImageInputError reason.
IMAGE_CASES = [
    ("missing path", lambda t: str(t / "nope.jpg"), "file '.*nope.jpg' does not exist"),
    ("zero-byte file", lambda t: _write(t, "empty.jpg", b""), r"file '.*empty.jpg' is empty \(0 bytes\)"),
    (
        "truncated JPEG",
        lambda t: _write(t, "cut.jpg", _jpeg_bytes()[:200]),
        "file '.*cut.jpg' is truncated or corrupt",
    ),
    (
        "text file named .jpg",
        lambda t: _write(t, "notes.jpg", b"hello, not a picture"),
        "file '.*notes.jpg' is not an image format Pillow can read",
    ),
    (
        "decompression bomb",
        _bomb,
        r"file '.*bomb.png' is too large to decode safely .*raise PIL.Image.MAX_IMAGE_PIXELS",
    ),
    ("CMYK JPEG", lambda t: _image_file(t, "cmyk.jpg", Image.fromarray(FACE).convert("CMYK")), "predicted"),
    (
        "16-bit PNG",
        lambda t: _image_file(t, "deep.png", Image.fromarray(FACE.astype(np.uint16) * 257)),
        "predicted",
    ),
    (
        "palette with transparency",
        lambda t: _image_file(t, "p.png", Image.fromarray(FACE).convert("P"), transparency=0),
        "predicted",
    ),
    ("RGBA PNG", lambda t: _image_file(t, "rgba.png", Image.fromarray(FACE).convert("RGBA")), "predicted"),
    ("1x1 image", lambda t: Image.new("RGB", (1, 1), (200, 10, 10)), "predicted"),
    ("float64 array in [0, 1]", lambda t: FACE / 255.0, "predicted"),
    ("array of dtype int64", lambda t: FACE.astype(np.int64), "array of dtype int64 is not supported"),
    ("array of dtype bool", lambda t: FACE > 100, "array of dtype bool is not supported"),
    ("array with NaN", lambda t: np.where(FACE > 100, np.nan, 0.5), "float array contains NaN or infinity"),
    (
        "float array outside [0, 1]",
        lambda t: FACE.astype(np.float32),
        r"float array has values in \[0, 245\]; float images must be in \[0, 1\]",
    ),
    (
        "array of shape (48, 48, 2)",
        lambda t: np.zeros((48, 48, 2), np.uint8),
        r"array of shape \(48, 48, 2\) is not an image",
    ),
    (
        "array of shape (2, 48, 48, 3)",
        lambda t: np.zeros((2, 48, 48, 3), np.uint8),
        r"array of shape \(2, 48, 48, 3\) is not an image",
    ),
    ("empty array", lambda t: np.zeros((0, 0), np.uint8), r"array of shape \(0, 0\) is not an image"),
    ("a dict", lambda t: {"path": "face.jpg"}, "items of type dict are not images"),
    ("None", lambda t: None, "items of type NoneType are not images"),
]


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    import torch
    from conftest import build_toy_clip

    path = tmp_path_factory.mktemp("m") / "toy.pt"
    torch.save(build_toy_clip().state_dict(), path)
    return ZeroShotEmotionClassifier(model=str(path), cache=False).fit()


@pytest.mark.parametrize("description, make, outcome", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_each_bad_image_in_a_mixed_batch(clf, tmp_path, description, make, outcome):
    item = make(tmp_path)
    batch = [FACE, str(_image_file(tmp_path, "good.png", Image.fromarray(FACE))), item, FACE]
    if outcome == "predicted":
        assert all(label in clf.classes_ for label in clf.predict(batch))
        return
    with pytest.raises(ImageInputError, match=f"Image at index 2: {outcome}"):
        clf.predict(batch)
    skipping = clf.set_params(on_error="skip")
    try:
        with pytest.warns(UserWarning, match="1 of 4 inputs were skipped"):
            labels = skipping.predict(batch)
    finally:
        clf.set_params(on_error="raise")
    assert labels[2] is None and all(label in clf.classes_ for label in labels[[0, 1, 3]])


def test_empty_input_list(clf):
    with pytest.raises(ImageInputError, match="X is empty"):
        clf.predict([])


def test_labels_unknown_to_the_bank(clf):
    with pytest.raises(
        ValueError, match=r"y has labels \['bored', 'contempt'\] that the prompt bank does not know"
    ):
        ZeroShotEmotionClassifier(model=clf.model).fit(None, ["happy", "contempt", "bored"])


@pytest.mark.parametrize(
    "templates, synonyms, message",
    [
        (["this is {} person"], {"happy": [], "sad": ["sad"]}, "Class 'happy' has no words"),
        (["{} and {}"], {"happy": ["glad"]}, "has 2 placeholders"),
        (["this is {} person"], {"happy": ["glad"], "sad": ["glad"]}, "listed under both"),
    ],
)
def test_malformed_banks(clf, templates, synonyms, message):
    with pytest.raises(PromptBankError, match=message):
        ZeroShotEmotionClassifier(model=clf.model, prompt_bank=PromptBank(templates, synonyms)).fit()


def test_non_ascii_words_encode(clf):
    bank = PromptBank(
        ["ein {} Gesicht", "一张{}的脸"], {"happy": ["fröhliches", "开心"], "sad": ["trauriges", "悲伤"]}
    )
    fitted = ZeroShotEmotionClassifier(
        model=clf.model, prompt_bank=bank, decider=RankVoteDecider(top_k=2)
    ).fit()
    assert fitted.text_features_.shape == (8, 32) and np.isfinite(fitted.text_features_).all()


def test_sentence_longer_than_77_tokens(clf):
    bank = PromptBank(["a " * 80 + "{} face"], {"happy": ["glad"], "sad": ["sad"]})
    with pytest.raises(PromptBankError, match="longer than the model's 77-token context"):
        ZeroShotEmotionClassifier(model=clf.model, prompt_bank=bank, decider=RankVoteDecider(top_k=2)).fit()


def markdown_table():
    """The outcome of every image case, measured now, as a markdown table."""
    import tempfile
    import warnings

    import torch
    from conftest import build_toy_clip

    tmp = Path(tempfile.mkdtemp())
    torch.save(build_toy_clip().state_dict(), tmp / "toy.pt")
    raising = ZeroShotEmotionClassifier(model=str(tmp / "toy.pt"), cache=False).fit()
    rows = ['| input | `on_error="raise"` | `on_error="skip"` |', "|---|---|---|"]
    for description, make, _ in IMAGE_CASES:
        batch = [FACE, make(tmp), FACE]
        try:
            raising.predict(batch)
            raised = "predicted"
        except ImageInputError as exc:
            raised = f"`ImageInputError`: {exc}".replace(str(tmp), "…").replace("|", "\\|")
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            skipped = raising.set_params(on_error="skip").predict(batch)
        raising.set_params(on_error="raise")
        rows.append(
            f"| {description} | {raised} | {'`None`, warning' if skipped[1] is None else 'predicted'} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
