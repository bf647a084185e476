"""docs/bad-inputs.md lists every kind of issue 10 and every test filed under one
(the section is written by ``tools/bad_inputs_table.py --write``)."""

import importlib.util
import re
from pathlib import Path

import pytest
from real_inputs import KINDS

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "backends.test_real_inputs_images",
    "backends.test_real_inputs_cache",
    "faces.test_faces_real_inputs",
    "test_real_inputs_scoring",
    "cli.test_cli_real_inputs",
    "backends.test_fuzz",
    "test_real_inputs_core",
    "backends.test_model_identity",
    "backends.test_open_seam",
    "test_parquet_resume",
]


def _filed_tests():
    found = {}
    for name in MODULES:
        module = _load(name)
        for attribute in vars(module).values():
            filed = getattr(attribute, "real_input", None)
            if filed:
                found[f"{name.split('.')[-1]}::{attribute.__name__}"] = filed[0]
    return found


def _load(dotted):
    path = ROOT / "tests" / (dotted.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(dotted.split(".")[-1] + "_for_doc", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def section():
    text = (ROOT / "docs" / "bad-inputs.md").read_text()
    match = re.search(r"<!-- real-inputs:start -->(.*)<!-- real-inputs:end -->", text, re.S)
    assert match, "docs/bad-inputs.md lacks the generated section; run tools/bad_inputs_table.py --write"
    return match.group(1)


def test_every_kind_has_a_heading_and_a_test(section):
    for number, title in KINDS.items():
        assert f"### {number}. {title}" in section
    filed = _filed_tests()
    assert set(filed.values()) == set(KINDS)


def test_every_filed_test_is_in_the_table_under_its_kind(section):
    parts = re.split(r"^### (\d+)\. .*$", section, flags=re.M)
    by_kind = {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}
    for test, number in _filed_tests().items():
        assert f"`{test}`" in by_kind[number], f"{test} is not listed under kind {number}; regenerate the doc"


def test_counts_line_is_consistent(section):
    match = re.search(
        r"\*\*(\d+) of (\d+) kinds tested, (\d+) cases, (\d+) passed; (\d+) hypothesis examples\*\*", section
    )
    assert match
    kinds, total, cases, passed, examples = map(int, match.groups())
    assert kinds == total == len(KINDS) and cases == passed
    rows = re.findall(r"\| (\d+) \((\d+)\) \| `", section)
    assert sum(int(ran) for ran, _ in rows) == cases and sum(int(ok) for _, ok in rows) == passed
    assert examples >= 1000
