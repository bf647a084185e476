"""MkDocs hooks: pages generated from the code, so that they never fall behind it.

- ``reference/cli.md``: the ``--help`` of ``clip-fer`` and of every subcommand, from
  ``clip_fer.cli.build_parser()`` (a new command appears without editing anything).
- ``reference/<group>.md``: one mkdocstrings entry per public name of ``clip_fer``
  (the lazy ``_EXPORTS`` table), grouped by the subpackage that defines it, plus the
  public modules ``clip_fer.datasets``, ``clip_fer.metrics`` and ``clip_fer.plotting``.
  The pages are added to the "API reference" section of the navigation.
- ``examples/*.ipynb``: the notebooks, added as pages for mkdocs-jupyter to render.
- Sphinx roles left in docstrings (``:class:`X```) are shown as code.
"""

import argparse
import io
import os
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document the checkout, not an installed copy

# Subpackage (first component of the defining module) -> (page, title, intro).
_GROUPS = {
    "": (
        "estimator",
        "Estimator and components",
        "The classifier, its components (prompt banks, folding, deciders) and bank files.",
    ),
    "backends": (
        "backends",
        "Models and caches",
        "Loading models (cached once per process) and the embedding cache.",
    ),
    "faces": ("faces", "Faces", "Face detection, cropping, per-face predictions and drawing."),
    "experiments": ("experiments", "Experiments", "The report's prompt experiment; benchmarks."),
    "exceptions": (
        "exceptions",
        "Exceptions and warnings",
        "Every error clip-fer raises derives from `ClipFerError`.",
    ),
}
_MODULE_PAGES = {
    "datasets": "Data sets (clip_fer.datasets)",
    "metrics": "Metrics (clip_fer.metrics)",
    "plotting": "Plotting (clip_fer.plotting)",
}
# Order of the modules on their page (others follow, by name).
_MODULE_ORDER = ["._classifier", "._prompt_bank", "._folding", "._deciders", "._vocabularies", "._bank_io"]
_NOTEBOOKS = {"examples/tutorial.ipynb": "Tutorial", "examples/faces.ipynb": "Faces in a group photo"}
_API_SECTION = "API reference"
_NOTEBOOK_LINK = re.compile(r'href="([\w.-]+)\.ipynb(#[^"]*)?"')
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>~?([^<]+)</code>")


def _api_pages():
    """{src_uri: (title, markdown)} for the API reference."""
    import clip_fer

    groups = {}

    def order(item):
        name, module = item
        rank = _MODULE_ORDER.index(module) if module in _MODULE_ORDER else len(_MODULE_ORDER)
        return rank, module, name

    for name, module in sorted(clip_fer._EXPORTS.items(), key=order):
        parts = module.lstrip(".").split(".")
        group = parts[0] if len(parts) > 1 or parts[0] == "exceptions" else ""
        groups.setdefault(group, []).append((name, f"clip_fer{module}"))
    pages = {}
    for group, names in groups.items():
        slug, title, intro = _GROUPS.get(group, (group, group.capitalize(), ""))
        lines = [f"# {title}", "", intro, ""]
        for name, module in names:
            lines += [f"::: {module}.{name}", "    options:", f"      heading: {name}", ""]
        pages[f"reference/{slug}.md"] = (title, "\n".join(lines))
    for module, title in _MODULE_PAGES.items():
        pages[f"reference/{module}.md"] = (
            title,
            f"# {title}\n\n::: clip_fer.{module}\n    options:\n      show_root_heading: false\n",
        )
    return pages


def _cli_page():
    """The help of ``clip-fer`` and of each subcommand, as the terminal shows it."""
    from clip_fer.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width
    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "`clip-fer COMMAND --help` prints the same text. Exit codes: 0 success, 1 failure "
        "(one line `clip-fer: error: ...` on stderr), 2 bad arguments.",
        "",
        "## clip-fer",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                lines += [f"## clip-fer {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def on_config(config):
    """Fill the "API reference" section of the navigation with the generated pages."""
    config["_clip_fer_api"] = _api_pages()
    for entry in config["nav"] or []:
        if isinstance(entry, dict) and _API_SECTION in entry:
            entry[_API_SECTION] = [{title: uri} for uri, (title, _) in config["_clip_fer_api"].items()]
    return config


@event_priority(100)  # before mkdocs-jupyter looks for notebooks
def on_files(files, config):
    use_urls = config["use_directory_urls"]
    site = config["site_dir"]
    generated = {uri: text for uri, (_, text) in config["_clip_fer_api"].items()}
    with redirect_stdout(io.StringIO()):
        generated["reference/cli.md"] = _cli_page()
    for uri, text in generated.items():
        files.append(File.generated(config, uri, content=text))
    for uri in _NOTEBOOKS:
        if (ROOT / uri).is_file():
            files.append(File(uri, str(ROOT), site, use_urls))
    return files


def _notebook_links(html, page, files):
    """On a notebook's page, a link to a sibling notebook (``faces.ipynb``, as Jupyter
    and GitHub read it) becomes a link to that notebook's page."""

    def page_of(match):
        target = files.get_file_from_path(f"examples/{match[1]}.ipynb")
        if target is None:
            return match[0]
        return f'href="{target.url_relative_to(page.file)}{match[2] or ""}"'

    return _NOTEBOOK_LINK.sub(page_of, html)


def on_page_content(html, page, config, files):
    if page is not None and page.file.src_uri in _NOTEBOOKS:
        html = _notebook_links(html, page, files)
    return _ROLE.sub(r"<code>\1</code>", html)
