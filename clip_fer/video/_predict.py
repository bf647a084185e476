"""Emotions of every face of a video, tracked and smoothed over time."""

import math
import numbers

import numpy as np
from PIL import Image
from sklearn.utils.validation import check_is_fitted

from .._abstention import abstain, threshold_of
from ..exceptions import InvalidParameterError
from ..faces._cropping import FaceCropper, _clip_faces
from ._reader import check_sampling, is_live_source, read_frames
from ._smoothing import EmotionSmoother
from ._tracking import IoUTracker

__all__ = ["iter_video_faces", "predict_video", "video_faces_to_frame"]

_OWNER = "predict_video"
_FILE_BATCH = 8  # frames whose crops go through one encoder call, for files
_REMEMBER = 1.0  # seconds a face missed by detection is still looked for around its box


def _check(estimator, detector, tracker, detect_every, smoothing, batch_frames):
    check_is_fitted(estimator, "text_features_")
    if estimator.precomputed:
        raise InvalidParameterError(
            f"{_OWNER} needs an estimator that takes images; this one has precomputed=True. "
            "Fit one with precomputed=False."
        )
    if isinstance(detect_every, bool) or not isinstance(detect_every, numbers.Integral) or detect_every < 1:
        raise InvalidParameterError(
            f"The 'detect_every' parameter of {_OWNER} must be an int >= 1 (detect faces in "
            f"every n-th processed frame). Got {detect_every!r} instead."
        )
    if (
        isinstance(smoothing, bool)
        or not isinstance(smoothing, numbers.Real)
        or not smoothing >= 0
        or math.isinf(smoothing)
    ):
        raise InvalidParameterError(
            f"The 'smoothing' parameter of {_OWNER} must be a number of seconds >= 0. "
            f"Got {smoothing!r} instead."
        )
    if batch_frames != "auto" and (
        isinstance(batch_frames, bool) or not isinstance(batch_frames, numbers.Integral) or batch_frames < 1
    ):
        raise InvalidParameterError(
            f"The 'batch_frames' parameter of {_OWNER} must be 'auto' or an int >= 1. "
            f"Got {batch_frames!r} instead."
        )
    if tracker is not None and not (
        callable(getattr(tracker, "update", None)) and callable(getattr(tracker, "predict", None))
    ):
        raise InvalidParameterError(
            f"The 'tracker' parameter of {_OWNER} must be None or an object with methods "
            f"update(boxes, time) -> ids and predict(time) -> {{id: box}}. Got "
            f"{type(tracker).__name__} instead."
        )


def iter_video_faces(
    estimator,
    source,
    *,
    detector=None,
    tracker=None,
    every=None,
    fps=None,
    detect_every=2,
    rescan=1.0,
    smoothing=0.5,
    margin=0.1,
    grayscale=False,
    batch_frames="auto",
    frame_rate=30.0,
    format=None,
):
    """Faces of each processed frame of a video, with track ids and smoothed emotions.

    Parameters are checked when called; frames are then decoded, processed and
    handed out one by one, so a live source is analysed as it plays and memory
    stays flat.

    Parameters
    ----------
    estimator, source, detector, tracker, every, fps, detect_every : object
        As for :func:`predict_video`.
    rescan, smoothing, margin, grayscale, batch_frames, frame_rate, format : object
        As for :func:`predict_video`.

    Yields
    ------
    frame : Frame
        ``index``, ``time`` (seconds) and ``image`` (RGB uint8 array).
    faces : list of dict
        One per face shown in the frame: ``track`` (int id), ``box``
        (``(x0, y0, x1, y1)`` ints, pixels), ``score`` (the detector's, NaN on a
        frame where the box was carried from the last detection), ``detected``
        (bool), ``label`` (top class of the smoothed probabilities; "unsure"
        when their top is below the estimator's ``abstain_below``),
        ``raw_label`` (top class of this frame's), ``probabilities`` (ndarray,
        smoothed, in ``estimator.classes_`` order).
    """
    check_sampling(every, fps, _OWNER)
    _check(estimator, detector, tracker, detect_every, smoothing, batch_frames)
    if isinstance(rescan, bool) or not isinstance(rescan, numbers.Real) or not rescan >= 0:
        raise InvalidParameterError(
            f"The 'rescan' parameter of {_OWNER} must be a number of seconds >= 0. Got {rescan!r} instead."
        )
    cropper = FaceCropper(detector, margin=margin, grayscale=grayscale).fit()
    # Checked above, when called; the frames come from a generator, when iterated.
    return _faces(
        estimator,
        source,
        cropper,
        tracker,
        every,
        fps,
        detect_every,
        rescan,
        smoothing,
        batch_frames,
        frame_rate,
        format,
    )


def _faces(
    estimator,
    source,
    cropper,
    tracker,
    every,
    fps,
    detect_every,
    rescan,
    smoothing,
    batch_frames,
    frame_rate,
    format,
):
    detector = cropper.detector_
    tracker = IoUTracker() if tracker is None else tracker
    if hasattr(tracker, "reset"):
        tracker.reset()
    smoother = EmotionSmoother(smoothing)
    if batch_frames == "auto":
        batch_frames = 1 if is_live_source(source) else _FILE_BATCH
    classes = np.asarray(estimator.classes_)
    pending, crops = [], []  # frames waiting for the encoder, and their crops
    known, last_scan = {}, -math.inf  # track -> (last detected box, time); last full scan
    for processed, frame in enumerate(
        read_frames(source, every=every, fps=fps, frame_rate=frame_rate, format=format)
    ):
        picture = Image.fromarray(frame.image)
        size = picture.size
        if processed % detect_every == 0:
            known = {t: b for t, b in known.items() if frame.time - b[1] <= _REMEMBER}
            if not known or frame.time - last_scan >= rescan - 1e-6:
                found = _clip_faces(detector.detect(picture), size)
                last_scan = frame.time
            else:  # look only around the faces known: new faces wait for the next scan
                found = _clip_faces(_detect_around(detector, picture, [b for b, _ in known.values()]), size)
            ids = tracker.update(np.array([box for box, _ in found], float).reshape(-1, 4), frame.time)
            faces = [
                dict(track=int(i), box=box, score=score, detected=True) for i, (box, score) in zip(ids, found)
            ]
            known.update({face["track"]: (face["box"], frame.time) for face in faces})
        else:  # boxes carried by the tracks
            faces = []
            for track, box in tracker.predict(frame.time).items():
                clipped = _clip_faces([(box, 0.0)], size)
                if clipped:
                    faces.append(
                        dict(track=int(track), box=clipped[0][0], score=float("nan"), detected=False)
                    )
        for face in faces:
            crops.append(cropper.crop(picture, face["box"]))
        pending.append((frame, faces))
        if len(pending) >= batch_frames:
            yield from _decide(estimator, classes, smoother, pending, crops)
            pending, crops = [], []
    yield from _decide(estimator, classes, smoother, pending, crops)


def _predict_proba(estimator, crops):
    """``estimator.predict_proba(crops)``, past the embedding cache for our classifier:
    video crops never repeat, and caching them would grow memory with the video."""
    if not (hasattr(estimator, "_loaded_model") and hasattr(estimator, "_decide_embeddings")):
        return estimator.predict_proba(crops)
    from ..backends._encoding import embed_images

    batch_size = estimator._check_encoding_params()[0]
    embeddings, _ = embed_images(  # crops are in memory: no worker processes
        estimator._loaded_model(),
        crops,
        batch_size=batch_size,
        num_workers=0,
        cache=False,
        cache_dir=None,
        verbose=False,
        skip_errors=False,
    )
    return estimator._decide_embeddings(embeddings).proba


def _detect_around(detector, picture, boxes):
    """Detections in squares of 2.5 face sides around ``boxes``, in picture pixels."""
    from ..faces._detectors import merge_detections

    found, scores = [], []
    for x0, y0, x1, y1 in boxes:
        half = 1.25 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top = round(cx - half), round(cy - half)
        region = picture.crop((left, top, round(cx + half), round(cy + half)))
        for (bx0, by0, bx1, by1), score in detector.detect(region):
            # Only the face the square is about: centred near it, not cut by the square's edge.
            near = abs((bx0 + bx1) / 2 + left - cx) < half / 2 and abs((by0 + by1) / 2 + top - cy) < half / 2
            inside = bx0 > 1 and by0 > 1 and bx1 < region.width - 1 and by1 < region.height - 1
            if near and inside:
                found.append((bx0 + left, by0 + top, bx1 + left, by1 + top))
                scores.append(score)
    if not found:
        return []
    merged, merged_scores = merge_detections(np.array(found), np.array(scores))
    return [(tuple(map(float, b)), float(sc)) for b, sc in zip(merged, merged_scores)]


def _decide(estimator, classes, smoother, pending, crops):
    """Classify the crops of ``pending`` frames in one call; yield each frame, smoothed."""
    proba = iter(_predict_proba(estimator, crops) if crops else ())
    abstain_below = threshold_of(estimator)
    for frame, faces in pending:
        for face in faces:
            raw = next(proba)
            smoothed = smoother.update(face["track"], frame.time, raw)
            label = abstain([str(classes[int(np.argmax(smoothed))])], [np.max(smoothed)], abstain_below)
            face.update(
                label=str(label[0]),
                raw_label=str(classes[int(np.argmax(raw))]),
                probabilities=smoothed,
            )
        yield frame, faces


def predict_video(
    estimator,
    source,
    *,
    detector=None,
    tracker=None,
    every=None,
    fps=None,
    detect_every=2,
    rescan=1.0,
    smoothing=0.5,
    margin=0.1,
    grayscale=False,
    batch_frames="auto",
    frame_rate=30.0,
    format=None,
):
    """Track every face of a video and predict its emotions over time.

    Frames are decoded lazily in a background thread; faces are detected in
    every ``detect_every``-th processed frame and carried in between by their
    tracks; the face crops of ``batch_frames`` consecutive frames go through
    the image encoder in one call; each track's probabilities are smoothed
    with a time constant of ``smoothing`` seconds.

    Parameters
    ----------
    estimator : ZeroShotEmotionClassifier
        Fitted, with ``precomputed=False``.
    source : str, Path, int or iterable
        A video file (mp4, webm, avi, mov, ...), a camera number, a stream URL,
        or an iterable of frames (RGB arrays or PIL images, or ``(time, image)``
        pairs); see :func:`read_frames`. Needs the ``video`` extra (PyAV) except
        for an iterable.
    detector : object, default=None
        Face detector with ``detect(image) -> [(box, score), ...]``; None is
        :class:`BlazeFaceDetector` (the ``faces`` extra).
    tracker : object, default=None
        With ``update(boxes, time) -> ids`` and ``predict(time) -> {id: box}``;
        None is :class:`IoUTracker`.
    every : int, default=None
        Process every n-th frame of the source.
    fps : float, default=None
        Process at most this many frames per second. At most one of ``every``
        and ``fps``; neither processes every frame.
    detect_every : int, default=2
        Run the detector on every n-th processed frame; faces in between are
        carried by their tracks (moved at their recent velocity).
    rescan : float, default=1.0
        Seconds between detections over the whole frame. Detections in between
        look only at squares of 2.5 face sides around the faces seen in the last
        second (far cheaper), so a new face is found within ``rescan`` seconds.
        0 scans the whole frame at every detection.
    smoothing : float, default=0.5
        Time constant in seconds of each track's moving average of
        probabilities (:class:`EmotionSmoother`); 0 turns smoothing off.
    margin : float, default=0.1
        Border around each face crop, as in :class:`FaceCropper`.
    grayscale : bool, default=False
        Grayscale crops, for models trained on FER2013.
    batch_frames : int or "auto", default="auto"
        Frames whose crops share an encoder call. "auto": 8 for a file, 1 for a
        live source (no waiting for later frames).
    frame_rate : float, default=30.0
        Frames per second of an iterable of plain images.
    format : str, default=None
        FFmpeg input format (``"dshow"``, ``"x11grab"``, ...); None guesses.

    Returns
    -------
    faces : pandas.DataFrame
        One row per face per processed frame: ``frame`` (index in the source),
        ``time`` (seconds), ``track`` (id, from 1), ``x0, y0, x1, y1`` (box in
        pixels, x1 and y1 exclusive), ``score`` (detector confidence, NaN where
        the box was carried by the track), ``detected``, ``label`` (top class
        of the smoothed probabilities; "unsure" when their top is below the
        estimator's ``abstain_below``), ``raw_label`` (top class of the frame's
        own probabilities) and one column per class (smoothed probability,
        in ``estimator.classes_`` order; rows sum to 1).

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32").fit()   # doctest: +SKIP
    >>> faces = predict_video(clf, "interview.mp4", fps=5)             # doctest: +SKIP
    >>> faces.groupby("track").label.agg(lambda s: s.value_counts().idxmax())  # doctest: +SKIP
    """
    rows = []
    classes = [str(c) for c in estimator.classes_] if hasattr(estimator, "classes_") else []
    for frame, faces in iter_video_faces(
        estimator,
        source,
        detector=detector,
        tracker=tracker,
        every=every,
        fps=fps,
        detect_every=detect_every,
        rescan=rescan,
        smoothing=smoothing,
        margin=margin,
        grayscale=grayscale,
        batch_frames=batch_frames,
        frame_rate=frame_rate,
        format=format,
    ):
        rows.extend(face_rows(frame, faces, classes))
    return video_faces_to_frame(rows, classes)


def face_columns(classes):
    """The columns of :func:`predict_video`'s rows and of ``faces.csv``, in order."""
    return [
        "frame",
        "time",
        "track",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "detected",
        "label",
        "raw_label",
        *classes,
    ]


def face_rows(frame, faces, classes):
    """Flat rows (dicts) of one frame's faces, as :func:`predict_video`'s columns."""
    return [
        dict(
            frame=frame.index,
            time=round(frame.time, 6),
            track=face["track"],
            **dict(zip(("x0", "y0", "x1", "y1"), face["box"])),
            score=face["score"],
            detected=face["detected"],
            label=face["label"],
            raw_label=face["raw_label"],
            **dict(zip(classes, (float(p) for p in face["probabilities"]))),
        )
        for face in faces
    ]


def video_faces_to_frame(rows, classes):
    """Rows of :func:`face_rows` as a DataFrame with fixed columns (also when empty)."""
    import pandas as pd

    columns = face_columns(classes)
    frame = pd.DataFrame(rows, columns=columns)
    ints = dict.fromkeys(("frame", "track", "x0", "y0", "x1", "y1"), "int64")
    return frame.astype({**ints, "time": "float64", "score": "float64", "detected": "bool"})
