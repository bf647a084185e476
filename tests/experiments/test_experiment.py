"""sample_prompt_banks, report_experiment_banks and report_experiment_configurations."""

import pytest

from clip_fer import (
    PromptBank,
    report_experiment_banks,
    report_experiment_configurations,
    sample_prompt_banks,
)
from clip_fer._vocabularies import REPORT_SYNONYM_POOL, REPORT_TEMPLATE_POOL
from clip_fer.exceptions import InvalidParameterError

TEMPLATE_POOL = [f"template {i} {{}}" for i in range(10)]
SYNONYM_POOL = {
    "b": [f"b{i}" for i in range(8)],
    "a": [f"a{i}" for i in range(6)],
}


def params(banks):
    return [(b.templates, b.synonyms) for b in banks]


def test_same_seed_same_banks():
    first = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 3, 2, n_draws=5, random_state=7)
    second = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 3, 2, n_draws=5, random_state=7)
    assert params(first) == params(second)


def test_different_seeds_differ():
    first = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 3, 2, n_draws=5, random_state=0)
    second = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 3, 2, n_draws=5, random_state=1)
    assert params(first) != params(second)


def test_draws_within_one_call_differ():
    banks = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 3, 2, n_draws=5, random_state=0)
    assert len({repr(p) for p in params(banks)}) > 1


def test_sizes_uniqueness_and_membership():
    banks = sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, 4, 3, n_draws=20, random_state=3)
    assert len(banks) == 20
    for bank in banks:
        assert isinstance(bank, PromptBank)
        assert not hasattr(bank, "sentences_")  # returned unfitted
        assert len(bank.templates) == 4 == len(set(bank.templates))
        assert set(bank.templates) <= set(TEMPLATE_POOL)
        # Pool order is kept.
        assert bank.templates == sorted(bank.templates, key=TEMPLATE_POOL.index)
        assert sorted(bank.synonyms) == ["a", "b"]
        for cls, words in bank.synonyms.items():
            assert len(words) == 3 == len(set(words))
            assert set(words) <= set(SYNONYM_POOL[cls])
            assert words == sorted(words, key=SYNONYM_POOL[cls].index)
        fitted = bank.fit()
        assert len(fitted.sentences_) == 4 * 3 * 2


def test_full_draw_takes_whole_pool():
    (bank,) = sample_prompt_banks(TEMPLATE_POOL, {"a": SYNONYM_POOL["a"]}, 10, 6, random_state=0)
    assert bank.templates == TEMPLATE_POOL
    assert bank.synonyms == {"a": SYNONYM_POOL["a"]}


@pytest.mark.parametrize(
    "n_templates, n_labels, n_draws, match",
    [
        (
            11,
            1,
            1,
            r"^The 'n_templates' parameter of sample_prompt_banks must be an int in \[1, 10\]\. Got 11 instead\.$",
        ),
        (
            0,
            1,
            1,
            r"'n_templates' parameter of sample_prompt_banks must be an int in \[1, 10\]\. Got 0 instead",
        ),
        (
            1,
            7,
            1,
            r"^The 'n_labels' parameter of sample_prompt_banks must be an int in \[1, 6\]\. Got 7 instead\.$",
        ),
        (1, 1, 0, r"'n_draws' parameter of sample_prompt_banks must be an int in \[1, inf\]\. Got 0 instead"),
        (
            2.0,
            1,
            1,
            r"'n_templates' parameter of sample_prompt_banks must be an int in \[1, 10\]\. Got 2\.0 instead",
        ),
    ],
)
def test_bad_sizes(n_templates, n_labels, n_draws, match):
    with pytest.raises(InvalidParameterError, match=match):
        sample_prompt_banks(TEMPLATE_POOL, SYNONYM_POOL, n_templates, n_labels, n_draws, random_state=0)


def test_report_experiment_banks():
    banks = report_experiment_banks()
    assert list(banks) == [f"{n} templates {n} labels {i}" for n in (1, 2, 3) for i in (1, 2, 3)]
    for name, bank in banks.items():
        n = int(name[0])
        fitted = bank.fit()
        assert len(fitted.templates_) == n
        assert set(fitted.templates_) <= set(REPORT_TEMPLATE_POOL)
        assert list(fitted.classes_) == sorted(REPORT_SYNONYM_POOL)
        for cls, words in bank.synonyms.items():
            assert len(words) == n and set(words) <= set(REPORT_SYNONYM_POOL[cls])
        assert len(fitted.sentences_) == n * n * 7


def test_report_experiment_banks_reproducible():
    assert params(report_experiment_banks().values()) == params(report_experiment_banks().values())
    assert params(report_experiment_banks(random_state=1).values()) != params(
        report_experiment_banks().values()
    )


def test_report_experiment_configurations():
    from clip_fer._vocabularies import REPORT_SPELLING_FIXES

    configurations = report_experiment_configurations()
    names = list(configurations)
    assert names[:4] == [
        "report: 3 templates 3 labels 1",
        "report: 3 templates 3 labels 1, corrected",
        "report: 1 templates 1 labels 1",
        "report: 3 templates 3 labels 3",
    ]
    assert names[-2:] == ["openai: FER2013 prompts", "baseline: a photo of a {} looking face."]
    draws = report_experiment_banks()
    assert names[4:13] == [f"draw: {name}" for name in draws]
    assert params(configurations[n] for n in names[4:13]) == params(draws.values())
    corrected = [n for n in names if n.startswith("draw: ") and n.endswith(", corrected")]
    assert corrected, "the default seed draws misspelled words"
    for name in corrected:
        twin = configurations[name.removesuffix(", corrected")]
        fixed = {
            cls: [REPORT_SPELLING_FIXES.get(w, w) for w in words] for cls, words in twin.synonyms.items()
        }
        assert configurations[name].synonyms == fixed != twin.synonyms
        assert configurations[name].templates == twin.templates
    # A draw without a misspelled word is not repeated under a corrected name.
    for name in draws:
        misspelled = any(w in REPORT_SPELLING_FIXES for ws in draws[name].synonyms.values() for w in ws)
        assert (f"draw: {name}, corrected" in configurations) == misspelled
    assert len(names) == 4 + 9 + len(corrected) + 2
    assert configurations["report: 1 templates 1 labels 1"].fit().sentences_[:2] == (
        "A photo of a outraged face, a type of expression",
        "A photo of a dislike face, a type of expression",
    )
    for bank in configurations.values():
        assert list(bank.fit().classes_) == sorted(REPORT_SYNONYM_POOL)


def test_report_experiment_configurations_seeded():
    assert params(report_experiment_configurations(random_state=3).values()) == params(
        report_experiment_configurations(random_state=3).values()
    )
    assert params(report_experiment_configurations(random_state=3).values()) != params(
        report_experiment_configurations().values()
    )
