"""Faces in photos: find and crop them (FaceCropper), classify each (predict_faces)."""

import os
import warnings
from numbers import Real

from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._abstention import abstain_ranked
from .._boxes import clip_detections
from .._front import classifier_front
from .._records import PredictionRecord, records_to_frame
from ..backends._images import UnreadableImage, check_image_sequence, to_rgb_image
from ..exceptions import (
    ClipFerError,
    ImageInputError,
    InvalidParameterError,
    MissingDependencyError,
)
from ..utils._param_validation import (
    Choices,
    ParamsValidationMixin,
    Protocol,
    check_int,
    validate_args,
)
from ..utils._sklearn_compat import Interval, fit_context
from ._detectors import BlazeFaceDetector

__all__ = ["FaceCropper", "predict_faces", "faces_to_frame"]

_OWNER = "FaceCropper"
_CHUNK = 32  # images whose faces share a call, when the classifier has no batch_size


_DETECTOR = Protocol(["detect"], (BlazeFaceDetector,), "a detector", "detect(image) -> [(box, score), ...]")


class FaceCropper(TransformerMixin, ParamsValidationMixin, BaseEstimator):
    """Find the faces of photos and crop them for the emotion classifier.

    Parameters
    ----------
    detector : object, default=None
        Anything with a method ``detect(image)`` taking an RGB ``PIL.Image`` and
        returning a list of ``(box, score)``, ``box`` being ``(x0, y0, x1, y1)``
        in pixels. None is :class:`BlazeFaceDetector` (the ``faces`` extra).
    margin : float, default=0.1
        Border added around each face, as a share of its side on every side.
        Crops are squares centred on the face (CLIP's preprocessing crops to a
        square anyway); parts past the image border are black.
    grayscale : bool, default=False
        Give crops in grayscale (as RGB), like FER2013's images: for models
        trained on FER2013, such as the project's small checkpoint.

    Attributes
    ----------
    detector_ : object
        The detector in use (a clone when it is a scikit-learn style estimator).

    Examples
    --------
    >>> cropper = FaceCropper(margin=0.2).fit()                      # doctest: +SKIP
    >>> cropper.find_faces("group.jpg")                              # doctest: +SKIP
    [((412, 97, 470, 155), 0.93), ((80, 120, 131, 171), 0.88)]
    >>> from sklearn.pipeline import make_pipeline
    >>> make_pipeline(FaceCropper(), clf).predict(["selfie.jpg"])   # doctest: +SKIP
    """

    _parameter_constraints = {
        "detector": [None, _DETECTOR],
        "margin": [Interval(Real, 0, 2, closed="both")],
        "grayscale": ["boolean"],
    }
    _parameter_descriptions = {
        "detector": "None or an object with a method detect(image) -> [(box, score), ...]"
    }

    def __init__(self, detector=None, *, margin=0.1, grayscale=False):
        self.detector = detector
        self.margin = margin
        self.grayscale = grayscale

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters; images are not used.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        self : FaceCropper
        """
        detector = BlazeFaceDetector() if self.detector is None else self.detector
        self.detector_ = clone(detector) if hasattr(detector, "get_params") else detector
        return self

    def fit_transform(self, X=None, y=None):
        """Fit, then crop ``X``; with ``X=None``, fit only and return None.

        A zero-shot classifier is fitted without images, so a pipeline of the two
        is too: ``make_pipeline(FaceCropper(), clf).fit(None)``.

        Parameters
        ----------
        X : sequence of images or None, default=None
            As :meth:`transform` takes them; None crops nothing.
        y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        crops : list or None
            As :meth:`transform` returns them; None when ``X`` is None.
        """
        self.fit(X, y)
        return None if X is None else self.transform(X)

    def find_faces(self, image):
        """The faces of one image, best first.

        Parameters
        ----------
        image : str, Path, PIL.Image, ndarray or torch.Tensor
            Anything the classifier takes (see the README).

        Returns
        -------
        faces : list of (box, score)
            ``box`` is ``(x0, y0, x1, y1)``, ints, clipped to the image: the face
            is pixels ``x0 <= x < x1``, ``y0 <= y < y1``.
        """
        check_is_fitted(self, "detector_")
        image = to_rgb_image(image, 0)
        return clip_detections(self.detector_.detect(image), image.size)

    def crop(self, image, box):
        """The square crop of ``image`` around ``box``, with the margin.

        Parameters
        ----------
        image : PIL.Image
        box : sequence of 4 numbers
            ``(x0, y0, x1, y1)`` as returned by :meth:`find_faces`.

        Returns
        -------
        crop : PIL.Image in mode "RGB"
        """
        check_is_fitted(self, "detector_")
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0) * (1 + 2 * self.margin)
        left = round((x0 + x1 - side) / 2)
        top = round((y0 + y1 - side) / 2)
        side = max(round(side), 1)
        crop = image.convert("RGB").crop((left, top, left + side, top + side))
        return crop.convert("L").convert("RGB") if self.grayscale else crop

    def transform(self, X):
        """The crop of the best face of each image, for a Pipeline.

        One output per input, so that ``make_pipeline(FaceCropper(), clf)``
        keeps images and labels aligned. An image in which no face is found is
        passed on whole, with a warning naming it; use :func:`predict_faces` for
        photos with several faces or none. An image that cannot be read (or in
        which detection fails) is passed on as an
        :class:`~clip_fer.backends._images.UnreadableImage` holding the reason,
        so the classifier after it applies its own ``on_error`` to that item:
        with ``"raise"`` it raises ``ImageInputError`` naming the item, with
        ``"skip"`` it predicts ``None`` for it and the others as usual.

        Parameters
        ----------
        X : sequence of images

        Returns
        -------
        crops : list of PIL.Image
        """
        check_is_fitted(self, "detector_")
        crops, faceless = [], []
        for index, item in enumerate(check_image_sequence(X)):
            try:
                image = to_rgb_image(item, index)
            except ImageInputError as exc:
                crops.append(UnreadableImage(exc.reason))
                continue
            try:
                faces = clip_detections(self.detector_.detect(image), image.size)
            except (MissingDependencyError, InvalidParameterError):
                raise  # the detector cannot work at all: not this image's fault
            except Exception as exc:
                crops.append(UnreadableImage(_detection_failed(exc)))
                continue
            if faces:
                crops.append(self.crop(image, faces[0][0]))
            else:
                faceless.append(index)
                crops.append(image)
        if faceless:
            warnings.warn(
                f"{_OWNER} found no face in the images at index {faceless}; they are "
                "passed on whole. Use predict_faces to list faces per image.",
                UserWarning,
                stacklevel=2,
            )
        return crops

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


def _detection_failed(exc):
    return f"face detection failed ({type(exc).__name__}: {exc})."


def _fitted_cropper(cropper):
    cropper = FaceCropper() if cropper is None else cropper
    try:
        check_is_fitted(cropper, "detector_")
    except NotFittedError:
        cropper = clone(cropper).fit()
    return cropper


def _row(index, item, **fields):
    path = os.fspath(item) if isinstance(item, (str, os.PathLike)) else None
    return PredictionRecord(index, path, **{"status": "no face", **fields})


def _detect_chunk(cropper, images, start):
    """Rows (without labels) and crops for images ``start, start + 1, ...``."""
    rows, crops = [], []
    for offset, item in enumerate(images):
        index = start + offset
        try:
            image = to_rgb_image(item, index)
        except ClipFerError as exc:
            rows.append(_row(index, item, status="failed", error=str(exc)))
            continue
        try:
            faces = clip_detections(cropper.detector_.detect(image), image.size)
        except (MissingDependencyError, InvalidParameterError):
            raise  # the detector cannot work at all: not this image's fault
        except Exception as exc:  # any other failure is this image's, not the batch's
            rows.append(
                _row(
                    index,
                    item,
                    status="failed",
                    error=f"Image at index {index}: {_detection_failed(exc)}",
                )
            )
            continue
        if not faces:
            rows.append(_row(index, item))
        for face, (box, score) in enumerate(faces):
            rows.append(_row(index, item, face=face, box=list(box), score=round(score, 4), status="face"))
            crops.append(cropper.crop(image, box))
    return rows, crops


def _classify_faces(front, rows, crops, top_k):
    """Fill the labels and probabilities of the face rows from one ``decide`` of their crops.

    A crop the classifier skipped (``on_error="skip"``) makes its row ``"failed"``
    with the reason (read from ``Decision.errors``), never a label.
    """
    decision = front.decide(crops)
    errors = dict(decision.errors)
    labels = front.labels_of(decision.ranking[:, :top_k])  # the one place labels are made
    face_rows = [row for row in rows if row.status == "face"]
    for position, row in enumerate(face_rows):
        if decision.ranking[position, 0] < 0:
            row.status = "failed"
            row.error = f"Face {row.face} of image {row.image_index}: {errors.get(position, 'skipped')}"
            continue
        row.probabilities = {c: float(p) for c, p in zip(front.classes, decision.proba[position])}
        ranked = [str(label) for label in labels[position]]
        row.labels = abstain_ranked(ranked, row.probabilities, front.abstain_below)


@validate_args(
    {
        "cropper": [None, FaceCropper],
        "as_frame": ["boolean", Choices("auto")],
        "verbose": ["boolean"],
    },
    {"cropper": "None or a FaceCropper", "as_frame": "True, False or 'auto'"},
)
def predict_faces(estimator, X, *, cropper=None, top_k=3, as_frame="auto", verbose=False, abstain_below=None):
    """Find every face in each image and predict its emotions.

    Parameters
    ----------
    estimator : classifier of images
        Fitted, taking images: a :class:`ZeroShotEmotionClassifier`, a
        :class:`FewShotEmotionClassifier`, or any scikit-learn classifier whose
        ``X`` is images, with ``predict_proba`` and ``classes_`` (such as
        ``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")``).
        Its innermost clip-fer estimator's ``on_error`` decides what a crop it
        cannot classify does (see ``clip_fer._front``).
    X : sequence of images
        File paths, PIL images, arrays or tensors, as the classifier takes.
    cropper : FaceCropper, default=None
        How faces are found and cropped; None is ``FaceCropper()``, which uses
        :class:`BlazeFaceDetector` (the ``faces`` extra). Fitted if it is not.
    top_k : int, default=3
        Labels per face, best first, in [1, n_classes].
    as_frame : bool or "auto", default="auto"
        Return a pandas DataFrame (see :func:`faces_to_frame`); "auto" does when
        pandas can be imported, else returns the list of records.
    verbose : bool, default=False
        Show a progress bar over the images (on stderr).
    abstain_below : float in [0, 1], default=None
        A face whose top probability (of ``estimator``'s ``predict_proba``, the
        calibrated one for a calibration wrapper) is below it is labelled
        ``"unsure"``. None takes the outermost clip-fer estimator's
        ``abstain_below``, compared with the same probabilities.

    Returns
    -------
    faces : pandas.DataFrame or list of dict
        One record per face, in image order then best detection first, and one
        per image without a face or whose reading or detection failed (nothing is
        dropped and no image's failure stops the others). Each record holds
        ``image_index``; ``image`` (the path, when the item was one, else None);
        ``face`` (0, 1, ... within the image, None without a face); ``box``
        (``[x0, y0, x1, y1]`` ints in pixels of the image, x1 and y1 exclusive);
        ``score`` (the detector's confidence); ``labels`` (top-k classes, best
        first); ``probabilities`` (class -> probability, as ``predict_proba`` on
        the face crop); ``status`` ("face", "no face" or "failed"); and ``error``
        (why it failed, else None).

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32").fit()   # doctest: +SKIP
    >>> predict_faces(clf, ["group.jpg"])                          # doctest: +SKIP
       image_index      image  face   x0   y0   x1   y1  score label_1 ...
    0            0  group.jpg     0  412   97  470  155   0.93   happy ...
    """
    front = classifier_front(estimator, abstain_below=abstain_below, owner="predict_faces")
    # The bound depends on the classifier's classes: checked by hand.
    top_k = check_int(top_k, "top_k", "predict_faces", 1, len(front.classes))
    cropper = _fitted_cropper(cropper)
    images = check_image_sequence(X)
    classes = front.classes
    records = []
    chunk = max(int(getattr(front.zero_shot, "batch_size", _CHUNK)), 1)
    with tqdm(total=len(images), unit="img", desc="Faces", disable=not verbose) as progress:
        for start in range(0, len(images), chunk):
            rows, crops = _detect_chunk(cropper, images[start : start + chunk], start)
            if crops:
                _classify_faces(front, rows, crops, top_k)
            records.extend(rows)
            progress.update(min(chunk, len(images) - start))
    if not as_frame:
        return [record.to_dict() for record in records]
    try:
        return faces_to_frame(records, classes, top_k)
    except ImportError:
        if as_frame == "auto":
            return [record.to_dict() for record in records]
        raise


def faces_to_frame(records, classes, top_k):
    """The records of :func:`predict_faces` as a flat pandas DataFrame.

    Parameters
    ----------
    records : list of dict or PredictionRecord
        As :func:`predict_faces` returns them with ``as_frame=False``.
    classes : sequence of str
        The estimator's ``classes_``: one probability column each.
    top_k : int
        Number of ``label_<i>`` columns.

    Returns
    -------
    frame : pandas.DataFrame
        Columns: ``image_index, image, face, x0, y0, x1, y1, score, label_1``
        ... ``label_<top_k>``, one probability column per class, ``status,
        error``. Missing values (no face) are ``<NA>`` or NaN.
    """
    return records_to_frame(records, classes, top_k)
