"""BlazeFaceDetector's tiled fully-convolutional levels against the window pyramid
they replaced (kept as the reference, ``_windowed = True``)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.ops import box_iou

from clip_fer import BlazeFaceDetector
from clip_fer.exceptions import MissingDependencyError
from clip_fer.faces._detectors import (
    _MODELS,
    _TILE,
    _anchor_centres,
    _tile_anchor_centres,
    _tiles,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _detector(model="short_range", windowed=False):
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    found = BlazeFaceDetector(model)
    found._windowed = windowed
    try:
        found._net()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    return found


def test_tile_anchors_of_one_square_are_the_models_anchors():
    for spec in _MODELS.values():
        side = spec["side"]
        assert np.allclose(
            _tile_anchor_centres(side, side, spec["layers"]), _anchor_centres(side, spec["layers"]) * side
        )


@pytest.mark.parametrize("length", [1, 100, 640, 641, 853, 1280, 5333])
def test_tiles_cover_the_length_with_enough_overlap(length):
    tile, starts = _tiles(length, 128)
    assert tile % 16 == 0 and tile <= max(_TILE, -(-length // 16) * 16)
    assert starts[0] == 0 and starts[-1] + tile >= length
    assert all(
        b - a <= tile - 128 for a, b in zip(starts, starts[1:])
    )  # every face of <= 128 px lies whole in a tile


def test_tiled_levels_find_the_faces_the_windows_find():
    image = Image.open(EXAMPLES / "group.jpg").convert("RGB")
    tiled, windowed = _detector().detect(image), _detector(windowed=True).detect(image)
    assert len(tiled) == len(windowed) == 8
    a = torch.tensor([b for b, _ in tiled])
    b = torch.tensor([b for b, _ in windowed])
    overlap = box_iou(a, b)
    assert (overlap.max(dim=1).values > 0.85).all()
    pairs = overlap.argmax(dim=1)
    assert np.allclose([s for _, s in tiled], [windowed[int(j)][1] for j in pairs], atol=0.05)


def test_full_range_model_falls_back_to_windows():
    detector = _detector("full_range")
    assert detector._net().tiled is False
    assert _detector()._net().tiled is True
