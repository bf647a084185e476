"""Smoke test of the installed wheel, run from outside the repository by .ci/run.

Checks that the package imported is the installed one, that every public name and
submodule imports, that the data files made it into the wheel, and that a toy CLIP
model (built here, random weights) goes through fit, predict, the plotting helpers
and the CLI.
"""

import subprocess
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import torch

import clip_fer

repo = Path(sys.argv[1]).resolve()
installed = Path(clip_fer.__file__).resolve()
assert repo not in installed.parents, f"clip_fer was imported from the repository: {installed}"
assert metadata.version("clip-fer") == clip_fer.__version__

for name in clip_fer.__all__:  # every lazy export and public submodule resolves
    getattr(clip_fer, name)
for module in clip_fer._SUBMODULES:
    getattr(clip_fer, module)
assert resources.files("clip_fer").joinpath("py.typed").is_file(), "py.typed is missing from the wheel"
files = [str(f) for f in metadata.files("clip-fer")]
assert any(f.endswith(("licenses/LICENSE", "/LICENSE")) for f in files), "LICENSE is not in the wheel"

clip = clip_fer.backends._loading.import_clip()
torch.manual_seed(0)
toy = clip.model.CLIP(
    embed_dim=32,
    context_length=77,
    vocab_size=49408,
    transformer_width=64,
    transformer_heads=1,
    transformer_layers=1,
    image_resolution=32,
    vision_layers=1,
    vision_width=64,
    vision_patch_size=16,
).eval()
with tempfile.TemporaryDirectory() as tmp:
    checkpoint = Path(tmp) / "toy.pt"
    torch.save(toy.state_dict(), checkpoint)
    faces = [np.full((48, 48), v, dtype=np.uint8) for v in (30, 120, 220)]
    clf = clip_fer.ZeroShotEmotionClassifier(model=str(checkpoint)).fit()
    proba = clf.predict_proba(faces)
    assert proba.shape == (3, 7) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert list(clf.predict(faces)) == list(clf.classes_[proba.argmax(axis=1)])
    assert "templates x" in clf._repr_mimebundle_()["text/html"]
    from clip_fer.plotting import plot_confusion_matrix

    assert plot_confusion_matrix(["a", "b"], ["a", "a"])._repr_png_().startswith(b"\x89PNG")
    from PIL import Image

    Image.fromarray(faces[0]).save(Path(tmp) / "face.png")
    run = subprocess.run(
        ["clip-fer", "predict", "--model", str(checkpoint), str(Path(tmp) / "face.png"), "--format", "csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and run.stdout.startswith("image,label_1"), run
print("wheel smoke test passed:", installed.parent)
