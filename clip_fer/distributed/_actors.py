"""The callable classes Ray Data runs in its actor pool: one estimator per actor.

Each actor receives the classifier pickled (a fitted one carries its text
features, shots or calibration, never CLIP's weights), fits a zero-shot estimator
if it is not fitted, loads the model of the zero-shot estimator inside once
through the process-wide cache (``resolve_model``), and then scores the batches
Ray hands it through :func:`~clip_fer._front.classifier_front` (the estimator's own
``decide``, skipped items as data) or ``embed(return_errors=True)``: the same
encoding loop as a local ``predict``. Batches arrive and leave as ``pyarrow.Table``: every input column is
passed through and the results are appended.

The fit and the model's load start in a thread as the actor is constructed, so
they run while Ray hands out the first batch and while the stages before the
actors (reading, decoding) produce it, rather than after it arrives. The first
batch waits for them; a failed load or fit is raised by every batch, as it was
raised where it happened.
"""

import threading

import numpy as np
import pyarrow as pa
from sklearn.base import clone

from .._abstention import abstain_ranked
from .._classifier import ZeroShotEmotionClassifier
from .._front import classifier_front, streaming_copy
from .._records import proba_column
from ..backends import resolve_model
from ..exceptions import ImageInputError, InvalidParameterError

__all__ = ["Embedder", "Predictor", "result_columns"]


def result_columns(classes, mode):
    """Names of the columns that scoring appends, in order.

    ``label``, ``labels``, one ``proba_<class>`` per class (the prefix of every
    flat output, so that no class name can collide with a fixed column) and
    ``error``; or ``embedding`` and ``error``.
    """
    if mode == "embed":
        return ["embedding", "error"]
    return ["label", "labels", *[proba_column(c) for c in classes], "error"]


def _one_pass(zero_shot):
    """Every item is seen once: no in-memory embedding cache (a ``cache_dir`` is shared
    on disk), no progress bar."""
    return {"verbose": False, **({"cache": False} if zero_shot.cache_dir is None else {})}


def _column_items(batch, column):
    """The items of ``column`` as a list the estimator accepts (paths or arrays)."""
    data = batch.column(column)
    if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
        return data.to_pylist()
    if pa.types.is_binary(data.type) or pa.types.is_large_binary(data.type):
        raise InvalidParameterError(
            f"The column {column!r} holds encoded bytes; give file paths, or decoded "
            "images, e.g. from ray.data.read_images(..., include_paths=True) with "
            "column='image'."
        )
    from ray.data.block import BlockAccessor

    images = BlockAccessor.for_block(batch).to_numpy(column)
    return [_unpadded(image) for image in images]  # one array per row, whatever the shapes


def _unpadded(image):
    """A gray (H, W) image that Ray padded to (1, H, W) to share a column with (H, W, 3) ones."""
    if image.ndim == 3 and image.shape[0] == 1 and image.shape[-1] not in (1, 3, 4):
        return image[0]
    return image


class _Scorer:
    """What both actors share: the estimator, ready, and the skipped-item bookkeeping."""

    mode = None

    def __init__(self, estimator, column, key, abstain_below=None):
        self.column, self.key, self.abstain_below = column, key, abstain_below
        self.estimator = self.front = self.names = self._failure = None
        # Fit and load while Ray hands out the first batch; __call__ waits for it. Not a
        # daemon: an actor that ends before its first batch (a pool larger than the
        # work) waits for it at exit, where a daemon thread inside torch was aborted
        # ("Fatal Python error: Aborted" in the driver's log).
        self._warming = threading.Thread(
            target=self._warm, args=(estimator,), name="clip-fer model load", daemon=False
        )
        self._warming.start()

    def _warm(self, estimator):
        """Fit a zero-shot ``estimator`` if it is not fitted and load its model (the
        process-wide cache); any other classifier arrives fitted."""
        try:
            if isinstance(estimator, ZeroShotEmotionClassifier) and not hasattr(estimator, "text_features_"):
                estimator = clone(estimator).fit() if self.mode == "predict" else estimator
            if self.mode == "predict":
                self.front = classifier_front(
                    estimator, abstain_below=self.abstain_below, owner="predict_dataset", streaming=_one_pass
                )
                estimator, zero_shot = self.front.classifier, self.front.zero_shot
                classes = self.front.classes
            else:
                estimator = zero_shot = streaming_copy(estimator, _one_pass)
                classes = ()
            # The model the first encoding loads, into the process-wide cache it reads.
            resolve_model(
                zero_shot.model,
                zero_shot.device,
                zero_shot.precision,
                zero_shot.download_root,
                type(zero_shot).__name__,  # named in its errors, as the estimator's own load names it
            )
            self.names = result_columns(classes, self.mode)
            self.estimator = estimator
        except BaseException as exc:  # raised again by each batch, in the actor's own thread
            self._failure = exc

    def _ready(self):
        """Wait for the fit and the load begun in ``__init__``; raise what they raised."""
        self._warming.join()  # at once once it has ended
        if self._failure is not None:
            raise self._failure

    def _check_columns(self, batch):
        names = batch.schema.names
        if self.column not in names:
            raise InvalidParameterError(
                f"The dataset has no column {self.column!r} (it has {names}); pass the "
                "column that holds the images as column=."
            )
        taken = [name for name in self.names if name in names]
        if taken:
            raise InvalidParameterError(
                f"The dataset already has the columns {taken} that scoring adds; drop "
                "or rename them first (Dataset.drop_columns, Dataset.rename_columns)."
            )

    def _run(self, batch, method):
        """``method(items)``, an error of an item named by the row's key."""
        self._check_columns(batch)
        items = _column_items(batch, self.column)
        try:
            return method(items)
        except ImageInputError as exc:
            raise self._named(exc, batch) from None

    def _named(self, exc, batch):
        """The error again, naming the row by its key rather than its place in a batch."""
        name = f"{self.key} {batch.column(self.key)[exc.index].as_py()!r}"
        named = ImageInputError(exc.index, exc.reason)
        message = (
            f"Image of {name}: {exc.reason} To give unreadable images their own row "
            "instead of stopping, set the estimator's on_error='skip'."
        )
        named.args = (message,)
        return named

    @staticmethod
    def _error_column(n, errors):
        return pa.array([errors.get(i) for i in range(n)], type=pa.string())


class Predictor(_Scorer):
    """Appends ``label``, ``labels`` (top ``k``), one probability per class and ``error``."""

    mode = "predict"

    def __init__(self, estimator, column, key, k, abstain_below=None):
        super().__init__(estimator, column, key, abstain_below)
        self.k = k

    def __call__(self, batch):
        self._ready()
        decision = self._run(batch, self.front.decide)  # skipped items in decision.errors
        errors = dict(decision.errors)
        n = batch.num_rows
        top = self.front.labels_of(decision.ranking[:, : self.k])
        failed = decision.ranking[:, 0] < 0
        abstain_below = self.front.abstain_below  # ["unsure"] below it, as the records
        labels = [
            None if bad else abstain_ranked([str(c) for c in row], proba, abstain_below)
            for row, proba, bad in zip(top, decision.proba, failed)
        ]
        columns = [
            pa.array([None if row is None else row[0] for row in labels], type=pa.string()),
            pa.array(labels, type=pa.list_(pa.string())),
            *[
                pa.array(np.asarray(decision.proba[:, j], dtype=np.float64))
                for j in range(decision.proba.shape[1])
            ],
            self._error_column(n, errors),
        ]
        for name, values in zip(self.names, columns):
            batch = batch.append_column(name, values)
        return batch


class Embedder(_Scorer):
    """Appends ``embedding`` (float32, L2-normalised; NaN for a skipped item) and ``error``."""

    mode = "embed"

    def __call__(self, batch):
        self._ready()
        embeddings, errors = self._run(batch, lambda items: self.estimator.embed(items, return_errors=True))
        errors = dict(errors)
        flat = pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).ravel())
        column = pa.FixedSizeListArray.from_arrays(flat, embeddings.shape[1])
        batch = batch.append_column("embedding", column)
        return batch.append_column("error", self._error_column(batch.num_rows, errors))
