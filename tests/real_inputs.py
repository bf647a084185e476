"""What the real-input tests share: the kinds of issue 10, a decorator that files a
test under a kind (``tools/bad_inputs_table.py`` builds docs/bad-inputs.md from it),
and builders of the inputs (EXIF-rotated photos, sideways copies, ...)."""

import numpy as np
from PIL import Image, ImageOps

#: Issue 10's kinds, as the table in docs/bad-inputs.md titles them.
KINDS = {
    1: "EXIF orientation (phone photos)",
    2: "A file replaced behind the cache",
    3: "Damaged cache files",
    4: "A cache_dir that cannot be used",
    5: "A single image array or tensor",
    6: "Extreme shapes (memory of preprocessing)",
    7: "Items that used to escape on_error='skip'",
    8: "PIL modes F, I and I;16",
    9: "Small vocabularies (1- and 2-class banks)",
    10: "Skipped items in scores and metrics",
    11: "Smaller ones: CSV bytes, sets, DataFrames, folders, Ctrl-C, GIF/TIFF frames",
    # Issue 18 (the scoring core and the one record), numbered from 20.
    20: "Issue 18: class names that collide with output columns",
    21: "Issue 18: components and parameters that break the decision contract",
    22: "Issue 18: synonyms equal up to case or spaces",
    23: "Issue 18: work lost to one bad item",
    24: "Issue 18: a stray image in a split/class tree",
    25: "Issue 18: one core, one record (tracks, boxes, the core itself)",
    26: "Issue 18: a model replaced under its name",
    27: "Issue 18: Parquet outputs resumed after damage or with missing keys",
}


def kind(number, tried, outcome):
    """File a test under kind ``number``: what input it tries and what it asserts."""
    assert number in KINDS

    def mark(test):
        test.real_input = (number, tried, outcome)
        return test

    return mark


# The pixels stored in a file with EXIF orientation o are the upright pixels under
# the inverse of the transform a viewer applies (EXIF 2.32, tag 0x0112). Written with
# numpy, independently of Pillow's exif_transpose.
def upright_to_stored(array, orientation):
    """The stored pixels whose viewer display (orientation 1..8) is ``array``."""
    a = np.asarray(array)
    return {
        1: lambda: a,
        2: lambda: a[:, ::-1],
        3: lambda: a[::-1, ::-1],
        4: lambda: a[::-1, :],
        5: lambda: np.swapaxes(a, 0, 1),
        6: lambda: np.rot90(a, 1),  # the viewer turns it 90 degrees clockwise
        7: lambda: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda: np.rot90(a, -1),  # the viewer turns it 90 degrees counter-clockwise
    }[orientation]().copy()


def save_with_orientation(array, path, orientation, fmt=None):
    """Write ``array`` (upright) as a file that a viewer shows upright via EXIF."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(upright_to_stored(array, orientation)).save(path, format=fmt, exif=exif)
    return str(path)


def pillow_upright(path):
    """Pillow's own reading of the file, upright (a second reference)."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def asymmetric_face(seed=0, height=48, width=40):
    """A grayscale 'face' with no symmetry: any turn or flip changes it."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(height // 8, width // 8)).astype(np.float64)
    face = np.kron(blocks, np.ones((8, 8)))
    face[:8, :8] = 255  # a bright corner marks up-left
    return face.astype(np.uint8)
