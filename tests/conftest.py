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


def local_ray_cluster():
    """Start one local Ray cluster whose workers import this checkout and these tests.

    A generator for a module-scoped fixture: yields once, shuts Ray down after.
    """
    import os

    import ray

    if ray.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    tests = Path(__file__).resolve().parent
    path = os.pathsep.join(p for p in (str(tests.parent), str(tests), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": path, "HF_HUB_OFFLINE": "1"}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def lay_out_clone(base, per_class):
    """``base/repo`` with examples/ and ``base/shared`` holding the checkpoint and the first
    ``per_class`` FER2013 PublicTest images of each class, as a clone beside shared/ has them."""
    work, shared = base / "repo", base / "shared"
    work.mkdir()
    (work / "examples").symlink_to(Path(__file__).resolve().parents[1] / "examples")
    (shared / "models").mkdir(parents=True)
    (shared / "models" / TINY_FER_CLIP.name).symlink_to(TINY_FER_CLIP)
    for class_dir in sorted((FER2013 / "public_test").iterdir()):
        target = shared / "data" / "fer2013" / "public_test" / class_dir.name
        target.mkdir(parents=True)
        for image in sorted(class_dir.iterdir())[:per_class]:
            (target / image.name).symlink_to(image)
    return work


@pytest.fixture
def count_encoded(monkeypatch):
    """Patch a loaded model so that it counts the images it encodes."""

    def install(clf):
        model = clf._loaded_model().model
        original = model.encode_image
        counter = {"images": 0}

        def counting(pixels):
            counter["images"] += len(pixels)
            return original(pixels)

        monkeypatch.setattr(model, "encode_image", counting)
        return counter

    return install


class TwoFaces:
    """Stands in for BlazeFace: two fixed boxes in any image wider than 100 pixels."""

    def detect(self, image):
        if image.width <= 100:
            return []
        return [((10, 10, 50, 50), 0.95), ((60, 20, 90, 50), 0.8)]


class Payload:
    """Pickles to a call that would create a marker file if it were ever run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def adapted_classifiers(model, seed=0):
    """A zero-shot classifier with a decider other than the default (so that a command
    that ignored it would differ), a few-shot classifier fitted on toy face arrays (3 per
    class, alpha and beta given so that the shots move it) and a temperature-calibrated
    one over it (2 more per class)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    from clip_fer import FewShotEmotionClassifier, MeanProbaDecider, ZeroShotEmotionClassifier

    rng = np.random.default_rng(seed)
    zero_shot = ZeroShotEmotionClassifier(model=model).fit()
    classes = np.asarray(zero_shot.classes_)

    def faces(n):
        return [
            np.kron(rng.integers(0, 256, size=(6, 6)), np.ones((8, 8))).astype(np.uint8) for _ in range(n)
        ]

    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.5).fit(
        faces(3 * len(classes)), np.repeat(classes, 3)
    )
    calibrated = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature", cv=2)
    calibrated.fit(faces(2 * len(classes)), np.repeat(classes, 2))
    mean = ZeroShotEmotionClassifier(model=model, decider=MeanProbaDecider()).fit()
    return {"zero_shot": mean, "few_shot": few_shot, "calibrated": calibrated}


def pytest_collection_modifyitems(items):
    """A test that needs a local Ray cluster (the ``cluster`` fixture) is slow: starting one
    takes a minute or more on 2 shared cores. ``python -m pytest -m slow`` runs them, as
    .ci/run does after the default run."""
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
