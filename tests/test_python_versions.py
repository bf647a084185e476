"""The Python versions clip-fer claims are the ones its tests run on.

pyproject.toml's ``requires-python``, its classifiers, tox's envlist, the CI script,
mypy's and ruff's target versions must name the same lowest version, and this test
run must be on a claimed version. (The suite runs on 3.11: torch wheels for other
versions are not in this project's CI cache.)
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lowest():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    match = re.fullmatch(r">=\s*3\.(\d+)", project["project"]["requires-python"])
    assert match, "requires-python must be a lower bound '>=3.N'"
    return 3, int(match.group(1))


def test_every_place_names_the_tested_version():
    major, minor = _lowest()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    claimed = [
        tuple(map(int, c.rsplit(" ", 1)[-1].split(".")))
        for c in project["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert claimed and min(claimed) == (major, minor)
    tox = (ROOT / "tox.ini").read_text()
    envs = re.search(r"^envlist\s*=\s*(.+)$", tox, re.M).group(1)
    tested = sorted(int(v) for v in re.findall(r"\bpy3(\d+)\b", envs))
    assert tested and tested[0] == minor, "tox's lowest pyXY must be requires-python's version"
    assert sorted(minor for _, minor in claimed) == tested, "classifiers and tox envs must agree"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(rf"^PYTHON=python3\.{minor}$", ci, re.M)
    assert project["tool"]["mypy"]["python_version"] == f"3.{minor}"
    assert project["tool"]["ruff"]["target-version"] == f"py3{minor}"


def test_this_run_is_on_a_claimed_version():
    assert sys.version_info[:2] >= _lowest()
