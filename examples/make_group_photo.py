"""Make ``examples/group.jpg``, the README's multi-face photo, from public-domain portraits.

The portraits are the ones scikit-image and matplotlib ship: Eileen Collins
(``skimage.data.astronaut()``, NASA) and Grace Hopper (matplotlib's
``grace_hopper.jpg``, U.S. Navy), both public domain. Head-and-shoulders cuts of
them are pasted on a plain backdrop at face widths from 36 to 110 pixels, some
mirrored, as a stand-in for a class photo. Needs scikit-image and matplotlib:

    python examples/make_group_photo.py examples/group.jpg

Prints each face's box ``[x0, y0, x1, y1]`` (the truth used in the README's
numbers).
"""

import sys

import numpy as np
from matplotlib import cbook
from PIL import Image, ImageOps
from skimage import data

# (portrait, head-and-shoulders cut, face box inside the portrait)
PORTRAITS = {
    "astronaut": (Image.fromarray(data.astronaut()), (100, 0, 350, 300), (178, 62, 266, 162)),
    "hopper": (
        Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"),
        (110, 20, 420, 420),
        (180, 150, 350, 325),
    ),
}
# (portrait, face width in pixels, mirrored, top-left corner of the cut)
PEOPLE = [
    ("astronaut", 110, False, (40, 260)),
    ("hopper", 90, True, (330, 300)),
    ("astronaut", 64, True, (600, 330)),
    ("hopper", 56, False, (790, 360)),
    ("astronaut", 48, False, (240, 120)),
    ("hopper", 40, True, (470, 150)),
    ("astronaut", 36, True, (700, 170)),
    ("hopper", 36, False, (860, 90)),
]


def make_group_photo(size=(960, 640)):
    """The photo and its face boxes."""
    width, height = size
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    backdrop = np.array([200, 190, 170]) * (1 - ramp) + np.array([120, 110, 100]) * ramp
    canvas = Image.fromarray(np.broadcast_to(backdrop, (height, width, 3)).astype(np.uint8))
    boxes = []
    for name, face_width, mirrored, (x, y) in PEOPLE:
        portrait, cut, face = PORTRAITS[name]
        scale = face_width / (face[2] - face[0])
        person = portrait.crop(cut)
        person = person.resize(
            (round(person.width * scale), round(person.height * scale)), Image.Resampling.LANCZOS
        )
        fx0, fy0 = (face[0] - cut[0]) * scale, (face[1] - cut[1]) * scale
        fx1, fy1 = (face[2] - cut[0]) * scale, (face[3] - cut[1]) * scale
        if mirrored:
            person = ImageOps.mirror(person)
            fx0, fx1 = person.width - fx1, person.width - fx0
        canvas.paste(person, (x, y))
        boxes.append([round(x + fx0), round(y + fy0), round(x + fx1), round(y + fy1)])
    return canvas, boxes


if __name__ == "__main__":
    photo, truth = make_group_photo()
    photo.save(sys.argv[1] if len(sys.argv) > 1 else "group.jpg", quality=90)
    for box in truth:
        print(box)
