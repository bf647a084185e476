"""Emotion probabilities smoothed over time, per track."""

import math

import numpy as np

__all__ = ["EmotionSmoother"]


class EmotionSmoother:
    """Exponential moving average of each track's probabilities, in seconds.

    After ``dt`` seconds, a new observation ``p`` moves a track's average ``s``
    to ``s + (1 - exp(-dt / smoothing)) * (p - s)``: a one-frame outlier moves
    it a little, a lasting change of expression takes over with time constant
    ``smoothing`` (a full switch between two classes crosses over after about
    ``0.7 * smoothing`` seconds). The first observation of a track is taken as
    is; ``smoothing=0`` turns smoothing off.

    Parameters
    ----------
    smoothing : float, default=0.5
        Time constant in seconds, >= 0.
    """

    def __init__(self, smoothing=0.5):
        self.smoothing = smoothing
        self._state = {}

    def update(self, track, time, proba):
        """The smoothed probabilities of ``track`` after observing ``proba`` at ``time``.

        Parameters
        ----------
        track : int
            The track id.
        time : float
            When ``proba`` was observed, in seconds.
        proba : array-like of shape (n_classes,)
            This frame's probabilities for the track.

        Returns
        -------
        smoothed : ndarray of shape (n_classes,)
            The exponential moving average with time constant ``smoothing``.
        """
        proba = np.asarray(proba, dtype=float)
        previous = self._state.get(track)
        if previous is None or self.smoothing == 0:
            smoothed = proba
        else:
            last_time, average = previous
            weight = 1 - math.exp(-max(time - last_time, 0.0) / self.smoothing)
            smoothed = average + weight * (proba - average)
        self._state[track] = (time, smoothed)
        return smoothed

    def tracks(self):
        """The ids of the tracks with a smoothing state.

        Returns
        -------
        ids : set of int
        """
        return set(self._state)

    def last_seen(self):
        """The time each track was last updated.

        Returns
        -------
        times : dict of int to float
        """
        return {track: time for track, (time, _) in self._state.items()}

    def forget(self, tracks):
        """Drop the state of ended tracks, so memory does not grow with the video.

        A track id seen again afterwards starts afresh.

        Parameters
        ----------
        tracks : iterable of int
        """
        for track in tracks:
            self._state.pop(track, None)
