"""Box geometry, written once: ``(x0, y0, x1, y1)`` boxes in pixels, x1 and y1 exclusive.

Used by the face detector (merging detections), the face cropper (boxes clipped
to the image) and the video tracker (matching detections to tracks).
"""

import numpy as np

__all__ = ["area", "as_boxes", "centres", "clip_detections", "intersection", "iou", "share_inside", "sides"]


def as_boxes(boxes, dtype=np.float64):
    """``boxes`` as an ``(n, 4)`` array."""
    return np.asarray(boxes, dtype=dtype).reshape(-1, 4)


def area(boxes):
    """``(n,)`` areas (0 for an empty or inverted box's negative side)."""
    boxes = np.asarray(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def intersection(a, b):
    """``(len(a), len(b))`` areas of the pairwise intersections."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.clip(rb - lt, 0, None).prod(axis=2)


def iou(a, b):
    """``(len(a), len(b))`` intersection over union of two sets of boxes.

    Parameters
    ----------
    a, b : array-like of shape (n, 4) and (m, 4)

    Returns
    -------
    iou : ndarray of shape (n, m)
        In [0, 1]; 0 where both boxes are empty.
    """
    dtype = np.result_type(np.asarray(a).dtype, np.asarray(b).dtype, np.float32)
    a, b = as_boxes(a, dtype), as_boxes(b, dtype)
    inter = intersection(a, b)
    union = area(a)[:, None] + area(b)[None, :] - inter
    return inter / np.maximum(union, np.finfo(dtype).tiny)


def share_inside(a, b, least_area=1e-6):
    """``(len(a), len(b))``: the share of each box of ``a`` that lies in each box of ``b``."""
    return intersection(a, b) / np.maximum(area(a), least_area)[:, None]


def centres(boxes):
    """``(n, 2)`` box centres."""
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def sides(boxes):
    """``(n,)`` longer sides."""
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def clip_detections(detections, size):
    """Detections ``[(box, score), ...]`` as int boxes inside an image, best first.

    Corners are rounded and clipped to ``size = (width, height)``; boxes left
    empty are dropped.

    Parameters
    ----------
    detections : iterable of (box, score)
    size : (int, int)
        The image's width and height.

    Returns
    -------
    detections : list of ((int, int, int, int), float)
    """
    width, height = size
    clipped = []
    for box, score in detections:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 > x0 and y1 > y0:
            clipped.append(((x0, y0, x1, y1), float(score)))
    return sorted(clipped, key=lambda face: -face[1])
