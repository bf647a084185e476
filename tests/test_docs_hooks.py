"""The docs site's generated pages cover every public name and every command."""

import importlib.util
from pathlib import Path

import pytest

import clip_fer
from clip_fer.cli import build_parser

pytest.importorskip("mkdocs")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_has_every_public_name_once(hooks):
    pages = hooks._api_pages()
    text = "\n".join(markdown for _, markdown in pages.values())
    for name, module in clip_fer._EXPORTS.items():
        assert text.count(f"::: clip_fer{module}.{name}\n") == 1, name
    for module in ("datasets", "metrics", "plotting"):
        assert f"::: clip_fer.{module}\n" in text
    assert pages["reference/estimator.md"][1].index("ZeroShotEmotionClassifier") < pages[
        "reference/estimator.md"
    ][1].index("load_prompt_bank")


def test_a_new_export_gets_a_page(hooks, monkeypatch):
    monkeypatch.setitem(clip_fer._EXPORTS, "read_video", ".video._reader")
    pages = hooks._api_pages()
    assert "::: clip_fer.video._reader.read_video" in pages["reference/video.md"][1]


def test_cli_reference_is_the_help_of_every_command(hooks):
    page = hooks._cli_page()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "predict" in a.choices).choices
    assert set(commands) >= {"predict", "evaluate", "experiment"}
    for name, sub in commands.items():
        assert f"## clip-fer {name}\n" in page
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in page, (name, flag)


def test_sphinx_roles_render_as_code(hooks):
    html = "see :class:<code>PromptBank</code> and :func:<code>~clip_fer.predict_faces</code>"
    assert (
        hooks.on_page_content(html, None, None, None)
        == "see <code>PromptBank</code> and <code>clip_fer.predict_faces</code>"
    )


def test_a_link_between_notebooks_leads_to_the_notebook_page(hooks):
    from types import SimpleNamespace

    from mkdocs.structure.files import File

    def notebook_page(name):  # mkdocs-jupyter turns examples/NAME.ipynb into the page examples/NAME/
        page = File(f"examples/{name}.md", str(ROOT), "site", use_directory_urls=True)
        page.src_uri = f"examples/{name}.ipynb"  # keeping its page URL
        page.url = f"examples/{name}/"
        return page

    files = {f"examples/{n}.ipynb": notebook_page(n) for n in ("tutorial", "faces")}
    page = SimpleNamespace(file=files["examples/tutorial.ipynb"])
    lookup = SimpleNamespace(get_file_from_path=files.get)
    html = '<a href="faces.ipynb">faces</a> <a href="faces.ipynb#top">top</a> <a href="other.ipynb">x</a>'
    assert hooks.on_page_content(html, page, None, lookup) == (
        '<a href="../faces/">faces</a> <a href="../faces/#top">top</a> <a href="other.ipynb">x</a>'
    )
