"""Tables and figures for evaluations: pandas, tabulate and matplotlib, all optional.

They are the ``report`` extra (``pip install "clip-fer[report]"``); nothing here is
imported by ``import clip_fer``. Figures are drawn on ``matplotlib.figure.Figure``
objects, never through pyplot's global state, so a notebook's figures are left alone.
"""

import importlib

from ..utils._install import install_hint

__all__ = [
    "draw_confusion_matrix",
    "has_matplotlib",
    "markdown_table",
    "plot_bars",
    "plot_confusion_matrix",
    "require",
]

_INSTALL = f"install it with `{install_hint('report')}`"


def require(module, purpose):
    """Import an optional dependency, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs {module.split('.')[0]}, an optional dependency; {_INSTALL}."
        ) from exc


def has_matplotlib():
    """Whether matplotlib can be imported."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def markdown_table(frame, floatfmt=".3f"):
    """A DataFrame as a GitHub markdown table, without its index."""
    require("tabulate", "Writing markdown tables")
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def _figure(width, height):
    figure = require("matplotlib.figure", "Drawing figures")
    return figure.Figure(figsize=(width, height), layout="constrained")


def draw_confusion_matrix(ax, y_true, y_pred, labels, title=None, normalize=None):
    """Draw the confusion matrix of ``y_pred`` on ``ax`` (rows are true classes).

    ``normalize`` is scikit-learn's: None (counts), "true", "pred" or "all".
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        ax=ax,
        colorbar=False,
        xticks_rotation=45,
        normalize=normalize,
        values_format=None if normalize is None else ".2f",
    )
    if title:
        ax.set_title(title)
    return ax


def plot_confusion_matrix(y_true, y_pred, labels, path, title):
    """Save the confusion matrix of ``y_pred`` as a PNG (counts; rows are true classes)."""
    fig = _figure(7, 6)
    draw_confusion_matrix(fig.subplots(), y_true, y_pred, labels, title)
    fig.savefig(path, dpi=120)


def plot_bars(frame, path, title, ylabel):
    """Save grouped bars as a PNG: one group per row of ``frame``, one bar per column."""
    fig = _figure(max(8, 1.6 * len(frame)), 5)
    ax = fig.subplots()
    frame.plot.bar(ax=ax, rot=0, width=0.85)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    fig.savefig(path, dpi=120)
