"""Emotions of every face of a video, tracked and smoothed over time."""

import math
import numbers

import numpy as np
from PIL import Image

from .._abstention import abstain_ranked
from .._boxes import clip_detections
from .._front import classifier_front
from .._records import PredictionRecord, flat_columns, records_to_frame
from ..exceptions import InvalidParameterError
from ..faces._cropping import FaceCropper
from ._reader import check_sampling, is_live_source, read_frames
from ._smoothing import EmotionSmoother
from ._tracking import IoUTracker

__all__ = ["face_columns", "face_rows", "iter_video_faces", "predict_video", "video_faces_to_frame"]

_OWNER = "predict_video"
_FILE_BATCH = 8  # frames whose crops go through one encoder call, for files
_REMEMBER = 1.0  # seconds a face missed by detection is still looked for around its box


def _check(estimator, detector, tracker, detect_every, smoothing, batch_frames, abstain_below):
    """The classifier's front (checked to take images), after the parameters' checks."""
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
    # Crops never repeat: no in-memory embedding cache, which would grow with the video.
    return classifier_front(estimator, abstain_below=abstain_below, owner=_OWNER, streaming=_streaming)


def _streaming(zero_shot):
    return {"cache": False, "verbose": False, "num_workers": 0}


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
    abstain_below=None,
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
    abstain_below : float, default=None
        As for :func:`predict_video`.

    Yields
    ------
    frame : Frame
        ``index``, ``time`` (seconds) and ``image`` (RGB uint8 array).
    faces : list of PredictionRecord
        One per face shown in the frame, the record of every other output:
        ``frame``, ``time``, ``track`` (int id), ``box`` (``[x0, y0, x1, y1]``
        ints, pixels), ``score`` (the detector's, NaN on a frame where the box
        was carried from the last detection), ``detected`` (bool), ``labels``
        (classes by smoothed probability, best first; ``record["label"]`` is
        the first), ``raw_label`` (top class of this frame's own
        probabilities), ``probabilities`` (class -> smoothed probability) and
        ``status`` (``"face"``, or ``"failed"`` with ``error`` when the crop
        could not be classified and the estimator has ``on_error="skip"``).
    """
    check_sampling(every, fps, _OWNER)
    front = _check(estimator, detector, tracker, detect_every, smoothing, batch_frames, abstain_below)
    if isinstance(rescan, bool) or not isinstance(rescan, numbers.Real) or not rescan >= 0:
        raise InvalidParameterError(
            f"The 'rescan' parameter of {_OWNER} must be a number of seconds >= 0. Got {rescan!r} instead."
        )
    cropper = FaceCropper(detector, margin=margin, grayscale=grayscale).fit()
    # Checked above, when called; the frames come from a generator, when iterated.
    return _faces(
        front,
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
    front,
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
                found = clip_detections(detector.detect(picture), size)
                last_scan = frame.time
            else:  # look only around the faces known: new faces wait for the next scan
                around = _detect_around(detector, picture, [b for b, _ in known.values()])
                found = clip_detections(around, size)
            ids = tracker.update(np.array([box for box, _ in found], float).reshape(-1, 4), frame.time)
            faces = [
                _face(frame, k, int(i), box, score, True)
                for k, (i, (box, score)) in enumerate(zip(ids, found))
            ]
            known.update({face.track: (face.box, frame.time) for face in faces})
            _forget_ended_tracks(smoother, tracker, frame.time)
        else:  # boxes carried by the tracks
            faces = []
            for track, box in tracker.predict(frame.time).items():
                clipped = clip_detections([(box, 0.0)], size)
                if clipped:
                    faces.append(_face(frame, len(faces), int(track), clipped[0][0], float("nan"), False))
        for face in faces:
            crops.append(cropper.crop(picture, face.box))
        pending.append((frame, faces))
        if len(pending) >= batch_frames:
            yield from _decide(front, smoother, pending, crops)
            pending, crops = [], []
    yield from _decide(front, smoother, pending, crops)


def _face(frame, number, track, box, score, detected):
    """The record of one face of a frame, before it is classified."""
    return PredictionRecord(
        image_index=frame.index,
        image=None,
        status="face",
        face=number,
        box=[int(v) for v in box],
        score=float(score),
        frame=frame.index,
        time=round(frame.time, 6),
        track=track,
        detected=detected,
    )


def _forget_ended_tracks(smoother, tracker, time):
    """Drop the smoothing state of the tracks that ended, so memory does not grow with the video."""
    if hasattr(tracker, "live_tracks"):
        alive = set(tracker.live_tracks())
    else:  # a tracker of the user's: a track unseen for long has ended
        horizon = max(2 * _REMEMBER, 5 * smoother.smoothing)
        alive = {t for t, seen in smoother.last_seen().items() if time - seen <= horizon}
    smoother.forget(smoother.tracks() - alive)


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


def _decide(front, smoother, pending, crops):
    """Classify the crops of ``pending`` frames in one call; yield each frame, smoothed."""
    n_classes = len(front.classes)
    decision = front.decide(crops) if crops else None
    proba = decision.proba if crops else np.zeros((0, n_classes))
    errors = dict(decision.errors) if crops else {}
    if len(proba) != len(crops):
        raise ValueError(
            f"The estimator gave {len(proba)} rows of probabilities for {len(crops)} face crops; "
            "predict_proba must give one row per crop."
        )
    position = 0
    for frame, faces in pending:
        for face in faces:
            raw = proba[position]
            if position in errors:
                face.status, face.error = "failed", str(errors[position])
            else:
                smoothed = smoother.update(face.track, frame.time, raw)
                face.labels = abstain_ranked(_ranked(front, smoothed), smoothed, front.abstain_below)
                face.raw_label = _ranked(front, raw)[0]
                face.probabilities = {c: float(p) for c, p in zip(front.classes, smoothed)}
            position += 1
        yield frame, faces


def _ranked(front, proba):
    """Class names of ``proba``'s classes, best first (ties to the earlier class)."""
    ranking = np.argsort(-np.asarray(proba, dtype=float), kind="stable")
    return [str(c) for c in front.labels_of(ranking)]


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
    abstain_below=None,
):
    """Track every face of a video and predict its emotions over time.

    Frames are decoded lazily in a background thread; faces are detected in
    every ``detect_every``-th processed frame and carried in between by their
    tracks; the face crops of ``batch_frames`` consecutive frames go through
    the image encoder in one call; each track's probabilities are smoothed
    with a time constant of ``smoothing`` seconds.

    Parameters
    ----------
    estimator : classifier of images
        Fitted, taking images: a :class:`ZeroShotEmotionClassifier`, a
        :class:`FewShotEmotionClassifier`, or any scikit-learn classifier whose
        ``X`` is images, with ``predict_proba`` and ``classes_`` (such as a
        temperature-calibrated ``CalibratedClassifierCV``), as
        :func:`predict_faces` takes.
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
    abstain_below : float in [0, 1], default=None
        A face whose top smoothed probability is below it is labelled
        ``"unsure"``; None takes the outermost clip-fer estimator's
        ``abstain_below`` (see :func:`predict_faces`).

    Returns
    -------
    faces : pandas.DataFrame
        One row per face per processed frame: ``frame`` (index in the source),
        ``time`` (seconds), ``track`` (id, from 1), ``x0, y0, x1, y1`` (box in
        pixels, x1 and y1 exclusive), ``score`` (detector confidence, NaN where
        the box was carried by the track), ``detected``, ``label`` (top class
        of the smoothed probabilities), ``raw_label`` (top class of the frame's
        own probabilities) and one column ``proba_<class>`` per class (smoothed
        probability, in ``estimator.classes_`` order; rows sum to 1; NaN, with
        no label, for a crop skipped under ``on_error="skip"``). The columns
        are :func:`clip_fer._records.flat_columns`' scheme, so no class name
        can collide with a fixed column.

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32").fit()   # doctest: +SKIP
    >>> faces = predict_video(clf, "two-faces.mp4", fps=5)             # doctest: +SKIP
    >>> faces.groupby("track").label.agg(lambda s: s.value_counts().idxmax())  # doctest: +SKIP
    """
    records = []
    classes = [str(c) for c in estimator.classes_] if hasattr(estimator, "classes_") else []
    for _, faces in iter_video_faces(
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
        abstain_below=abstain_below,
    ):
        records.extend(faces)
    return video_faces_to_frame(records, classes)


def face_columns(classes):
    """The columns of :func:`predict_video`'s rows and of ``faces.csv``, in order."""
    return flat_columns(classes, 0, "video")


def face_rows(faces, classes):
    """Flat rows (dicts) of one frame's face records, as :func:`predict_video`'s columns."""
    return [face.to_flat(classes, 0, "video") for face in faces]


def video_faces_to_frame(records, classes):
    """Face records as a DataFrame with :func:`face_columns` (also when empty)."""
    return records_to_frame(records, classes, 0, "video")
