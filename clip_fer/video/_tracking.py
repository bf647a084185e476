"""Face tracks: one id per person across frames (IoU matching, Hungarian assignment)."""

import numpy as np

from .._boxes import centres, iou, sides

__all__ = ["IoUTracker"]


class IoUTracker:
    """Keep one id per face across frames.

    Each detection is matched to a live track by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the overlap of the detection
    with the track's box, moved by the track's velocity to the detection's time.
    A detection that overlaps no track by ``min_iou`` but whose centre lies
    within half a face side of a track's, at a similar size, is matched too
    (a face that moved fast between two detections). Unmatched detections
    start new tracks; a track not matched for more than ``max_missed`` seconds
    ends, so a face hidden for a moment keeps its id.

    Any object with the methods ``update(boxes, time) -> ids`` and
    ``predict(time) -> {id: box}`` can replace it in :func:`predict_video`.

    Parameters
    ----------
    min_iou : float, default=0.2
        Least overlap of a detection with a track's predicted box to match it.
    max_missed : float, default=1.0
        Seconds a track lives on without a matching detection.
    """

    def __init__(self, *, min_iou=0.2, max_missed=1.0):
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.reset()

    def reset(self):
        """Forget every track; ids start again at 1."""
        self._tracks = {}  # id -> dict(box, velocity, time, visible)
        self._next_id = 1

    def _moved(self, track, time):
        dt = min(max(time - track["time"], 0.0), 0.5)  # extrapolate half a second at most
        return track["box"] + track["velocity"] * dt

    def update(self, boxes, time):
        """Match the detections of one frame to tracks.

        Parameters
        ----------
        boxes : array-like of shape (n, 4)
            ``(x0, y0, x1, y1)`` detections of the frame.
        time : float
            The frame's time, in seconds.

        Returns
        -------
        ids : list of int
            The track id of each box (new ids for new faces).
        """
        from scipy.optimize import linear_sum_assignment

        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        self._tracks = {i: t for i, t in self._tracks.items() if time - t["time"] <= self.max_missed}
        ids = list(self._tracks)
        predicted = np.array([self._moved(self._tracks[i], time) for i in ids]).reshape(-1, 4)
        cost = np.full((len(boxes), len(ids)), 1e6)
        if len(ids) and len(boxes):
            overlap = iou(boxes, predicted)
            dist = np.linalg.norm(centres(boxes)[:, None] - centres(predicted)[None], axis=2)
            mean_side = (sides(boxes)[:, None] + sides(predicted)[None]) / 2
            ratio = sides(boxes)[:, None] / np.maximum(sides(predicted)[None], 1e-9)
            near = (dist < mean_side / 2) & (ratio > 2 / 3) & (ratio < 3 / 2)
            cost = np.where(near, 1 + dist / mean_side, cost)
            cost = np.where(overlap >= self.min_iou, 1 - overlap, cost)
        rows, cols = linear_sum_assignment(cost) if cost.size else ((), ())
        assigned = [None] * len(boxes)
        for r, c in zip(rows, cols):
            if cost[r, c] < 1e6:
                assigned[r] = ids[c]
        for track in self._tracks.values():
            track["visible"] = False
        for k, (box, track_id) in enumerate(zip(boxes, assigned)):
            if track_id is None:
                assigned[k] = self._next_id
                self._next_id += 1
                self._tracks[assigned[k]] = dict(box=box, velocity=np.zeros(4), time=time, visible=True)
                continue
            track = self._tracks[track_id]
            dt = time - track["time"]
            if dt > 0:
                velocity = (box - track["box"]) / dt
                track["velocity"] = 0.5 * track["velocity"] + 0.5 * velocity
            track.update(box=box, time=time, visible=True)
        return [int(i) for i in assigned]

    def live_tracks(self):
        """The ids of the tracks still alive (matched within ``max_missed`` seconds
        of the last :meth:`update`), visible or not.

        Returns
        -------
        ids : set of int
        """
        return set(self._tracks)

    def predict(self, time):
        """Boxes at ``time`` of the tracks matched by the last :meth:`update`.

        Parameters
        ----------
        time : float
            The time, in seconds, to move the boxes to.

        Returns
        -------
        boxes : dict of int to ndarray of shape (4,)
            Each box moved by its track's velocity.
        """
        return {i: self._moved(t, time) for i, t in self._tracks.items() if t["visible"]}
