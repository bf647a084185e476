"""Shared fixtures: toy CLIP checkpoints built in-process, images, shared assets."""

from pathlib import Path

import numpy as np
import pytest
import torch

from clip_fer import clear_embedding_cache, clear_model_cache
from clip_fer.backends._loading import import_clip

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TINY_FER_CLIP = SHARED / "models" / "tiny-fer-clip.pt"
FER2013 = SHARED / "data" / "fer2013"

needs_tiny_fer_clip = pytest.mark.skipif(not TINY_FER_CLIP.is_file(), reason=f"{TINY_FER_CLIP} is absent")
needs_fer2013 = pytest.mark.skipif(not (FER2013 / "public_test").is_dir(), reason=f"{FER2013} is absent")


def build_toy_clip(seed=0, vision="vit"):
    """OpenAI's CLIP architecture at toy width (real code, random weights).

    Transformer widths are multiples of 64: ``clip.model.build_model`` infers the
    number of heads as width // 64 when it reads a state dict back.
    """
    clip = import_clip()
    torch.manual_seed(seed)
    if vision == "vit":
        vision_args = dict(image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=16)
    else:
        vision_args = dict(
            image_resolution=64, vision_layers=(1, 1, 1, 1), vision_width=32, vision_patch_size=None
        )
    return clip.model.CLIP(
        embed_dim=32,
        context_length=77,
        vocab_size=49408,
        transformer_width=64,
        transformer_heads=1,
        transformer_layers=1,
        **vision_args,
    ).eval()


@pytest.fixture(scope="session")
def toy_checkpoint(tmp_path_factory):
    """Path of a toy ViT CLIP saved as a state dict."""
    path = tmp_path_factory.mktemp("models") / "toy-vit.pt"
    torch.save(build_toy_clip().state_dict(), path)
    return str(path)


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_model_cache()
    clear_embedding_cache()
    yield
    clear_model_cache()
    clear_embedding_cache()


@pytest.fixture(scope="session")
def face_arrays():
    """Twelve random 48x48 grayscale uint8 'faces', FER2013-shaped, fixed seed."""
    rng = np.random.default_rng(0)
    # Smooth random blobs rather than white noise, so images differ in content.
    base = rng.integers(0, 256, size=(12, 6, 6)).astype(np.float64)
    return [np.kron(b, np.ones((8, 8))).astype(np.uint8) for b in base]
