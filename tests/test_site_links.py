"""tools/check_site_links.py finds every internal link of a built site that leads nowhere."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_site_links", ROOT / "tools" / "check_site_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


@pytest.fixture
def site(tmp_path):
    write(tmp_path / "index.html", '<h1 id="top">x</h1><a href="guide/">ok</a><a href="guide/#usage">ok</a>')
    write(
        tmp_path / "guide" / "index.html",
        '<h2 id="usage">u</h2><a name="old">n</a>'
        '<a href="../">home</a><a href="#old">ok</a><a href="../index.html#top">ok</a>'
        '<img src="../img/logo.png"><a href="https://example.org/missing">external</a>'
        '<a href="mailto:a@b.c">mail</a><a href="//cdn.example.org/x.js">cdn</a>',
    )
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.png").write_bytes(b"png")
    return tmp_path


def test_a_sound_site_passes(checker, site, capsys):
    assert checker.broken_links(site) == []
    assert checker.main([str(site)]) == 0 and "every internal link of 2 pages" in capsys.readouterr().out


def test_each_kind_of_broken_link_is_named(checker, site, capsys):
    write(
        site / "examples" / "tutorial" / "index.html",
        '<a href="faces.ipynb">a notebook link left as Jupyter reads it</a>'
        '<a href="../../guide/#nowhere">missing anchor</a>'
        '<a href="../../../../etc/passwd">outside</a><script src="../../js/app.js"></script>'
        '<a href="#">top of page</a><a href="../../guide/">ok</a>',
    )
    found = {(page.relative_to(site).as_posix(), link, why) for page, link, why in checker.broken_links(site)}
    page = "examples/tutorial/index.html"
    assert found == {
        (page, "faces.ipynb", "no such page or file"),
        (page, "../../guide/#nowhere", "no anchor #nowhere in guide/index.html"),
        (page, "../../../../etc/passwd", "points outside the site"),
        (page, "../../js/app.js", "no such page or file"),
    }
    assert checker.main([str(site)]) == 1
    out = capsys.readouterr().out
    assert f"{page}: faces.ipynb (no such page or file)" in out


def test_an_empty_folder_is_refused(checker, tmp_path):
    with pytest.raises(SystemExit, match="no .html files"):
        checker.broken_links(tmp_path)
