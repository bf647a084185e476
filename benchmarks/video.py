"""Video analysis speed, and the tracker choice; prints tables.

    python benchmarks/video.py                 # about 4 minutes on 2 cores
    python benchmarks/video.py --trackers      # also ByteTrack (PyPI trackers) and norfair

Speed: a 640x480, 15 fps, 10-second video of three FER2013 faces (96 to 110
pixels; one changes expression at 5 s, one enters at 3 s) on a textured
background, written with PyAV. Side by side in one run: what clip-fer offered
before video support (the window-pyramid detector and one encoder call per frame,
on every processed frame, no tracks) against ``predict_video`` with default
settings, with the FER2013 checkpoint (``../shared/models/tiny-fer-clip.pt``) and
with ViT-B/32 ``int8`` (random weights of the real architecture). "x real time"
is the video's length over the wall time (above 1: faster than real time).

Trackers: the same BlazeFace detections, with one detection in five dropped at
random (seed 0), fed to IoUTracker and, when installed, ByteTrack and norfair;
counted per person: tracks (1 is right), rows matched, rows matching no face.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "video"), str(ROOT / "benchmarks")]

from video_scenes import Person, match, render, write_video

from clip_fer import BlazeFaceDetector, ZeroShotEmotionClassifier, predict_video
from clip_fer.faces._cropping import FaceCropper, _clip_faces
from clip_fer.video import read_frames

FER = ROOT.parent / "shared" / "data" / "fer2013" / "public_test"
TINY = ROOT.parent / "shared" / "models" / "tiny-fer-clip.pt"
FPS, SECONDS, SIZE = 15, 10, (640, 480)
LOAD = []


def two_faces(n):
    def face(cls, k):
        return Image.open(sorted((FER / cls).glob("*.jpg"))[k])

    return [
        Person({0: face("happy", 1), n // 2: face("surprise", 1)}, (40, 60), (260, 90), 110),
        Person({0: face("neutral", 2)}, (460, 300), (300, 320), 104),
        Person({0: face("sad", 3)}, (480, 40), (470, 70), 96, enter=n // 3),
    ]


def crossing(n):
    """Harder for a tracker: A and B pass each other (boxes overlapping by up to a
    third), C crosses the frame in 3 s (about 10 pixels a frame)."""

    def face(cls, k):
        return Image.open(sorted((FER / cls).glob("*.jpg"))[k])

    return [
        Person({0: face("happy", 1)}, (20, 150), (520, 150), 100),
        Person({0: face("neutral", 2)}, (520, 215), (20, 215), 100),
        Person({0: face("sad", 3)}, (0, 20), (540, 360), 96, enter=n // 3, leave=n // 3 + 3 * FPS),
    ]


def build_video(folder, people=two_faces, name="two-faces"):
    n = FPS * SECONDS
    frames, truth = render(people(n), n, SIZE)
    return write_video(Path(folder) / f"{name}.mp4", frames, fps=FPS), truth


def before(estimator, path, every):
    """Every processed frame: window-pyramid detection, one encoder call per frame."""
    detector = BlazeFaceDetector()
    detector._windowed = True
    cropper = FaceCropper(detector, grayscale=True).fit()
    faces = 0
    for frame in read_frames(path, every=every):
        picture = Image.fromarray(frame.image)
        found = _clip_faces(detector.detect(picture), picture.size)
        if found:
            estimator.predict_proba([cropper.crop(picture, box) for box, _ in found])
        faces += len(found)
    return faces


CPU = {}


def timed(run):
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds = time.perf_counter() - start
    CPU[seconds] = time.process_time() - cpu
    return seconds, result


def speed(path, truth, folder):
    from throughput import random_checkpoint

    LOAD.append(os.getloadavg()[0])
    tiny = ZeroShotEmotionClassifier(model=str(TINY)).fit()
    vit = ZeroShotEmotionClassifier(model=random_checkpoint("ViT-B/32", folder), precision="int8").fit()
    rows = []
    processed = {1: FPS * SECONDS, 2: FPS * SECONDS // 2}
    for name, clf, grayscale in (("FER2013 checkpoint", tiny, True), ("ViT-B/32 int8", vit, False)):
        predict_video(clf, path, every=2, grayscale=grayscale)  # warm-up: model, interpreters
        if clf is tiny:
            seconds, _ = timed(lambda clf=clf: before(clf, path, 2))
            rows.append((name, "before: window pyramid, per-frame encoder, no tracks", 2, seconds, None))
        for every in (2, 1):
            seconds, faces = timed(
                lambda clf=clf, every=every, grayscale=grayscale: predict_video(
                    clf, path, every=every, grayscale=grayscale
                )
            )
            recall = match(faces, [t if i % every == 0 else {} for i, t in enumerate(truth)], 0.3)[0]
            rows.append((name, "predict_video defaults", every, seconds, recall))
    print(
        f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{SIZE[0]}x{SIZE[1]}, {FPS} fps, {SECONDS} s, 3 faces"
    )
    print(f"load average before/after: {LOAD[0]:.1f} / {os.getloadavg()[0]:.1f}")
    print("| model | pipeline | every | frames/s processed | x real time | CPU s per video s | face recall |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, pipeline, every, seconds, recall in rows:
        print(
            f"| {name} | {pipeline} | {every} | {processed[every] / seconds:.1f} | {SECONDS / seconds:.2f} | "
            f"{CPU[seconds] / SECONDS:.2f} | " + ("" if recall is None else f"{recall:.3f}") + " |"
        )


class Replay:
    """Detections computed once, replayed with some dropped (seed 0)."""

    def __init__(self, detections, drop=0.2, seed=0):
        rng = random.Random(seed)
        self.frames = [[d for d in found if rng.random() >= drop] for found in detections]
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return self.frames[self.calls - 1]


class ByteTrackAdapter:
    def __init__(self):
        from trackers import ByteTrackTracker

        self.tracker = ByteTrackTracker(
            frame_rate=FPS, minimum_consecutive_frames=1, lost_track_buffer=30, track_activation_threshold=0.5
        )

    def update(self, boxes, time):
        import supervision as sv

        boxes = np.asarray(boxes, float).reshape(-1, 4)
        out = self.tracker.update(
            sv.Detections(xyxy=boxes, confidence=np.full(len(boxes), 0.9)), timestamp=time
        )
        ids = []
        for box in boxes:
            k = int(np.argmin(np.abs(out.xyxy - box).sum(1))) if len(out) else -1
            ids.append(int(out.tracker_id[k]) if k >= 0 and out.tracker_id[k] >= 0 else 10**6 + len(ids))
        return ids

    def predict(self, time):
        return {}


class NorfairAdapter:
    def __init__(self):
        from norfair import Tracker

        self.tracker = Tracker(
            distance_function="iou", distance_threshold=0.8, hit_counter_max=FPS, initialization_delay=0
        )

    def update(self, boxes, time):
        from norfair import Detection

        detections = [Detection(points=np.asarray(b, float).reshape(2, 2)) for b in boxes]
        objects = self.tracker.update(detections=detections)
        by_detection = {id(o.last_detection): o.id for o in objects if o.id is not None}
        return [by_detection.get(id(d), 10**6 + k) for k, d in enumerate(detections)]

    def predict(self, time):
        return {}


def trackers(path, truth):
    from clip_fer.video import IoUTracker

    detector = BlazeFaceDetector()
    detections = [detector.detect(Image.fromarray(f.image)) for f in read_frames(path)]
    tiny = ZeroShotEmotionClassifier(model=str(TINY)).fit()
    candidates = [("IoUTracker (clip-fer)", IoUTracker)]
    for name, adapter in (("ByteTrack (trackers)", ByteTrackAdapter), ("norfair", NorfairAdapter)):
        try:
            adapter()
            candidates.append((name, adapter))
        except ImportError as exc:
            print(f"{name}: not installed ({exc})")
    print(
        "| tracker | tracks per person (1 is right) | id switches | recall | rows matching no face | ms per update |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, make in candidates:
        tracker = make()
        update = tracker.update
        spent = []

        def timed_update(boxes, t, update=update, spent=spent):
            start = time.perf_counter()
            ids = update(boxes, t)
            spent.append(time.perf_counter() - start)
            return ids

        tracker.update = timed_update
        faces = predict_video(
            tiny, path, detector=Replay(detections), tracker=tracker, detect_every=1, rescan=0, grayscale=True
        )
        faces = faces[faces.track < 10**6]
        recall, per_person, unmatched = match(faces, truth, 0.3)
        switches = 0
        for person in per_person:
            ordered = []
            for f, boxes in enumerate(truth):
                if person in boxes:
                    rows = faces[faces.frame == f]
                    hit = [
                        r.track
                        for r in rows.itertuples()
                        if _iou(boxes[person], (r.x0, r.y0, r.x1, r.y1)) >= 0.3
                    ]
                    if hit:
                        ordered.append(hit[0])
            switches += sum(a != b for a, b in zip(ordered, ordered[1:]))
        counts = ", ".join(str(len(per_person.get(p, {}))) for p in range(3))
        print(
            f"| {name} | {counts} | {switches} | {recall:.3f} | {unmatched} | {1000 * np.mean(spent):.2f} |"
        )


def _iou(a, b):
    from video_scenes import iou

    return iou(a, b)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", action="store_true", help="Compare the trackers too.")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path, truth = build_video(folder)
        if not args.skip_speed:
            speed(path, truth, folder)
        if args.trackers:
            print("Scene 1, the speed video: three faces, one entering late, one changing face")
            trackers(path, truth)
            print("Scene 2: two faces passing each other, one crossing the frame fast")
            trackers(*build_video(folder, crossing, "crossing"))


if __name__ == "__main__":
    main()
