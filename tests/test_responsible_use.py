"""The README and docs link the responsible-use page and advertise no prohibited use."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Scenarios of inferring emotions at work or in education (EU AI Act Art. 5(1)(f)).
SCENARIO = re.compile(r"\b(teachers?|classrooms?|lessons?|students?|pupils?|employees?|workplaces?)\b", re.I)
# Pages that name those words to say they are prohibited, or that record history.
ALLOWED = {"responsible-use.md", "changelog.md"}


def test_the_readme_and_the_site_link_the_responsible_use_page():
    assert "docs/responsible-use.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "responsible-use.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "responsible-use.md").read_text(encoding="utf-8")
    assert "2024/1689" in page and "5(1)(f)" in page and "2 February 2025" in page


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in ALLOWED], ids=lambda p: p.name)
def test_no_page_advertises_work_or_education_scenarios(page):
    text = page.read_text(encoding="utf-8")
    hits = [line.strip() for line in text.splitlines() if SCENARIO.search(line)]
    assert not hits, f"{page.name} describes a work or education scenario: {hits}"


def test_no_example_file_is_named_after_one():
    names = [p.name for p in (ROOT / "examples").iterdir()]
    assert not [n for n in names if SCENARIO.search(n.replace("_", " ").replace("-", " "))]
