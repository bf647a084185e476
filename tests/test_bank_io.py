"""save_prompt_bank / load_prompt_bank: JSON, built-in names, the report's dictionaries."""

import json

import numpy as np
import pytest
import torch

from clip_fer import BUILTIN_BANKS, PromptBank, load_prompt_bank, save_prompt_bank
from clip_fer.exceptions import PromptBankError

REPORT_DICT = {
    "emotions": {
        "labels": {"angry": ["annoyed", "furios"], "happy": ["glad"]},
        "templates": ["person with ____ look ", "this is ____ person"],
        "topk": 3,
    },
    "gender": {
        "labels": {"female": ["female"], "male": ["male"]},
        "templates": ["This is a photo of a ____ person"],
        "topk": 1,
    },
}


class NotADict:
    """Anything weights_only=True must refuse to unpickle."""


def assert_same_bank(a, b):
    assert a.templates_ == b.templates_
    assert a.words_ == b.words_
    assert a.sentences_ == b.sentences_
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_array_equal(a.word_class_, b.word_class_)


def test_json_round_trip_with_non_ascii(tmp_path):
    bank = PromptBank(
        ["ein {} Gesicht", "这是____的人"],
        {"surprise": ["überrascht", "erstaunt"], "angry": ["生气"]},
    ).fit()
    path = tmp_path / "bank.json"
    save_prompt_bank(bank, path)
    text = path.read_text(encoding="utf-8")
    assert "überrascht" in text and "生气" in text  # written as UTF-8, not \u escapes
    assert json.loads(text) == {
        "templates": ["ein {} Gesicht", "这是____的人"],
        "synonyms": {"angry": ["生气"], "surprise": ["überrascht", "erstaunt"]},
    }
    loaded = load_prompt_bank(path)
    assert_same_bank(loaded, bank)
    assert "这是生气的人" in loaded.sentences_
    assert load_prompt_bank(str(path)).words_ == ("生气", "überrascht", "erstaunt")


def test_save_unfitted_bank(tmp_path):
    path = tmp_path / "report.json"
    save_prompt_bank(PromptBank.report_best(), path)
    assert_same_bank(load_prompt_bank(path), PromptBank.report_best().fit())


@pytest.mark.parametrize("name", sorted(BUILTIN_BANKS))
def test_builtin_names_load(name):
    bank = load_prompt_bank(name)
    assert_same_bank(bank, BUILTIN_BANKS[name]().fit())


def test_builtin_names_content():
    assert set(BUILTIN_BANKS) == {
        "default",
        "report",
        "report-corrected",
        "openai",
        "baseline",
        "default-8",
        "baseline-8",
        "gender",
    }
    assert "furios" in load_prompt_bank("report").words_
    assert "furious" in load_prompt_bank("report-corrected").words_
    assert_same_bank(load_prompt_bank("default"), PromptBank().fit())
    assert len(load_prompt_bank("openai").templates_) == 6
    assert list(load_prompt_bank("gender").classes_) == ["female", "male"]
    baseline = load_prompt_bank("baseline")
    assert baseline.sentences_ == tuple(
        f"a photo of a {word} looking face."
        for word in ("angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
    )


def check_report_category(bank, category):
    entry = REPORT_DICT[category]
    assert bank.templates_ == tuple(entry["templates"])
    assert list(bank.classes_) == sorted(entry["labels"])
    assert bank.words_ == tuple(w for c in sorted(entry["labels"]) for w in entry["labels"][c])


@pytest.mark.parametrize("category", ["emotions", "gender"])
def test_report_dict_from_json(tmp_path, category):
    path = tmp_path / "3 templates 3 labels 1.json"
    path.write_text(json.dumps(REPORT_DICT), encoding="utf-8")
    check_report_category(load_prompt_bank(path, category=category), category)


@pytest.mark.parametrize("category", ["emotions", "gender"])
def test_report_dict_from_pt(tmp_path, category):
    path = tmp_path / "3 templates 3 labels 1.pt"
    torch.save(REPORT_DICT, path)
    check_report_category(load_prompt_bank(path, category=category), category)


def test_report_dict_default_category_is_emotions(tmp_path):
    path = tmp_path / "d.pt"
    torch.save(REPORT_DICT, path)
    assert list(load_prompt_bank(path).classes_) == ["angry", "happy"]


def test_pt_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"emotions": NotADict()}, path)
    with pytest.raises(
        PromptBankError,
        match=r"could not be read as a plain dictionary with torch\.load\(weights_only=True\)",
    ):
        load_prompt_bank(path)


@pytest.mark.parametrize(
    "content, match",
    [
        (
            {"templates": ["a {}"], "synonyms": {"a": ["x"]}, "topk": 3},
            r"has unknown keys \['topk'\] and lacks keys \[\]; a prompt bank has "
            r"'templates' and 'synonyms' \(and optionally 'name'\)\.$",
        ),
        ({"templates": ["a {}"]}, r"has unknown keys \[\] and lacks keys \['synonyms'\]"),
        (
            [1, 2],
            r"bank\.json must be a JSON object with keys 'templates' and 'synonyms'\. "
            r"Got list instead\.$",
        ),
        ({"templates": ["a face"], "synonyms": {"a": ["x"]}}, r"has 0 placeholders"),
    ],
    ids=["unknown-key", "missing-key", "non-object", "bad-template"],
)
def test_json_schema_errors(tmp_path, content, match):
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(PromptBankError, match=match):
        load_prompt_bank(path)


def test_invalid_json(tmp_path):
    path = tmp_path / "bank.json"
    path.write_text('{"templates": [', encoding="utf-8")
    with pytest.raises(PromptBankError, match=r"bank\.json is not valid JSON: "):
        load_prompt_bank(path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "bank.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PromptBankError, match=r"is not valid JSON"):
        load_prompt_bank(path)


@pytest.mark.parametrize("source", ["no-such-bank", "missing.json"])
def test_unknown_name_or_missing_file(tmp_path, source):
    with pytest.raises(
        PromptBankError,
        match=rf"^No prompt bank '{source}': it is neither a built-in name "
        r"\(default, report, report-corrected, openai, baseline, default-8, baseline-8, gender\) "
        r"nor an existing file\.$",
    ):
        load_prompt_bank(source)


def test_missing_file_path(tmp_path):
    with pytest.raises(PromptBankError, match=r"nor an existing file"):
        load_prompt_bank(tmp_path / "absent.pt")


@pytest.mark.parametrize("suffix", [".json", ".pt"])
def test_report_dict_without_category(tmp_path, suffix):
    data = {"gender": REPORT_DICT["gender"]}
    path = tmp_path / f"d{suffix}"
    if suffix == ".pt":
        torch.save(data, path)
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        PromptBankError,
        match=r"^The report dictionary has no category 'emotions'; it has \['gender'\]\.$",
    ):
        load_prompt_bank(path)


def test_report_dict_entry_lacks_labels(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"emotions": {"templates": ["a {}"], "topk": 3}}), encoding="utf-8")
    with pytest.raises(
        PromptBankError,
        match=r"^The report dictionary's 'emotions' entry lacks the key 'labels'\.$",
    ):
        load_prompt_bank(path)


def test_save_uses_current_params_not_a_stale_fit(tmp_path):
    bank = PromptBank(["this is {} person"], {"happy": ["glad"], "sad": ["sad"]}).fit()
    bank.set_params(synonyms={"happy": ["joyful"], "sad": ["sad"]})
    save_prompt_bank(bank, tmp_path / "b.json")
    assert load_prompt_bank(tmp_path / "b.json").words_ == ("joyful", "sad")
