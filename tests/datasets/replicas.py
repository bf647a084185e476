"""Small replicas of the benchmarks' published layouts, written by the tests.

Each face is a flat grey square of its own level (``level(i)``), so whatever a
loader returns for an item (a file, or a crop of a larger photo) tells which
face it is, through JPEG's losses too (``which_face``). The class tables here
are written from each data set's own documentation, not from clip-fer's code.
"""

import numpy as np
from PIL import Image

# Label codes -> clip-fer's classes, as each data set documents them.
RAFDB = {1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "angry", 7: "neutral"}
AFFECTNET = {
    0: "neutral",
    1: "happy",
    2: "sad",
    3: "surprise",
    4: "fear",
    5: "disgust",
    6: "angry",
    7: "contempt",
}
EXPW = {0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "sad", 5: "surprise", 6: "neutral"}
CKPLUS = {
    0: "neutral",
    1: "angry",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sad",
    7: "surprise",
}
JAFFE = {
    "AN": "angry",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sad",
    "SU": "surprise",
}
KDEF = {
    "AF": "fear",
    "AN": "angry",
    "DI": "disgust",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sad",
    "SU": "surprise",
}
# FERPlus's vote columns (fer2013new.csv header), in file order.
FERPLUS_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
FERPLUS = dict(
    zip(FERPLUS_COLUMNS, ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"))
)

SIDE = 48
STEP = 12  # grey levels of two faces differ by this much


def level(i):
    """The grey level of face ``i`` (20 faces fit in 16..244)."""
    return 16 + STEP * i


def face(i, side=SIDE):
    return np.full((side, side), level(i), dtype=np.uint8)


def save_face(path, i, side=SIDE):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(face(i, side)).save(path, quality=95)
    return path


def save_photo(path, i, box, size=(120, 90)):
    """A black photo of ``size`` (w, h) with face ``i`` filling ``box`` (x0, y0, x1, y1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photo = np.zeros((size[1], size[0]), dtype=np.uint8)
    x0, y0, x1, y1 = box
    photo[y0:y1, x0:x1] = level(i)
    Image.fromarray(photo).save(path, quality=95)
    return path


def which_face(image):
    """The face an image (path, PIL image or array) shows: its mean grey level, rounded to a face."""
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        image = Image.open(image)
    mean = float(np.asarray(image.convert("L") if isinstance(image, Image.Image) else image).mean())
    i = round((mean - level(0)) / STEP)
    assert abs(mean - level(i)) < STEP / 3, f"mean grey {mean:.1f} is no face's level"
    return i
