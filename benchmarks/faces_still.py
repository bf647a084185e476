"""Face detection on still photos: the window pyramid (up to 0.1) against tiled
fully-convolutional levels (now), side by side in one run; prints one table.

    python benchmarks/faces_still.py            # about 3 minutes on 2 cores

Recall, false detections and time come from the scenes of
``examples/evaluate_faces.py`` (needs scikit-image, matplotlib and
../shared/data/fer2013). Time and peak memory on a 12-megapixel photo
(``examples/group.jpg`` upscaled to 4000x3000, faces of 150 to 460 pixels) are
measured in a fresh subprocess per detector: the peak resident memory during
``detect`` over the memory before it (image loaded, interpreter built on a small
image first).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torchvision.ops import box_iou

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from clip_fer import BlazeFaceDetector


def detector(windowed):
    found = BlazeFaceDetector()
    found._windowed = windowed
    return found


def evaluate(det):
    import evaluate_faces as ev

    found = total = false = 0
    seconds = images = 0
    for _, image, truth in ev.scenes(random.Random(0)):
        start = time.perf_counter()
        boxes = torch.tensor([b for b, _ in det.detect(image)], dtype=torch.float32).reshape(-1, 4)
        if image.size == (960, 720):
            seconds, images = seconds + time.perf_counter() - start, images + 1
        overlap = box_iou(torch.tensor(truth, dtype=torch.float32), boxes)
        found += int((overlap >= 0.4).any(1).sum()) if len(boxes) else 0
        total += len(truth)
        false += int((overlap < 0.2).all(0).sum()) if len(boxes) else 0
    hit = sum(bool(det.detect(image)) for _, image in ev.no_people())
    return dict(
        recall=found / total,
        found=found,
        total=total,
        false=false,
        no_people_hit=hit,
        ms_960x720=1000 * seconds / images,
    )


def _peak_rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def big_photo_child(windowed):
    image = (
        Image.open(ROOT / "examples" / "group.jpg")
        .convert("RGB")
        .resize((4000, 3000), Image.Resampling.BICUBIC)
    )
    det = detector(windowed)
    det.detect(image.resize((320, 240)))  # the interpreter, built
    # VmHWM is the peak since the process started: reset it (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _rss_mib()
    start, cpu = time.perf_counter(), time.process_time()
    faces = det.detect(image)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            dict(
                seconds=seconds,
                cpu_seconds=time.process_time() - cpu,
                extra_mib=_peak_rss_mib() - before,
                faces=len(faces),
            )
        )
    )


def big_photo(windowed):
    out = subprocess.run(
        [sys.executable, __file__, "--big-child", str(int(windowed))],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip-windows-big",
        action="store_true",
        help="Skip the 12-megapixel photo with the window pyramid (about 30 s).",
    )
    args = parser.parse_args()
    if args.big_child is not None:
        return big_photo_child(bool(int(args.big_child)))
    torch.set_num_threads(min(os.cpu_count() or 1, 4))
    rows = {}
    for name, windowed in (("window pyramid (0.1)", True), ("tiled levels (now)", False)):
        result = evaluate(detector(windowed))
        if not (windowed and args.skip_windows_big):
            result.update({f"big_{k}": v for k, v in big_photo(windowed).items()})
        rows[name] = result
    print(f"{os.cpu_count()} cores; BlazeFaceDetector() defaults; scenes of examples/evaluate_faces.py")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(
        "| detector | recall (of 200) | false in scenes | no-people images hit (of 45) | ms / 960x720 | 12 MP: s | 12 MP: CPU s | 12 MP: extra MiB | 12 MP: faces (of 8) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        big = (
            [
                f"{r['big_seconds']:.2f}",
                f"{r['big_cpu_seconds']:.2f}",
                f"{r['big_extra_mib']:.0f}",
                str(r["big_faces"]),
            ]
            if "big_seconds" in r
            else ["", "", "", ""]
        )
        print(
            f"| {name} | {r['recall']:.3f} ({r['found']}) | {r['false']} | {r['no_people_hit']} | {r['ms_960x720']:.0f} | "
            + " | ".join(big)
            + " |"
        )
    old, new = rows.values()
    print(f"speed-up at 960x720: {old['ms_960x720'] / new['ms_960x720']:.2f}x")


if __name__ == "__main__":
    main()
