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


def draw_confusion_matrix(ax, y_true, y_pred, labels, title=None, normalize=None, columns=None):
    """Draw the confusion matrix of ``y_pred`` on ``ax`` (rows are true classes).

    ``normalize`` is scikit-learn's: None (counts), "true", "pred" or "all".
    ``columns`` are the predicted labels when they are not ``labels`` (e.g. the
    classes and "unsure"); "true" then divides each row by all its images.
    """
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    if columns is None or list(columns) == list(labels):
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
    else:
        _draw_rectangular(ax, confusion_matrix, y_true, y_pred, list(labels), list(columns), normalize)
    if title:
        ax.set_title(title)
    return ax


def _draw_rectangular(ax, confusion_matrix, y_true, y_pred, labels, columns, normalize):
    """A confusion matrix whose columns are not its rows, drawn as scikit-learn draws one."""
    import numpy as np

    every = labels + [c for c in columns if c not in labels]
    full = confusion_matrix(y_true, y_pred, labels=every)
    matrix = full[np.ix_([every.index(r) for r in labels], [every.index(c) for c in columns])]
    matrix = matrix.astype(float if normalize else int)
    if normalize is not None:
        total = {
            "true": matrix.sum(axis=1, keepdims=True),
            "pred": matrix.sum(axis=0, keepdims=True),
            "all": matrix.sum(),
        }[normalize]
        matrix = np.divide(matrix, total, out=np.zeros_like(matrix), where=total != 0)
    image = ax.imshow(matrix, interpolation="nearest", cmap="viridis")
    middle = (matrix.max() + matrix.min()) / 2
    for (i, j), value in np.ndenumerate(matrix):
        colour = image.cmap(0) if value > middle else image.cmap(image.cmap.N - 1)
        text = f"{value:.2f}" if normalize else f"{value:d}"
        ax.text(j, i, text, ha="center", va="center", color=colour)
    ax.set(
        xticks=range(len(columns)),
        yticks=range(len(labels)),
        xticklabels=columns,
        yticklabels=labels,
        xlabel="Predicted label",
        ylabel="True label",
    )
    ax.tick_params(axis="x", labelrotation=45)


def plot_confusion_matrix(y_true, y_pred, labels, path, title, columns=None):
    """Save the confusion matrix of ``y_pred`` as a PNG: counts beside the shares of
    each true class (rows sum to 1); rows are true classes, ``columns`` the answers."""
    fig = _figure(13, 6)
    counts, shares = fig.subplots(1, 2)
    draw_confusion_matrix(counts, y_true, y_pred, labels, "counts", columns=columns)
    draw_confusion_matrix(shares, y_true, y_pred, labels, "share of each true class", "true", columns)
    fig.suptitle(title)
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
