"""Write ``examples/two-faces.mp4``: a 4-second 480x360 clip for the README's video command.

Two FER2013 test faces (from ``../shared/data/fer2013/public_test``) drift across a
soft background; the left one is happy for the first two seconds and surprised after.
The video is H.264 at 12 frames a second, written with PyAV and Pillow:

    python examples/make_two_faces_video.py [--fer2013 DIR] [--out examples/two-faces.mp4]
"""

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SIZE, FPS, SECONDS, SIDE = (480, 360), 12, 4, 110


def background(size):
    """A horizontal gradient with faint stripes, so the encoder has something to do."""
    width, height = size
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    rgb = 70 + 90 * x * np.array([0.6, 0.8, 1.0]) + 30 * y + 8 * np.sin(y * 40)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def face(folder, cls, index):
    path = sorted((folder / cls).glob("*.jpg"))[index]
    return Image.open(path).convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC)


def frames(folder):
    n = FPS * SECONDS
    back = Image.fromarray(background(SIZE))
    happy, surprised, neutral = (
        face(folder, "happy", 1),
        face(folder, "surprise", 1),
        face(folder, "neutral", 2),
    )
    for i in range(n):
        t = i / (n - 1)
        picture = back.copy()
        picture.paste(happy if i < n // 2 else surprised, (int(40 + 80 * t), int(60 + 30 * t)))
        picture.paste(neutral, (int(330 - 60 * t), int(200 - 20 * t)))
        yield np.asarray(picture)


def write(path, images):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "medium"}
        for array in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer2013", type=Path, default=ROOT.parent / "shared/data/fer2013/public_test")
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "two-faces.mp4")
    args = parser.parse_args()
    write(args.out, frames(args.fer2013))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
