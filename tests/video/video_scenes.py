"""Synthetic videos with known faces, boxes and identities, for the video tests
(and benchmarks/video.py): faces moving across a background, one changing
expression mid-way, one entering late."""

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from conftest import FER2013
from PIL import Image
from scipy import ndimage
from sklearn.base import BaseEstimator


@dataclass
class Person:
    """A face moving in a straight line from ``start`` to ``end`` (top-left corners)
    between frames ``enter`` and ``leave``; ``faces`` maps a first frame to the face
    image shown from it on."""

    faces: dict
    start: tuple
    end: tuple
    side: int
    enter: int = 0
    leave: int = 10**9
    boxes: dict = field(default_factory=dict)

    def box(self, i, n):
        if not self.enter <= i < min(self.leave, n):
            return None
        t = (i - self.enter) / max(min(self.leave, n) - 1 - self.enter, 1)
        x = round(self.start[0] + t * (self.end[0] - self.start[0]))
        y = round(self.start[1] + t * (self.end[1] - self.start[1]))
        return (x, y, x + self.side, y + self.side)

    def face(self, i):
        first = max(k for k in self.faces if k <= i)
        return self.faces[first]


def background(size):
    """A soft diagonal gradient with low-contrast stripes (not a face)."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    base = 90 + 60 * (xs / w) + 30 * (ys / h) + 8 * np.sin(xs / 9.0)
    return np.repeat(base[:, :, None], 3, axis=2).clip(0, 255).astype(np.uint8)


def render(people, n, size=(320, 240)):
    """Frames (RGB uint8 arrays) and truth: per frame, {person index: box}."""
    back = background(size)
    frames, truth = [], []
    for i in range(n):
        picture = Image.fromarray(back.copy())
        boxes = {}
        for p, person in enumerate(people):
            box = person.box(i, n)
            if box is None:
                continue
            face = person.face(i).convert("RGB").resize((person.side,) * 2, Image.Resampling.BICUBIC)
            picture.paste(face, box[:2])
            boxes[p] = box
        frames.append(np.asarray(picture))
        truth.append(boxes)
    return frames, truth


def colour_square(colour, side=48):
    """A flat square of one colour with a dark border: a 'face' for the fake detector."""
    square = np.zeros((side, side, 3), np.uint8)
    square[2:-2, 2:-2] = colour
    return Image.fromarray(square)


RED, BLUE, GREEN = (230, 40, 40), (40, 40, 230), (40, 200, 40)


def colour_people(n):
    """Three coloured squares: A red ('happy') turning blue ('sad') at frame n // 2
    with a one-frame blue flicker at n // 4; B green moving the other way; C red,
    entering at n // 3."""
    return [
        Person(
            {
                0: colour_square(RED),
                n // 4: colour_square(BLUE),
                n // 4 + 1: colour_square(RED),
                n // 2: colour_square(BLUE),
            },
            (10, 20),
            (200, 40),
            48,
        ),
        Person({0: colour_square(GREEN)}, (250, 150), (60, 170), 48),
        Person({0: colour_square(RED)}, (130, 90), (150, 110), 40, enter=n // 3),
    ]


def fer_people(n):
    """Three FER2013 PublicTest faces (72 px), A happy then (another person) surprised
    from frame n // 2, B neutral, C sad entering at n // 3."""

    def face(cls, k=0):
        return Image.open(sorted((FER2013 / "public_test" / cls).glob("*.jpg"))[k])

    return [
        Person({0: face("happy", 1), n // 2: face("surprise", 1)}, (10, 20), (150, 40), 72),
        Person({0: face("neutral", 2)}, (230, 150), (120, 160), 72),
        Person({0: face("sad", 3)}, (240, 10), (230, 30), 64, enter=n // 3),
    ]


def write_video(path, frames, fps=15, codec=None):
    """Encode RGB frames with PyAV (H.264 for mp4/mov, VP8 for webm, MPEG-4 for avi)."""
    import av

    suffix = str(path).rsplit(".", 1)[-1]
    codec = codec or {"webm": "libvpx", "avi": "mpeg4"}.get(suffix, "libx264")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "ultrafast"}
        elif codec in ("mpeg4", "libvpx"):
            stream.bit_rate = 4_000_000
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class ColourDetector:
    """Finds saturated blobs (the coloured squares); drops its n-th calls in ``drop``."""

    def __init__(self, drop=()):
        self.drop = set(drop)
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        if self.calls - 1 in self.drop:
            return []
        pixels = np.asarray(image, dtype=np.int16)
        mask = (pixels.max(axis=2) - pixels.min(axis=2)) > 100
        labels, _ = ndimage.label(mask)
        faces = []
        for found in ndimage.find_objects(labels):
            ys, xs = found
            if (ys.stop - ys.start) * (xs.stop - xs.start) >= 100:
                faces.append(((xs.start - 2, ys.start - 2, xs.stop + 2, ys.stop + 2), 0.9))
        return faces


class ColourClassifier(BaseEstimator):
    """An estimator-shaped stand-in for the emotion classifier: red is happy, blue
    sad, green neutral (a softmax of the crop's mean channels)."""

    classes_ = np.array(["happy", "neutral", "sad"])
    precomputed = False
    text_features_ = np.zeros((3, 4))

    def fit(self, X=None, y=None):
        return self

    def predict_proba(self, crops):
        means = np.array([np.asarray(c.convert("RGB"), float).reshape(-1, 3).mean(0) for c in crops])
        logits = means[:, [0, 1, 2]] / 20.0  # happy <- red, neutral <- green, sad <- blue
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match(rows, truth, min_iou=0.4):
    """Per person, the track ids of the rows overlapping it, and recall.

    ``rows`` is predict_video's DataFrame; ``truth`` render's per-frame boxes.
    Returns (recall, {person: {track: rows}}, rows matching no person).
    """
    by_frame = {f: g for f, g in rows.groupby("frame")}  # noqa: C416 (a GroupBy has .keys: dict() misreads it)
    found = total = 0
    tracks = {}
    matched_rows = set()
    for f, boxes in enumerate(truth):
        group = by_frame.get(f)
        if group is None and f not in set(by_frame):
            pass
        for person, box in boxes.items():
            total += 1
            if group is None:
                continue
            best = max(
                ((iou(box, tuple(r[["x0", "y0", "x1", "y1"]])), idx, r.track) for idx, r in group.iterrows()),
                default=(0, None, None),
            )
            if best[0] >= min_iou:
                found += 1
                matched_rows.add(best[1])
                counts = tracks.setdefault(person, {})
                counts[best[2]] = counts.get(best[2], 0) + 1
    unmatched = len(rows) - len(matched_rows)
    return found / max(total, 1), tracks, unmatched
