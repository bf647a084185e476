"""Measure a face detector's recall, false detections and time on pasted real faces.

Scenes (960x720, seed 0): 10 canvases of 8 FER2013 PublicTest faces and 10 of 10 LFW
faces (scikit-image's ``lfw_subset``), pasted at 35 to 128 pixels on a grey canvas or
on photos without people; the astronaut (scikit-image) and Grace Hopper (matplotlib)
portraits alone and scaled to faces of 35 to 120 pixels; examples/group.jpg. Then 46
images without people: scikit-image's samples (textures, objects, a cat, star fields,
microscopy) at their size and doubled, noise, blurred noise, a gradient. A face is found
when a detection overlaps it with IoU >= 0.4; a false detection overlaps no face
(IoU < 0.2). Needs scikit-image, matplotlib and ../shared/data/fer2013:

    python examples/evaluate_faces.py                    # BlazeFaceDetector()
    python examples/evaluate_faces.py --model full_range --min-score 0.6
"""

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib import cbook
from PIL import Image, ImageFilter
from skimage import data
from torchvision.ops import box_iou

from clip_fer import BlazeFaceDetector

sys.path.insert(0, str(Path(__file__).parent))
from make_group_photo import make_group_photo

FER = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "public_test"
SIZES = [35, 40, 48, 56, 64, 80, 100, 128]
PORTRAITS = {
    "astronaut": (Image.fromarray(data.astronaut()), (178, 62, 266, 162)),
    "hopper": (Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"), (180, 150, 350, 325)),
}
NO_PEOPLE = [
    "chelsea",
    "coffee",
    "rocket",
    "brick",
    "grass",
    "gravel",
    "coins",
    "horse",
    "hubble_deep_field",
    "moon",
    "retina",
    "page",
    "text",
    "logo",
    "clock",
    "checkerboard",
    "microaneurysms",
    "shepp_logan_phantom",
    "colorwheel",
    "immunohistochemistry",
    "cell",
]


def rgb(array):
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        array = (255 * (array - array.min()) / max(array.max() - array.min(), 1e-9)).astype(np.uint8)
    return Image.fromarray(array).convert("RGB")


def place(rng, size, sides):
    boxes = []
    for side in sides:
        for _ in range(200):
            x, y = rng.randrange(0, size[0] - side), rng.randrange(0, size[1] - side)
            box = (x, y, x + side, y + side)
            if all(
                box[2] + 10 < b[0] or b[2] + 10 < box[0] or box[3] + 10 < b[1] or b[3] + 10 < box[1]
                for b in boxes
            ):
                boxes.append(box)
                break
    return boxes


def scenes(rng):
    backdrops = [Image.new("RGB", (960, 720), (128, 128, 128))] + [
        rgb(getattr(data, n)()).resize((960, 720))
        for n in ["coffee", "rocket", "brick", "grass", "gravel", "moon", "page", "chelsea"]
    ]
    fer = [Image.open(f).convert("RGB") for f in rng.sample(sorted(FER.glob("*/*.jpg")), 80)]
    lfw = [Image.fromarray((f * 255).astype(np.uint8)).convert("RGB") for f in data.lfw_subset()[:100]]
    for source, faces, per in (("fer2013", fer, 8), ("lfw", lfw, 10)):
        for i in range(10):
            canvas = backdrops[(i + 3 * (source == "lfw")) % len(backdrops)].copy()
            boxes = place(rng, canvas.size, [rng.choice(SIZES) for _ in range(per)])
            for face, box in zip(faces[i * per : (i + 1) * per], boxes):
                canvas.paste(face.resize((box[2] - box[0],) * 2, Image.Resampling.BICUBIC), box[:2])
            yield source, canvas, boxes
    for _name, (photo, face) in PORTRAITS.items():
        for i, width in enumerate([35, 45, 60, 90, 120]):
            scale = width / (face[2] - face[0])
            small = photo.resize(
                (round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS
            )
            canvas = backdrops[i % len(backdrops)].copy()
            x, y = (
                rng.randrange(0, canvas.width - small.width),
                rng.randrange(0, canvas.height - small.height),
            )
            canvas.paste(small, (x, y))
            yield "portraits", canvas, [tuple(round(v * scale) + o for v, o in zip(face, (x, y, x, y)))]
        yield "portraits", photo, [face]
    yield ("group photo", *make_group_photo())


def no_people():
    for name in NO_PEOPLE:
        image = rgb(getattr(data, name)())
        yield name, image
        yield name + " x2", image.resize((image.width * 2, image.height * 2))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (720, 960, 3), dtype=np.uint8))
    yield "noise", noise
    yield "blurred noise", noise.filter(ImageFilter.GaussianBlur(4))
    yield (
        "gradient",
        Image.fromarray((np.linspace(0, 255, 960)[None, :, None] * np.ones((720, 1, 3))).astype(np.uint8)),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="short_range")
    parser.add_argument("--min-score", type=float, default=0.7)
    parser.add_argument("--min-face-size", type=int, default=24)
    args = parser.parse_args()
    detector = BlazeFaceDetector(args.model, min_score=args.min_score, min_face_size=args.min_face_size)
    found, total, false, seconds, images = {}, {}, 0, 0.0, 0
    for source, image, truth in scenes(random.Random(0)):
        start = time.perf_counter()
        boxes = torch.tensor([b for b, _ in detector.detect(image)], dtype=torch.float32).reshape(-1, 4)
        seconds, images = seconds + time.perf_counter() - start, images + 1
        overlap = box_iou(torch.tensor(truth, dtype=torch.float32), boxes)
        hits = int((overlap >= 0.4).any(1).sum()) if len(boxes) else 0
        found[source] = found.get(source, 0) + hits
        total[source] = total.get(source, 0) + len(truth)
        false += int((overlap < 0.2).all(0).sum()) if len(boxes) else 0
    scene_ms = 1000 * seconds / images
    wrong = {}
    for name, image in no_people():
        start = time.perf_counter()
        n = len(detector.detect(image))
        seconds, images = seconds + time.perf_counter() - start, images + 1
        if n:
            wrong[name] = n
    print(f"detector: {detector!r}")
    for source in total:
        print(
            f"  recall {source:<12} {found[source]:>3}/{total[source]:<3} = {found[source] / total[source]:.3f}"
        )
    print(
        f"  recall {'all':<12} {sum(found.values()):>3}/{sum(total.values()):<3} = {sum(found.values()) / sum(total.values()):.3f}"
    )
    print(f"  false detections in the scenes: {false}")
    print(f"  images without people with a detection: {len(wrong)} of {2 * len(NO_PEOPLE) + 3} {wrong}")
    print(f"  {scene_ms:.0f} ms per 960x720 scene; {1000 * seconds / images:.0f} ms per image overall")


if __name__ == "__main__":
    main()
