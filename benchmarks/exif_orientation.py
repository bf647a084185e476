"""Phone photos: predictions of FER2013 faces stored sideways with an EXIF tag.

Writes 40 PublicTest faces per class as PNGs whose pixels are turned and whose EXIF
``Orientation`` says how to turn them back (as phones store photos), then compares
the predictions of the small FER2013 checkpoint on them with those on the upright
originals. Needs ../shared (the checkpoint and the images).

    python benchmarks/exif_orientation.py [--orientation 6] [--per-class 40]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from real_inputs import save_with_orientation

from clip_fer import ZeroShotEmotionClassifier

SHARED = ROOT.parent / "shared"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orientation", type=int, default=6, choices=range(2, 9))
    parser.add_argument("--per-class", type=int, default=40)
    args = parser.parse_args()
    paths = []
    for folder in sorted((SHARED / "data" / "fer2013" / "public_test").iterdir()):
        paths += sorted(folder.glob("*"))[: args.per_class]
    tmp = Path(tempfile.mkdtemp())
    rotated = [
        save_with_orientation(np.asarray(Image.open(p).convert("L")), tmp / f"{i}.png", args.orientation)
        for i, p in enumerate(paths)
    ]
    y = np.array([p.parent.name for p in paths], dtype=object)
    clf = ZeroShotEmotionClassifier(model=str(SHARED / "models" / "tiny-fer-clip.pt"), cache=False).fit()
    upright, turned = clf.predict([str(p) for p in paths]), clf.predict(rotated)
    print(
        f"{len(paths)} faces, Orientation={args.orientation}: accuracy upright {np.mean(upright == y):.3f}, "
        f"EXIF-rotated copies {np.mean(turned == y):.3f}; agreement {np.mean(upright == turned):.3f}"
    )


if __name__ == "__main__":
    main()
