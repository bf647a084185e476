"""Figures for notebooks: a confusion matrix, one image's emotions, faces on a photo,
a reliability diagram and a risk-coverage curve.

Every function draws with matplotlib (the ``report`` extra) and returns the
:class:`matplotlib.figure.Figure` it drew on, so a notebook shows it inline and a
script can ``fig.savefig("out.png")``. Pass ``ax=`` to draw into an axes of your own
figure instead; the function then returns that axes' figure. Figures are created
with ``matplotlib.figure.Figure``, not pyplot, so no global figure is left open.

Examples
--------
>>> from clip_fer.plotting import plot_confusion_matrix
>>> fig = plot_confusion_matrix(["happy", "sad", "sad"], ["happy", "sad", "happy"])
>>> fig.axes[0].get_title()
'Confusion matrix'
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .experiments._reports import draw_confusion_matrix, require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_confusion_matrix",
    "plot_emotions",
    "plot_faces",
    "plot_reliability_diagram",
    "plot_risk_coverage",
]


@functools.cache
def _figure_class() -> type:
    """A Figure that shows itself as a PNG in notebooks, without pyplot.

    Jupyter draws a bare ``matplotlib.figure.Figure`` as text unless pyplot has been
    imported; ``_repr_png_`` makes it show inline either way, once.
    """
    base: Any = require("matplotlib.figure", "Plotting").Figure

    class NotebookFigure(base):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    NotebookFigure.__qualname__ = NotebookFigure.__name__ = "Figure"
    return NotebookFigure


def _figure_of(axes: Axes) -> Figure:
    return cast("Figure", axes.figure)


def _axes(ax: Axes | None, width: float, height: float, ncols: int = 1) -> list[Axes]:
    """``[ax]`` when given, else the axes of a new constrained-layout figure."""
    if ax is not None:
        return [ax]
    figure = _figure_class()(figsize=(width, height), layout="constrained")
    return list(np.atleast_1d(figure.subplots(1, ncols)))


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    normalize: str | None = None,
    title: str | None = "Confusion matrix",
    ax: Axes | None = None,
) -> Figure:
    """The confusion matrix of predictions: rows are true classes, columns predicted.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels (e.g. ``clf.predict(X)``).
    labels : sequence of str, default=None
        Rows and columns, in order; None is the sorted union of both.
    normalize : {None, "true", "pred", "all"}, default=None
        As in :func:`sklearn.metrics.confusion_matrix`: counts, or shares of each
        true class (rows sum to 1), of each predicted class, or of all samples.
    title : str or None, default="Confusion matrix"
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None makes a 7x6-inch figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    if labels is None:
        labels = sorted({*map(str, np.ravel(y_true)), *map(str, np.ravel(y_pred))})
        y_true, y_pred = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
    (axes,) = _axes(ax, 7, 6)
    draw_confusion_matrix(axes, y_true, y_pred, list(labels), title, normalize=normalize)
    return _figure_of(axes)


def plot_emotions(
    estimator: Any,
    image: Any,
    *,
    show_image: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One image's probabilities as horizontal bars, best class on top.

    Parameters
    ----------
    estimator : ZeroShotEmotionClassifier
        Fitted.
    image : image or embedding
        One input as the estimator takes it (a path, PIL image, array, tensor, or an
        embedding row when ``precomputed=True``).
    show_image : bool, default=True
        Draw the image beside the bars (not for embeddings, nor with ``ax``).
    title : str, default=None
        Title of the bars; None is the predicted class and its probability.
    ax : matplotlib.axes.Axes, default=None
        Where to draw the bars; None makes a new figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
        The bars are ``predict_proba([image])[0]`` in ``estimator.classes_``
        order, sorted descending.
    """
    proba = np.asarray(estimator.predict_proba([image]))[0]
    classes = np.asarray(estimator.classes_).astype(str)
    order = np.argsort(-proba, kind="stable")
    picture = None
    if show_image and ax is None and not getattr(estimator, "precomputed", False):
        from .backends._images import to_rgb_image

        picture = to_rgb_image(image, 0)
    axes = _axes(ax, 8 if picture is not None else 5, 3.2, ncols=2 if picture is not None else 1)
    if picture is not None:
        axes[0].imshow(picture, cmap="gray")
        axes[0].set_axis_off()
    bars = axes[-1]
    bars.barh(classes[order][::-1], proba[order][::-1], color="#0072B2")
    bars.set_xlim(0, 1)
    bars.set_xlabel("probability")
    bars.set_title(title if title is not None else f"{classes[order[0]]} {proba[order[0]]:.2f}")
    return _figure_of(bars)


def plot_faces(image: Any, faces: Any, *, ax: Axes | None = None) -> Figure:
    """A photo with each face's box, top label and probability (:func:`clip_fer.draw_faces`).

    Parameters
    ----------
    image : str, Path, PIL.Image, ndarray or torch.Tensor
        The photo.
    faces : pandas.DataFrame or list of dict
        Rows of :func:`clip_fer.predict_faces` for this image.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None makes a figure with the photo's aspect ratio.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    from .faces._drawing import draw_faces

    annotated = draw_faces(image, faces)
    width = 6.4
    (axes,) = _axes(ax, width, width * annotated.height / annotated.width)
    axes.imshow(annotated)
    axes.set_axis_off()
    return _figure_of(axes)


def plot_reliability_diagram(
    y_true: Any,
    y_proba: Any,
    *,
    classes: Any = None,
    n_bins: int = 15,
    title: str | None = "Reliability diagram",
    ax: Axes | None = None,
) -> Figure:
    """Accuracy against the top probability, per confidence bin, with the ECE.

    Bars are each bin's accuracy (:func:`clip_fer.metrics.reliability_curve`);
    the diagonal is perfect calibration, so bars below it are over-confident.
    Each bar's width is its bin, and the number above it its images; empty bins
    have none.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        ``predict_proba(X)``, raw or calibrated.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (``clf.classes_``).
    n_bins : int, default=15
        Equal-width bins of [0, 1].
    title : str or None, default="Reliability diagram"
        The ECE is appended to it.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None makes a 5x5-inch figure.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_reliability_diagram(["a", "b"], [[0.9, 0.1], [0.8, 0.2]])
    >>> fig.axes[0].get_title()
    'Reliability diagram (ECE 0.450)'
    """
    from .metrics import reliability_curve

    curve = reliability_curve(y_true, y_proba, classes=classes, n_bins=n_bins)
    (axes,) = _axes(ax, 5, 5)
    filled = curve.count > 0
    left, widths = curve.edges[:-1][filled], np.diff(curve.edges)[filled]
    bars = axes.bar(
        left, curve.accuracy[filled], width=widths, align="edge", color="#0072B2", edgecolor="white"
    )
    axes.bar_label(bars, labels=[str(n) for n in curve.count[filled]], fontsize="x-small")  # images
    axes.plot([0, 1], [0, 1], linestyle="--", color="#555555", label="calibrated")
    axes.plot(curve.confidence[filled], curve.accuracy[filled], "o", color="#D55E00", label="bin mean")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="top probability", ylabel="accuracy")
    axes.legend(loc="upper left")
    if title is not None:
        axes.set_title(f"{title} (ECE {curve.ece:.3f})")
    return _figure_of(axes)


def plot_risk_coverage(
    y_true: Any,
    y_pred: Any,
    confidence: Any,
    *,
    title: str | None = "Risk-coverage",
    ax: Axes | None = None,
) -> Figure:
    """The error rate among the most confident items, against their share.

    One curve per confidence (:func:`clip_fer.metrics.risk_coverage_curve`),
    labelled with its AURC; the dotted line is the overall error rate, what a
    confidence that ranks at random gives at every coverage.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predictions made without abstention.
    confidence : array-like of shape (n_samples,), or dict of str to array-like
        One confidence, or several by name to compare them.
    title : str or None, default="Risk-coverage"
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None makes a 6x4.5-inch figure.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_risk_coverage(["a", "a", "b"], ["a", "b", "b"], [0.9, 0.2, 0.5])
    >>> fig.axes[0].get_xlabel()
    'coverage'
    """
    from .metrics import aurc, risk_coverage_curve

    named = confidence if isinstance(confidence, dict) else {"confidence": confidence}
    (axes,) = _axes(ax, 6, 4.5)
    errors = None
    for name, values in named.items():
        coverage, risk, _ = risk_coverage_curve(y_true, y_pred, values)
        if len(coverage):
            area = aurc(y_true, y_pred, values)
            label = f"{name} (AURC {area:.3f})"
            axes.step(np.r_[0, coverage], np.r_[risk[0], risk], where="pre", label=label)
            errors = risk[-1]
    if errors is not None:
        axes.axhline(errors, linestyle=":", color="#555555", label=f"error rate {errors:.3f}")
    axes.set(xlim=(0, 1), ylim=(0, None), xlabel="coverage", ylabel="risk (error rate)")
    axes.legend(loc="upper left")
    if title is not None:
        axes.set_title(title)
    return _figure_of(axes)
