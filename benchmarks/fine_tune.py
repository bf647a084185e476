"""A model from ``load_model`` fine-tunes as the family's own: loss curves side by side.

    python benchmarks/fine_tune.py                    # tiny-fer-clip.pt, 4 shots a class
    python benchmarks/fine_tune.py --shots 8 --steps 10 --precision int8

Draws ``--shots`` FER2013 images per class from PublicTest (seeded), and fine-tunes
the image tower of the same checkpoint twice with the same SGD steps: once as
``clip_fer.load_model(path, precision=...)`` returns it, once as OpenAI's CLIP code
builds it from the file (``clip.model.build_model``, fp32). The loss is CLIP's
zero-shot cross-entropy: the model's logit scale times the cosine of each image with
the seven classes' prompt embeddings (``"a photo of a {class} looking face."``,
encoded once by the frozen text tower). Prints the parameters each model's image
tower holds, both loss curves, the largest difference between them, and the
accuracy on the shots before and after (in eval mode, where clip-fer runs its
accelerated copy of the trained tower).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import clip_fer
from clip_fer.backends._cpu import cpu_summary
from clip_fer.backends.openai import import_clip

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def shots(folder, per_class, seed):
    """``(paths, labels)``: ``per_class`` images of each class, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    paths, labels = [], []
    for label, name in enumerate(CLASSES):
        files = sorted((folder / name).glob("*.jpg"))
        for index in rng.choice(len(files), size=per_class, replace=False):
            paths.append(files[index])
            labels.append(label)
    return paths, torch.tensor(labels)


def train(model, pixels, labels, text, steps, lr):
    """SGD on ``model``'s image tower; the per-step losses."""
    scale = model.logit_scale.detach().exp()
    params = list(model.visual.parameters())
    optimizer = torch.optim.SGD(params, lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        features = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1)
        loss = torch.nn.functional.cross_entropy(scale * features @ text.T, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return np.array(losses)


def accuracy(encode, pixels, labels, text):
    with torch.inference_mode():
        features = torch.nn.functional.normalize(encode(pixels).float(), dim=-1)
    return float(((features @ text.T).argmax(dim=1) == labels).float().mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "tiny-fer-clip.pt"))
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013" / "public_test"))
    parser.add_argument("--shots", type=int, default=4, help="images per class")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--precision", default="fp32", help="clip-fer's precision (fp32, int8, bf16)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    clip = import_clip()
    paths, labels = shots(Path(args.data), args.shots, args.seed)
    loaded = clip_fer.load_model(args.model, device="cpu", precision=args.precision)
    own = clip.model.build_model(torch.load(args.model, map_location="cpu")).float().eval()
    pixels = torch.stack([loaded.preprocess(Image.open(p).convert("RGB")) for p in paths])
    with torch.inference_mode():
        sentences = [f"a photo of a {name} looking face." for name in CLASSES]
        text = torch.nn.functional.normalize(own.encode_text(clip.tokenize(sentences)).float(), dim=-1)
    text = text.clone()  # a normal tensor: it takes part in the graph below

    print(f"CPU: {cpu_summary()}; {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{os.path.basename(args.model)}, {len(paths)} FER2013 PublicTest images ({args.shots} a class, "
        f"seed {args.seed}), {args.steps} SGD steps at lr {args.lr}, clip-fer at {args.precision}\n"
    )
    counts = {
        "clip-fer load_model": sum(p.numel() for p in loaded.model.visual.parameters()),
        "clip's own model": sum(p.numel() for p in own.visual.parameters()),
    }
    before = {
        "clip-fer load_model": accuracy(loaded.encode_image, pixels, labels, text),
        "clip's own model": accuracy(own.encode_image, pixels, labels, text),
    }
    curves, seconds = {}, {}
    for name, model in (("clip-fer load_model", loaded.model), ("clip's own model", own)):
        start = time.perf_counter()
        curves[name] = train(model, pixels, labels, text, args.steps, args.lr)
        seconds[name] = time.perf_counter() - start
    after = {
        "clip-fer load_model": accuracy(loaded.encode_image, pixels, labels, text),
        "clip's own model": accuracy(own.encode_image, pixels, labels, text),
    }
    print("| model | image-tower parameters | losses, step by step | s per step | accuracy before | after |")
    print("|---|---:|---|---:|---:|---:|")
    for name, curve in curves.items():
        losses = " ".join(f"{x:.5f}" for x in curve)
        print(
            f"| {name} | {counts[name]:,} | {losses} | {seconds[name] / args.steps:.2f} | "
            f"{before[name]:.3f} | {after[name]:.3f} |"
        )
    gap = np.abs(curves["clip-fer load_model"] - curves["clip's own model"]).max()
    print(f"\nlargest loss difference: {gap:.2e}; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
