"""Property-based tests: any bank or input gives a result or a documented exception.

``EXAMPLES`` counts the examples each test ran (``tools/bad_inputs_table.py``
reports the totals in docs/bad-inputs.md).
"""

import io
from collections import Counter

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image
from real_inputs import kind, upright_to_stored

from clip_fer import PromptBank
from clip_fer.backends._images import check_image_sequence, to_rgb_image
from clip_fer.exceptions import ImageInputError, PromptBankError

EXAMPLES = Counter()

text = st.text(max_size=12)
templates = st.one_of(
    st.lists(
        st.one_of(
            text,
            st.builds(lambda a, b: f"{a}{{}}{b}", text, text),
            st.builds(lambda a, b: f"{a}____{b}", text, text),
        ),
        max_size=4,
    ),
    text,
    st.none(),
    st.integers(),
)
words = st.one_of(st.lists(st.one_of(text, st.integers(), st.none()), max_size=4), text, st.none())
synonyms = st.one_of(
    st.dictionaries(st.one_of(text, st.integers()), words, max_size=4), st.lists(text), st.none(), text
)
# Well-formed shapes with arbitrary text, so that valid banks are drawn often too.
placeholder_templates = st.lists(st.builds(lambda a, b: f"{a} {{}} {b}", text, text), min_size=1, max_size=3)
letters = st.text(st.characters(categories=["L"]), min_size=1, max_size=8)  # any script
word_lists = st.dictionaries(
    letters, st.lists(letters, min_size=1, max_size=3, unique=True), min_size=1, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(templates, synonyms), st.tuples(placeholder_templates, word_lists)))
def test_prompt_bank_is_valid_or_a_prompt_bank_error(args):
    EXAMPLES["prompt banks"] += 1
    templates, synonyms = args
    try:
        bank = PromptBank(templates, synonyms).fit()
    except PromptBankError:
        event("PromptBankError")
        return
    event("valid bank")
    n_words = len(bank.words_)
    assert len(bank.sentences_) == len(bank.templates_) * n_words
    assert list(bank.classes_) == sorted(bank.classes_)
    assert bank.word_class_.max() == len(bank.classes_) - 1
    for s, sentence in enumerate(bank.sentences_):
        assert bank.words_[bank.sentence_word_[s]] in sentence


dtypes = st.sampled_from(
    [np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_, np.complex64]
)
image_arrays = st.one_of(
    arrays(dtypes, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)),
    arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 8)), elements=st.floats(0, 1, width=32)),
    arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 3, 4]))),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_arrays, st.booleans())
def test_any_array_is_an_rgb_image_or_an_image_error(array, as_tensor):
    EXAMPLES["arrays and tensors as items"] += 1
    item = array
    if as_tensor and array.dtype not in (np.uint16, np.complex64):
        item = torch.from_numpy(np.ascontiguousarray(array))
    try:
        image = to_rgb_image(item, 3)
    except ImageInputError as exc:
        assert exc.index == 3 and str(exc).startswith("Image at index 3: ")
        event("ImageInputError")
        return
    event("RGB image")
    assert image.mode == "RGB" and image.width >= 1 and image.height >= 1


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        text,
        st.none(),
        st.integers(),
        st.lists(st.none(), max_size=3),
        arrays(np.uint8, array_shapes(min_dims=0, max_dims=5, max_side=3)),
    )
)
def test_any_collection_is_a_sequence_or_an_image_error(X):
    EXAMPLES["collections"] += 1
    try:
        images = check_image_sequence(X)
    except ImageInputError:
        return
    assert len(images) > 0


# Issue 10: PIL modes, EXIF tags, cache files and array shapes -----------------------------

MODES = [
    "1",
    "L",
    "P",
    "RGB",
    "RGBA",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "F",
    "LA",
    "La",
    "PA",
    "RGBa",
    "RGBX",
    "I;16",
    "I;16L",
    "I;16B",
    "I;16N",
]


@kind(
    7,
    "hypothesis: random pixels in every PIL mode (20 modes), random sizes",
    "an RGB image or ImageInputError, never another exception",
)
@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MODES), st.integers(1, 12), st.integers(1, 12), st.binary(min_size=0, max_size=2000))
def test_any_pil_mode_is_an_rgb_image_or_an_image_error(mode, width, height, noise):
    EXAMPLES["PIL modes"] += 1
    image = Image.new(mode, (width, height))
    raw = image.tobytes()
    data = (noise * (len(raw) // max(len(noise), 1) + 1))[: len(raw)] if noise else raw
    image.frombytes(data)
    try:
        rgb = to_rgb_image(image, 2)
    except ImageInputError as exc:
        assert exc.index == 2
        event(f"ImageInputError ({mode})")
        return
    assert rgb.mode == "RGB" and rgb.size == (width, height)


@kind(
    1,
    "hypothesis: random images saved as PNG with EXIF Orientation 0..12 (any value, valid or not)",
    "the upright pixels (1..8) or the stored ones (other values)",
)
@settings(max_examples=120, deadline=None)
@given(st.integers(0, 12), arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_any_exif_orientation_reads_as_a_viewer_shows(orientation, upright):
    EXAMPLES["EXIF tags"] += 1
    valid = 1 <= orientation <= 8
    stored = upright_to_stored(upright, orientation) if valid else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format="PNG", exif=exif)
    buffer.seek(0)
    with Image.open(buffer) as opened:
        rgb = np.asarray(to_rgb_image(opened, 0))
    np.testing.assert_array_equal(rgb[..., 0], upright)


@kind(
    3,
    "hypothesis: a valid cache entry with random byte flips, truncations and appended bytes",
    "the original embedding or None (discarded), never anything else",
)
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
    st.one_of(st.none(), st.integers(0, 200)),
    st.binary(max_size=8),
)
def test_any_damaged_cache_entry_is_exact_or_discarded(flips, cut, tail):
    from clip_fer.backends._cache import _decode, _encode

    EXAMPLES["cache files"] += 1
    value = np.random.default_rng(len(flips)).standard_normal(32).astype(np.float32)
    value /= np.linalg.norm(value)
    original = _encode(value, "model", "key")
    data = bytearray(original)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    data = bytes(data[:cut] if cut is not None else data) + tail
    decoded = _decode(data, "model", "key", 32)
    if decoded is None:
        event("discarded")
        return
    event("intact")
    np.testing.assert_array_equal(decoded, value)
    assert data == original  # any change at all is caught


@kind(
    5,
    "hypothesis: arrays and tensors of 0-5 dimensions and any sides as X",
    "refused, or a stack whose items are never a single image's rows",
)
@settings(max_examples=200, deadline=None)
@given(array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6), st.booleans())
def test_any_array_shape_as_x_is_a_stack_or_refused(shape, as_tensor):
    EXAMPLES["array shapes as X"] += 1
    X = np.zeros(shape, np.uint8)
    if as_tensor:
        X = torch.from_numpy(X)
    try:
        images = check_image_sequence(X)
    except ImageInputError:
        event("refused")
        return
    event("stack")
    assert len(shape) in (3, 4) and shape[0] > 0
    if len(shape) == 3:  # a 3-D stack: no axis could be one image's channels
        assert shape[0] not in (1, 3, 4) and shape[-1] not in (1, 3, 4)
    assert len(images) == shape[0]
