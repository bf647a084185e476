"""What ``clip-fer video`` writes: rows as they come, track summaries, an
annotated video and a plot per track."""

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .._abstention import UNSURE
from .._records import proba_column
from ..faces._drawing import label_colour
from ._predict import face_columns, face_rows
from ._reader import _import_av

__all__ = ["AnnotatedVideoWriter", "FaceRowWriter", "TrackSummary", "draw_tracks", "plot_tracks"]


class _Closing:
    """Writers are context managers: ``with FaceRowWriter(...) as rows:`` closes them."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def _cell(value, ndigits):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return round(value, ndigits) if isinstance(value, float) else value


class FaceRowWriter(_Closing):
    """``faces.csv``, one row per face per frame, flushed after every frame.

    Its columns are :func:`~clip_fer.video.face_columns`' (``proba_<class>`` for
    the probabilities), as in :func:`~clip_fer.predict_video`'s DataFrame.
    """

    def __init__(self, path, classes):
        self.classes = list(classes)
        self._file = open(path, "w", newline="")
        self._writer = csv.writer(self._file)
        self.columns = face_columns(self.classes)
        self._writer.writerow(self.columns)

    def write(self, frame, faces):
        for row in face_rows(faces, self.classes):
            row["score"] = _cell(row["score"], 4)
            row.update({c: _cell(row[c], 6) for c in map(proba_column, self.classes)})
            self._writer.writerow([_cell(row[c], 6) for c in self.columns])
        self._file.flush()

    def close(self):
        self._file.close()


class TrackSummary:
    """Per track: first and last time seen, frames, and frames per smoothed label."""

    def __init__(self, classes):
        self.classes = list(classes)
        self.tracks = {}

    def add(self, frame, faces):
        for face in faces:
            if not face["labels"]:  # not classified (skipped under on_error="skip")
                continue
            track = self.tracks.setdefault(
                face["track"],
                dict(first=frame.time, last=frame.time, frames=0, counts=dict.fromkeys(self.classes, 0)),
            )
            track["last"] = frame.time
            track["frames"] += 1
            # "unsure" (abstain_below) is counted but has no share column
            track["counts"][face["label"]] = track["counts"].get(face["label"], 0) + 1

    def write(self, path):
        with open(path, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["track", "first_time", "last_time", "frames", "label", *(f"share_{c}" for c in self.classes)]
            )
            for track, t in sorted(self.tracks.items()):
                shares = [t["counts"][c] / t["frames"] for c in self.classes]
                writer.writerow(
                    [
                        track,
                        round(t["first"], 3),
                        round(t["last"], 3),
                        t["frames"],
                        self.classes[int(np.argmax(shares))] if any(shares) else UNSURE,
                        *(round(s, 4) for s in shares),
                    ]
                )


def draw_tracks(image, faces):
    """A copy of the RGB array ``image`` with each face's box, track id and smoothed
    label and probability (PIL image)."""
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    short_side = min(picture.size)
    width = max(2, round(short_side / 250))
    font = ImageFont.load_default(size=max(12, round(short_side / 32)))
    for face in faces:
        x0, y0, x1, y1 = face["box"]
        label = face["label"]
        colour = label_colour(label if label is not None else "")
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=width if face["detected"] else 1)
        if label is None:
            caption = f"#{face['track']} {face['status']}"
        else:
            caption = f"#{face['track']} {label} {face['probabilities'][label]:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), caption, font=font)
        text_w, text_h = right - left + 2 * width, bottom - top + 2 * width
        ty = y0 - text_h if y0 - text_h >= 0 else y1
        ty = max(min(ty, picture.height - text_h), 0)
        tx = max(min(x0, picture.width - text_w), 0)
        draw.rectangle((tx, ty, tx + text_w, ty + text_h), fill=colour)
        draw.text((tx + width - left, ty + width - top), caption, fill=(0, 0, 0), font=font)
    return picture


class AnnotatedVideoWriter(_Closing):
    """An H.264 (else MPEG-4) ``.mp4`` of the processed frames, drawn, at their times."""

    def __init__(self, path):
        self.path = Path(path)
        self._container = self._stream = None
        self._last_pts = -1

    def write(self, frame, faces):
        av = _import_av()
        picture = draw_tracks(frame.image, faces)
        if self._container is None:
            self._container = av.open(str(self.path), "w")
            codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
            self._stream = self._container.add_stream(codec, rate=1000)
            self._stream.width = picture.width - picture.width % 2
            self._stream.height = picture.height - picture.height % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.codec_context.time_base = Fraction(1, 1000)
        picture = picture.crop((0, 0, self._stream.width, self._stream.height))
        video_frame = av.VideoFrame.from_image(picture)
        pts = max(round(frame.time * 1000), self._last_pts + 1)
        video_frame.pts, video_frame.time_base = pts, Fraction(1, 1000)
        self._last_pts = pts
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self):
        if self._container is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None


def plot_tracks(faces_csv, folder, classes):
    """One PNG per track of its smoothed probabilities over time; the paths written.

    Reads ``faces_csv`` back (memory is spent only now, not while the video plays).
    Needs pandas and matplotlib (the ``report`` extra).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    faces = pd.read_csv(faces_csv)
    written = []
    for track, rows in faces.groupby("track"):
        figure, axes = plt.subplots(figsize=(8, 3))
        for c in classes:
            axes.plot(rows["time"], rows[proba_column(c)], label=c, color=np.array(label_colour(c)) / 255)
        axes.set(
            xlabel="time (s)",
            ylabel="smoothed probability",
            ylim=(0, 1),
            title=f"track {track}: {len(rows)} frames",
        )
        axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
        figure.tight_layout()
        path = Path(folder) / f"track-{track}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
