"""PromptBank: expansion order, index arrays, validation messages, built-in banks."""

import numpy as np
import pytest
from sklearn.base import clone

from clip_fer import PromptBank
from clip_fer.exceptions import PromptBankError

TEMPLATES = ["a {} face", "this is ____ person"]
# Given out of sorted order, so that sorting the classes is observable.
SYNONYMS = {"sad": ["down"], "happy": ["glad", "joyful"]}


@pytest.fixture
def bank():
    return PromptBank(TEMPLATES, SYNONYMS).fit()


def test_classes_sorted_and_words_grouped_by_class(bank):
    assert list(bank.classes_) == ["happy", "sad"]
    assert bank.words_ == ("glad", "joyful", "down")
    np.testing.assert_array_equal(bank.word_class_, [0, 0, 1])
    assert bank.templates_ == tuple(TEMPLATES)


def test_expansion_is_template_major(bank):
    assert bank.sentences_ == (
        "a glad face",
        "a joyful face",
        "a down face",
        "this is glad person",
        "this is joyful person",
        "this is down person",
    )
    np.testing.assert_array_equal(bank.sentence_template_, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(bank.sentence_word_, [0, 1, 2, 0, 1, 2])
    n_words = len(bank.words_)
    for s, sentence in enumerate(bank.sentences_):
        assert bank.sentence_template_[s] == s // n_words
        assert bank.sentence_word_[s] == s % n_words
        template = bank.templates_[s // n_words]
        word = bank.words_[s % n_words]
        assert sentence == template.replace("{}", word).replace("____", word)


@pytest.mark.parametrize(
    "template, expected",
    [
        ("a {} face", "a glad face"),
        ("a ____ face", "a glad face"),
        ("a __ face", "a glad face"),
        ("{x} a {} face {0}", "{x} a glad face {0}"),
        ("{{ ____ }}", "{{ glad }}"),
    ],
)
def test_placeholder_spellings_and_other_braces(template, expected):
    bank = PromptBank([template], {"happy": ["glad"]}).fit()
    assert bank.sentences_ == (expected,)


@pytest.mark.parametrize(
    "templates, synonyms, match",
    [
        (["a face"], {"a": ["x"]}, r"Template 0 'a face' has 0 placeholders; it needs exactly one"),
        (["ok {}", "{} and ____"], {"a": ["x"]}, r"Template 1 '\{\} and ____' has 2 placeholders"),
        (["ok {}", 3], {"a": ["x"]}, r"^Template 1 must be a str\. Got int instead\.$"),
        ([], {"a": ["x"]}, r"^'templates' is empty; give at least one template\.$"),
        ("a {} face", {"a": ["x"]}, r"^'templates' must be a list of str\. Got 'a \{\} face'"),
        (["a {}", "a {}"], {"a": ["x"]}, r"^'templates' lists the same template twice\.$"),
        (["a {}"], {"a": ["x"], "b": []}, r"^Class 'b' has no words\. Give it at least one"),
        (
            ["a {}"],
            {"a": "x"},
            r"^The synonyms of class 'a' must be a list of words\. Got 'x' instead; write \['x'\]",
        ),
        (
            ["a {}"],
            {"a": ["x"], "b": ["y", "x"]},
            r"^The word 'x' is listed under both 'a' and 'b'; a word may stand for one class only\.$",
        ),
        (["a {}"], {"a": ["x", "x"]}, r"^The word 'x' is listed twice under 'a'; list it once\.$"),
        (["a {}"], {"a": ["x", ""]}, r"^Class 'a' has the word ''; every word must be a non-empty str\.$"),
        (
            ["a {}"],
            {"a": ["x", "  "]},
            r"^Class 'a' has the word '  '; every word must be a non-empty str\.$",
        ),
        (
            ["a {}"],
            {"a": ["x", None]},
            r"^Class 'a' has the word None; every word must be a non-empty str\.$",
        ),
        (["a {}"], {"a": ["x"], 1: ["y"]}, r"^Class names must be non-empty str\. Got 1 instead\.$"),
        (["a {}"], {}, r"^'synonyms' must be a non-empty dict of class name to words\. Got \{\} instead\.$"),
        (["a {}"], None, r"^'synonyms' is None while the other is given; give both"),
        (None, {"a": ["x"]}, r"^'templates' is None while the other is given; give both"),
    ],
    ids=[
        "no-placeholder",
        "two-placeholders",
        "non-str-template",
        "empty-templates",
        "bare-str-templates",
        "duplicate-template",
        "class-without-words",
        "bare-str-synonyms",
        "word-in-two-classes",
        "word-twice-in-class",
        "empty-word",
        "blank-word",
        "none-word",
        "non-str-class",
        "empty-synonyms",
        "only-templates",
        "only-synonyms",
    ],
)
def test_invalid_bank(templates, synonyms, match):
    bank = PromptBank(templates, synonyms)  # __init__ never validates
    with pytest.raises(PromptBankError, match=match):
        bank.fit()


def test_prompt_bank_error_is_a_value_error():
    with pytest.raises(ValueError):
        PromptBank([], {"a": ["x"]}).fit()


def test_report_best_keeps_report_spellings():
    bank = PromptBank.report_best().fit()
    assert len(bank.templates_) == 3
    assert len(bank.words_) == 21
    assert len(bank.sentences_) == 63
    assert list(bank.classes_) == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    for word in ("furios", "nervus", "fearness", "non emotinal"):
        assert word in bank.words_
    assert bank.templates_[0] == "person with ____ look "
    assert bank.sentences_[0] == "person with annoyed look "
    assert "this is non emotinal person" in bank.sentences_
    assert "A photo of a fearness face, a type of expression" in bank.sentences_


def test_report_best_corrected_spelling():
    bank = PromptBank.report_best(spelling="corrected").fit()
    original = PromptBank.report_best(spelling="original").fit()
    fixes = {"furios": "furious", "nervus": "nervous", "fearness": "fearful", "non emotinal": "non emotional"}
    assert bank.words_ == tuple(fixes.get(w, w) for w in original.words_)
    for bad, good in fixes.items():
        assert bad not in bank.words_ and good in bank.words_
    np.testing.assert_array_equal(bank.word_class_, original.word_class_)
    assert len(bank.sentences_) == 63


def test_report_best_bad_spelling():
    with pytest.raises(
        PromptBankError,
        match=r"^'spelling' must be 'original' or 'corrected'\. Got 'fixed' instead\.$",
    ):
        PromptBank.report_best(spelling="fixed")


def test_openai_fer2013():
    bank = PromptBank.openai_fer2013().fit()
    assert len(bank.templates_) == 6
    assert bank.templates_[0] == "a photo of a {} looking face."
    assert list(bank.classes_) == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    surprise = list(bank.classes_).index("surprise")
    assert [w for w, c in zip(bank.words_, bank.word_class_) if c == surprise] == [
        "surprised",
        "shocked",
        "spooked",
    ]
    assert len(bank.sentences_) == 6 * len(bank.words_)
    assert bank.sentences_[0] == "a photo of a angry looking face."


def test_default_equals_unparametrised_bank():
    default = PromptBank.default().fit()
    plain = PromptBank().fit()
    assert plain.templates_ == default.templates_
    assert plain.words_ == default.words_
    assert plain.sentences_ == default.sentences_
    np.testing.assert_array_equal(plain.classes_, default.classes_)
    np.testing.assert_array_equal(plain.word_class_, default.word_class_)
    assert "furious" in plain.words_


def test_gender():
    bank = PromptBank.gender().fit()
    assert list(bank.classes_) == ["female", "male"]
    assert bank.sentences_ == ("This is a photo of a female person", "This is a photo of a male person")


def test_clone_and_get_params():
    bank = PromptBank(TEMPLATES, SYNONYMS)
    params = bank.get_params()
    assert params == {"templates": TEMPLATES, "synonyms": SYNONYMS, "name": None}
    cloned = clone(bank)
    assert cloned is not bank
    assert cloned.get_params() == params
    assert not hasattr(cloned, "sentences_")
    assert PromptBank().get_params() == {"templates": None, "synonyms": None, "name": None}


def test_fit_does_not_mutate_params():
    templates = list(TEMPLATES)
    synonyms = {k: list(v) for k, v in SYNONYMS.items()}
    bank = PromptBank(templates, synonyms)
    bank.fit()
    assert bank.templates is templates and bank.synonyms is synonyms
    assert templates == TEMPLATES
    assert synonyms == SYNONYMS
    assert list(synonyms) == ["sad", "happy"]


def test_builtin_banks_are_named_after_their_source_and_read_as_such():
    from sklearn.model_selection import ParameterGrid

    from clip_fer import _vocabularies as vocab

    bank = PromptBank.report_best()
    assert repr(bank) == "PromptBank(name='report')" and repr(clone(bank)) == repr(bank)
    fitted = bank.fit()
    assert fitted.templates_ == tuple(vocab.REPORT_TEMPLATES)
    assert "furios" in fitted.words_  # the report's spelling
    assert "furious" in PromptBank.report_best(spelling="corrected").fit().words_
    assert PromptBank.default().fit().sentences_ == PromptBank().fit().sentences_
    # A search over built-in banks and a user's named bank reads by name, as sklearn's does.
    mine = PromptBank(["a {} face"], {"happy": ["glad"], "sad": ["sad"]}, name="mine")
    shown = [repr(p["prompt_bank"]) for p in ParameterGrid({"prompt_bank": [bank, mine]})]
    assert shown[0] == "PromptBank(name='report')" and shown[1].startswith("PromptBank(name='mine'")
    # The missing half of a vocabulary comes from the named built-in bank.
    edited = PromptBank(templates=["a {} one"], name="openai").fit()
    assert edited.templates_ == ("a {} one",) and edited.words_ == PromptBank.openai_fer2013().fit().words_


@pytest.mark.parametrize("name", ["nope", 3])
def test_a_name_that_is_no_builtin_needs_a_vocabulary(name):
    with pytest.raises((PromptBankError, ValueError), match="'name'|is not a built-in bank"):
        PromptBank(name=name).fit()


@pytest.mark.parametrize(
    "make",
    [PromptBank.default, PromptBank.openai_fer2013, lambda: PromptBank(["a {} face"], {"happy": ["glad"]})],
)
def test_vocabulary_gives_any_banks_words_to_edit(make):
    bank = make()
    templates, synonyms = bank.vocabulary()
    fitted = clone(bank).fit()
    assert tuple(templates) == fitted.templates_
    assert [w for c in sorted(synonyms) for w in synonyms[c]] == list(fitted.words_)
    synonyms[sorted(synonyms)[0]].append("zzz-new")  # fresh lists: the built-in bank is unchanged
    templates.append("{} zzz")
    assert bank.vocabulary() != (templates, synonyms)
    assert "zzz-new" in PromptBank(templates, synonyms).fit().words_
