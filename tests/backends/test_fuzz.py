"""Property-based tests: any bank or input gives a result or a documented exception."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from clip_fer import PromptBank
from clip_fer.backends._images import check_image_sequence, to_rgb_image
from clip_fer.exceptions import ImageInputError, PromptBankError

text = st.text(max_size=12)
templates = st.one_of(
    st.lists(st.one_of(text, st.builds(lambda a, b: f"{a}{{}}{b}", text, text),
                       st.builds(lambda a, b: f"{a}____{b}", text, text)), max_size=4),
    text, st.none(), st.integers(),
)
words = st.one_of(st.lists(st.one_of(text, st.integers(), st.none()), max_size=4), text, st.none())
synonyms = st.one_of(
    st.dictionaries(st.one_of(text, st.integers()), words, max_size=4), st.lists(text), st.none(), text
)
# Well-formed shapes with arbitrary text, so that valid banks are drawn often too.
placeholder_templates = st.lists(st.builds(lambda a, b: f"{a} {{}} {b}", text, text), min_size=1, max_size=3)
letters = st.text(st.characters(categories=["L"]), min_size=1, max_size=8)  # any script
word_lists = st.dictionaries(letters, st.lists(letters, min_size=1, max_size=3, unique=True), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(templates, synonyms), st.tuples(placeholder_templates, word_lists)))
def test_prompt_bank_is_valid_or_a_prompt_bank_error(args):
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


dtypes = st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_, np.complex64])
image_arrays = st.one_of(
    arrays(dtypes, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6)),
    arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 8)), elements=st.floats(0, 1, width=32)),
    arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 3, 4]))),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_arrays, st.booleans())
def test_any_array_is_an_rgb_image_or_an_image_error(array, as_tensor):
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
@given(st.one_of(text, st.none(), st.integers(), st.lists(st.none(), max_size=3),
                 arrays(np.uint8, array_shapes(min_dims=0, max_dims=5, max_side=3))))
def test_any_collection_is_a_sequence_or_an_image_error(X):
    try:
        images = check_image_sequence(X)
    except ImageInputError:
        return
    assert len(images) > 0
