"""``analyze``: every face of some photos and its emotions, in one call.

A thin composition of the parts, for people coming from one-call libraries
(deepface's ``analyze``, py-feat's ``detect_image``): it builds and fits a
:class:`~clip_fer.ZeroShotEmotionClassifier` (or takes the fitted classifier given as
``classifier``: a few-shot one, a calibrated one), builds a
:class:`~clip_fer.FaceCropper`, and returns what :func:`~clip_fer.predict_faces`
returns. Nothing is computed here that those do not compute.
"""

import os
import warnings
from inspect import signature

from ..backends._images import check_image_path, check_image_sequence, one_image
from ..exceptions import InvalidParameterError, SkippedImagesWarning

__all__ = ["analyze"]


def analyze(
    images,
    model=None,
    *,
    classifier=None,
    detector=None,
    margin=0.1,
    grayscale=False,
    top_k=3,
    as_frame="auto",
    verbose=False,
    **options,
):
    """Find every face in ``images`` and predict its emotions, in one call.

    The same as::

        clf = ZeroShotEmotionClassifier(model=model, **options).fit()
        predict_faces(clf, images, cropper=FaceCropper(detector, margin=margin,
                      grayscale=grayscale), top_k=top_k, as_frame=as_frame)

    With ``classifier=clf`` (any fitted classifier :func:`predict_faces` takes),
    ``predict_faces(clf, images, ...)`` with the same cropper.

    The model is loaded once per process and prompts are encoded once per model,
    so calling ``analyze`` again costs the new images only. To classify whole
    images (already cropped faces), or to search prompt configurations, use the
    estimator itself.

    Parameters
    ----------
    images : image or sequence of images
        One image (a path, a PIL image, an array or a tensor), or a list of them
        (as :meth:`ZeroShotEmotionClassifier.predict` takes them).
    model : str, default=None
        The model, as ``ZeroShotEmotionClassifier(model=...)``: a CLIP name, a
        checkpoint path, ``"open_clip:..."`` or ``"hf_clip:..."``; None is
        ``"ViT-B/32"``. Not with ``classifier``.
    classifier : fitted classifier of images, default=None
        Use this classifier instead of building a zero-shot one: a
        :class:`FewShotEmotionClassifier`, a temperature-calibrated
        ``CalibratedClassifierCV``, or anything :func:`predict_faces` takes.
        Then ``model`` and the estimator's ``**options`` are refused, except
        ``abstain_below`` (passed to :func:`predict_faces`).
    detector : object with ``detect(rgb_image)``, default=None
        The face detector; None is :class:`BlazeFaceDetector` (the ``faces`` extra).
    margin : float, default=0.1
        Added around each face, as a share of its side (``FaceCropper``).
    grayscale : bool, default=False
        Classify grayscale crops (for models trained on FER2013's gray faces).
    top_k : int, default=3
        Labels per face, best first.
    as_frame : bool or "auto", default="auto"
        A pandas DataFrame ("auto": when pandas is installed), else a list of dicts.
    verbose : bool, default=False
        A progress bar over the images.
    **options
        Any other parameter of :class:`ZeroShotEmotionClassifier`, e.g.
        ``prompt_bank=PromptBank.openai_fer2013()``, ``device="cpu"``,
        ``precision="int8"``, ``on_error="skip"``, ``cache_dir="emb/"``. With
        ``on_error="raise"`` (the default), a path that is missing, a folder or a
        URL raises before any work; with ``"skip"`` it gets a ``"failed"`` row.

    Returns
    -------
    faces : pandas.DataFrame or list of dict
        One row per face, and one per image without a face or whose reading
        failed, exactly as :func:`predict_faces` returns them: ``image_index``,
        ``image``, ``face``, the box, the detector's ``score``, the top-k labels,
        one probability per class, ``status`` and ``error``.

    Raises
    ------
    InvalidParameterError
        An option that is not a parameter of ``ZeroShotEmotionClassifier``.
    ImageInputError
        With ``on_error="raise"``: a path that is missing, a folder or a URL,
        named with its index.

    Warns
    -----
    SkippedImagesWarning
        Naming every image whose row is ``"failed"`` (unreadable, or its
        detection failed), with the reason.

    Examples
    --------
    >>> import clip_fer
    >>> clip_fer.analyze("examples/group.jpg", model="ViT-B/32")  # doctest: +SKIP
       image_index               image  face   x0   y0   x1   y1  score label_1 ...
    0            0  examples/group.jpg     0  ...
    """
    from .._classifier import ZeroShotEmotionClassifier
    from ._cropping import FaceCropper, predict_faces

    images = check_image_sequence([images] if one_image(images) else images)
    cropper = FaceCropper(detector, margin=margin, grayscale=grayscale)
    if classifier is not None:
        given = sorted(set(options) - {"abstain_below"}) + (["model"] if model is not None else [])
        if given:
            raise InvalidParameterError(
                f"analyze got classifier= and {', '.join(map(repr, given))}, which set up the "
                "zero-shot classifier that analyze builds without one; set them on your "
                "classifier (before fitting it), or leave classifier=None."
            )
        faces = predict_faces(
            classifier,
            images,
            cropper=cropper,
            top_k=top_k,
            as_frame=as_frame,
            verbose=verbose,
            abstain_below=options.get("abstain_below"),
        )
        _warn_failed(faces, len(images))
        return faces
    allowed = set(signature(ZeroShotEmotionClassifier).parameters) - {"model"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidParameterError(
            f"analyze got {', '.join(map(repr, unknown))}, which "
            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
            f"ZeroShotEmotionClassifier or FaceCropper. Known: classifier, detector, margin, grayscale, "
            f"top_k, as_frame, verbose, {', '.join(sorted(allowed))}."
        )
    model = "ViT-B/32" if model is None else model
    estimator = ZeroShotEmotionClassifier(model=model, **options)
    if estimator.on_error == "raise":  # fail before loading the model, naming the item
        for index, item in enumerate(images):
            if isinstance(item, (str, os.PathLike)):
                check_image_path(item, index)
    estimator.fit()
    faces = predict_faces(estimator, images, cropper=cropper, top_k=top_k, as_frame=as_frame, verbose=verbose)
    _warn_failed(faces, len(images))
    return faces


def _warn_failed(faces, n_images):
    """One SkippedImagesWarning naming each image whose row says ``"failed"``."""
    rows = faces.to_dict("records") if hasattr(faces, "to_dict") else faces
    errors = [(row["image_index"], row["error"]) for row in rows if row["status"] == "failed"]
    if errors:
        listed = "; ".join(f"{error}" for _, error in errors)
        warnings.warn(
            SkippedImagesWarning(
                f"analyze: {len(errors)} of {n_images} images failed (their rows say "
                f"status='failed'): {listed}",
                errors,
            ),
            stacklevel=3,
        )
