"""Video and live streams: frames read lazily (:func:`read_frames`, PyAV), faces
tracked (:class:`IoUTracker`), emotions smoothed over time
(:class:`EmotionSmoother`), all in :func:`predict_video`.

Reading files, cameras and streams needs the ``video`` extra (PyAV); face
detection the ``faces`` extra.
"""

from ._predict import iter_video_faces, predict_video
from ._reader import Frame, read_frames
from ._smoothing import EmotionSmoother
from ._tracking import IoUTracker

__all__ = ["EmotionSmoother", "Frame", "IoUTracker", "iter_video_faces", "predict_video", "read_frames"]
