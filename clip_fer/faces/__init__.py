"""Faces in photos: detection (:class:`BlazeFaceDetector`), cropping
(:class:`FaceCropper`), :func:`predict_faces` and drawing (:func:`draw_faces`).

Detection needs the ``faces`` extra; a new detector is any object with
``detect(rgb_image) -> [(box, score), ...]``, or a module here.
"""

from ._analyze import analyze
from ._cropping import FaceCropper, faces_to_frame, predict_faces
from ._detectors import BlazeFaceDetector
from ._drawing import draw_faces, save_annotated

__all__ = [
    "BlazeFaceDetector",
    "analyze",
    "FaceCropper",
    "draw_faces",
    "faces_to_frame",
    "predict_faces",
    "save_annotated",
]
