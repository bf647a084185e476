"""Frames of a video file, a camera or a stream, decoded lazily in a thread (PyAV)."""

import math
import os
import queue
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import numpy as np

from ..exceptions import (
    ImageInputError,
    InvalidParameterError,
    MissingDependencyError,
    VideoInputError,
)

__all__ = ["Frame", "is_live_source", "read_frames"]

VIDEO_EXTRA_HINT = 'pip install "clip-fer[video]"'
_END = object()


@dataclass
class Frame:
    """One decoded frame.

    Attributes
    ----------
    index : int
        Position of the frame in the source (0, 1, ...), counting frames that
        sampling skipped.
    time : float
        Seconds since the first frame.
    image : ndarray of uint8, shape (height, width, 3)
        RGB pixels.
    """

    index: int
    time: float
    image: np.ndarray


def _import_av():
    try:
        import av
    except ImportError:
        raise MissingDependencyError(
            "Reading video needs PyAV (PyPI: av), which is not installed. Install the "
            f"video extra: {VIDEO_EXTRA_HINT}"
        ) from None
    return av


def is_live_source(source):
    """Whether ``source`` is a camera, a stream URL or an iterable of frames
    (anything but a video file)."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        return ("://" in text and not text.startswith("file://")) or text.startswith("/dev/")
    return True


def _camera(index):
    """``av.open`` arguments for camera number ``index`` on this platform."""
    if sys.platform.startswith("linux"):
        return f"/dev/video{index}", "v4l2"
    if sys.platform == "darwin":
        return str(index), "avfoundation"
    raise InvalidParameterError(
        f"A camera number ({index}) is understood on Linux and macOS only. On Windows, "
        "pass the DirectShow device as 'video=<camera name>' with format='dshow' "
        "(ffmpeg -list_devices true -f dshow -i dummy lists the names)."
    )


def _open(source, format):
    av = _import_av()
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        url, format = _camera(int(source))
    else:
        url = os.fspath(source)
        if "://" not in url and not url.startswith("/dev/") and format is None and not Path(url).is_file():
            raise VideoInputError(
                f"The video {url!r} does not exist. Pass the path of a video file, a "
                "camera number, or a stream URL."
            )
    try:
        return av.open(url, format=format)
    except av.error.FFmpegError as exc:
        raise VideoInputError(f"Could not open the video {url!r}: {exc}") from exc


def _decoded(source, format):
    """(index, time, av.VideoFrame) of every frame of a PyAV source."""
    container = _open(source, format)
    try:
        if not container.streams.video:
            raise VideoInputError(f"{source!r} holds no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        start = None
        for index, frame in enumerate(container.decode(stream)):
            time = frame.time if frame.time is not None else index / rate
            start = time if start is None else start
            yield index, time - start, frame
    finally:
        container.close()


def _iterated(frames, frame_rate):
    """(index, time, frame) of an iterable of images or of (time, image) pairs."""
    for index, item in enumerate(frames):
        if isinstance(item, tuple) and len(item) == 2:
            yield index, float(item[0]), item[1]
        else:
            yield index, index / frame_rate, item


def _to_rgb_array(frame, index):
    if hasattr(frame, "to_ndarray"):  # av.VideoFrame
        array = frame.to_ndarray(format="rgb24")
        # Phone videos store frames sideways with a display matrix saying how to turn them
        # (PyAV: degrees counterclockwise); boxes refer to the frame as it is shown.
        turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
        return np.ascontiguousarray(np.rot90(array, k=turns)) if turns else array
    if hasattr(frame, "convert") and hasattr(frame, "mode"):  # PIL
        return np.asarray(frame.convert("RGB"))
    array = np.asarray(frame)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise ImageInputError(
            index,
            f"frame {index} must be an RGB image (PIL, or a uint8 array of shape "
            f"(height, width, 3)). Got {type(frame).__name__} of shape "
            f"{getattr(array, 'shape', None)} and dtype {array.dtype} instead.",
        )
    return np.ascontiguousarray(array[:, :, :3])


def _sampled(items, every, fps):
    """The items kept by ``every`` (n-th frames) or ``fps`` (first frame at or after
    each tick of 1 / fps seconds)."""
    next_tick = 0.0
    for index, time, frame in items:
        if every is not None:
            if index % every:
                continue
        elif fps is not None:
            if time + 1e-6 < next_tick:
                continue
            next_tick = (math.floor(time * fps + 1e-6) + 1) / fps  # ticks stay at multiples of 1 / fps
        yield index, time, frame


def check_sampling(every, fps, owner):
    if every is not None and fps is not None:
        raise InvalidParameterError(
            f"Pass at most one of 'every' and 'fps' to {owner}. Got every={every!r} and fps={fps!r}."
        )
    if every is not None and (
        isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1
    ):
        raise InvalidParameterError(
            f"The 'every' parameter of {owner} must be an int >= 1 (keep every n-th frame). "
            f"Got {every!r} instead."
        )
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < math.inf
    ):
        raise InvalidParameterError(
            f"The 'fps' parameter of {owner} must be a finite number > 0 (frames kept per second). "
            f"Got {fps!r} instead."
        )


def read_frames(source, *, every=None, fps=None, frame_rate=30.0, format=None, queue_size=4):
    """Frames of a video, decoded one by one in a background thread.

    Memory stays flat in the video's length: at most ``queue_size`` decoded
    frames wait at any time. Frames that sampling skips are not converted to
    arrays.

    Parameters
    ----------
    source : str, Path, int or iterable
        A video file (anything FFmpeg reads: mp4, webm, avi, mov, ...), a camera
        number (``0``: ``/dev/video0`` through v4l2 on Linux, AVFoundation on
        macOS), a stream URL (``rtsp://``, ``http://``, ...), or an iterable of
        frames (PIL images or ``(height, width, 3)`` uint8 arrays, or
        ``(time, image)`` pairs) such as a generator reading a camera.
    every : int, default=None
        Keep every n-th frame (0, n, 2n, ...).
    fps : float, default=None
        Keep at most this many frames per second (the first frame at or after
        each tick). At most one of ``every`` and ``fps``; neither keeps all.
    frame_rate : float, default=30.0
        For an iterable of plain images: its frames per second (frame ``i`` is at
        ``i / frame_rate`` seconds). Files and streams carry their own times.
    format : str, default=None
        FFmpeg input format, e.g. ``"dshow"`` or ``"x11grab"`` (screen capture);
        None lets FFmpeg guess.
    queue_size : int, default=4
        Decoded frames that may wait for the consumer.

    Yields
    ------
    frame : Frame
        ``index``, ``time`` (seconds) and ``image`` (RGB uint8 array).

    Examples
    --------
    >>> for frame in read_frames("interview.mp4", fps=5):     # doctest: +SKIP
    ...     print(frame.index, frame.time, frame.image.shape)
    """
    check_sampling(every, fps, "read_frames")
    if isinstance(source, (str, os.PathLike, int, np.integer)) and not isinstance(source, bool):
        items = _decoded(source, format)
    elif hasattr(source, "__iter__"):
        if not (isinstance(frame_rate, (int, float)) and frame_rate > 0):
            raise InvalidParameterError(
                f"The 'frame_rate' parameter of read_frames must be a number > 0. Got {frame_rate!r} instead."
            )
        items = _iterated(source, frame_rate)
    else:
        raise InvalidParameterError(
            "The 'source' parameter of read_frames must be a video path, a camera number, "
            f"a stream URL or an iterable of frames. Got {type(source).__name__} instead."
        )
    return _threaded(_sampled(items, every, fps), queue_size)


def _threaded(items, queue_size):
    """Run ``items`` (decoding and conversion) in a thread; yield Frames."""
    waiting = queue.Queue(maxsize=queue_size)
    stop = threading.Event()

    def produce():
        try:
            for index, time, frame in items:
                if stop.is_set():
                    break
                result = Frame(index, float(time), _to_rgb_array(frame, index))
                while not stop.is_set():
                    try:
                        waiting.put(result, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:
            _put(waiting, exc, stop)
        finally:
            items.close()
            _put(waiting, _END, stop)

    worker = threading.Thread(target=produce, name="clip-fer-decoder", daemon=True)
    worker.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        deadline = monotonic() + 2  # a live source may block until its next frame
        while worker.is_alive() and monotonic() < deadline:
            try:  # unblock a producer waiting on a full queue
                waiting.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def _put(waiting, item, stop):
    while not stop.is_set():
        try:
            waiting.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
