"""Throughput, cache and memory benchmark for clip-fer; prints one table.

    python benchmarks/throughput.py                 # random ViT-B/32, 64 FER2013 images
    python benchmarks/throughput.py --n 128 --model ViT-B/16

Every figure comes from this one run, side by side on the same images: images/s of
a per-image loop written like the report's ``infer``, of ``predict`` at default
settings, and of each opt-in precision; the fp32 compute floor (the image tower's
FLOPs over the matrix-multiply rate measured here); GridSearchCV over the report's
nine configurations with and without the embedding cache; ``fit`` time; and peak
memory while predicting many images (in a subprocess, with a small model so that it
finishes in time). Weights are random: they do not change the cost.
"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import GridSearchCV, KFold
from torch.utils.flop_counter import FlopCounterMode

import clip_fer
from clip_fer import PromptBank, SynonymFolder, ZeroShotEmotionClassifier, report_experiment_banks
from clip_fer.backends._loading import import_clip

ROOT = Path(__file__).resolve().parents[1]
FER2013 = ROOT.parent / "shared" / "data" / "fer2013"
TINY = ROOT.parent / "shared" / "models" / "tiny-fer-clip.pt"

# OpenAI CLIP architectures: embed_dim, resolution, vision layers, vision width,
# patch, text width, text heads, text layers (from the released checkpoints' shapes).
ARCHITECTURES = {
    "ViT-B/32": (512, 224, 12, 768, 32, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 512, 8, 12),
    "ViT-L/14": (768, 224, 24, 1024, 14, 768, 12, 12),
}


def random_checkpoint(name, folder):
    clip = import_clip()
    embed, res, layers, width, patch, t_width, t_heads, t_layers = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = clip.model.CLIP(embed, res, layers, width, patch, 77, 49408, t_width, t_heads, t_layers)
    path = Path(folder) / f"random-{name.replace('/', '-')}.pt"
    torch.save(model.state_dict(), path)
    return str(path)


def face_paths(n, split="public_test"):
    paths = sorted((FER2013 / split).glob("*/*.jpg"))
    if len(paths) >= n:
        step = len(paths) // n
        return [str(p) for p in paths[::step][:n]], "FER2013 " + split
    # Without ../shared: synthetic 48x48 faces written to a temporary folder.
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        path = folder / f"face{i}.png"
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(path)
        out.append(str(path))
    return out, "synthetic 48x48"


def timed(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def report_loop(checkpoint, paths, bank):
    """One image at a time, text features already encoded, as the report's infer."""
    clip = import_clip()
    model, preprocess = clip.load(checkpoint, device="cpu", jit=False)
    model.eval()
    with torch.no_grad():
        text = model.encode_text(clip.tokenize(list(bank.fit().sentences_))).float()
        text /= text.norm(dim=-1, keepdim=True)

    def run():
        for path in paths:
            image = preprocess(Image.open(path)).unsqueeze(0)
            with torch.no_grad():
                features = model.encode_image(image).float()
            features /= features.norm(dim=-1, keepdim=True)
            (100.0 * features @ text.T).numpy()

    return run


def image_tower_flops(checkpoint):
    loaded = clip_fer.load_model(checkpoint, device="cpu")
    size = loaded.model.visual.input_resolution
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        loaded.model.encode_image(torch.zeros(1, 3, size, size))
    return counter.get_total_flops()


def matmul_rate(width, tokens, batch):
    """fp32 FLOP/s of the MLP-shaped product (batch*tokens, width) @ (width, 4*width)."""
    a, b = torch.randn(batch * tokens, width), torch.randn(width, 4 * width)
    a @ b
    reps = 10
    seconds, _ = timed(lambda: [a @ b for _ in range(reps)], repeat=3)
    return reps * 2 * a.shape[0] * width * 4 * width / seconds


def _proc_status_bytes(field):
    """VmHWM (peak RSS) or VmRSS of this process, from /proc (Linux).

    ``getrusage``'s ``ru_maxrss`` is not used: Linux carries it across ``exec``, so
    a child started by a big parent would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(model, n):
    """Run in a subprocess: peak RSS growth while predicting n images."""
    paths = sorted(str(p) for p in (FER2013 / "train").glob("*/*.jpg"))[:n]
    if len(paths) < n:
        paths = (paths * (n // max(len(paths), 1) + 1))[:n]
    gc.collect()
    base = _proc_status_bytes("VmHWM")  # torch imported, no model yet
    clf = ZeroShotEmotionClassifier(model=model, batch_size=64).fit()
    clf.predict(paths[:64])  # warm: model, allocator, first batch
    warm = _proc_status_bytes("VmHWM")
    clf.predict(paths)
    peak = _proc_status_bytes("VmHWM")
    weights = sum(p.numel() * p.element_size() for p in clf._loaded_model().model.parameters())
    print(json.dumps({"base": base, "warm": warm, "peak": peak, "weights": weights, "n": len(paths)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B/32", choices=sorted(ARCHITECTURES), help="architecture, random weights")
    parser.add_argument("--n", type=int, default=64, help="images for the throughput rows")
    parser.add_argument("--grid-n", type=int, default=100, help="images for the grid-search rows")
    parser.add_argument("--memory-n", type=int, default=10_000, help="images for the memory row")
    parser.add_argument("--memory-model", default=str(TINY) if TINY.is_file() else None,
                        help="checkpoint for the memory row (default: the small FER2013 model)")
    parser.add_argument("--skip-uncached-grid", action="store_true", help="skip the slow grid without cache")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child[0], int(args.memory_child[1]))

    rows = []
    tmp = tempfile.mkdtemp()
    checkpoint = random_checkpoint(args.model, tmp)
    paths, source = face_paths(args.n)
    bank = PromptBank.report_best()
    print(f"clip-fer {clip_fer.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.model} random weights; "
          f"{len(paths)} {source} images", flush=True)

    flops = image_tower_flops(checkpoint)
    embed, res, layers, width, patch = ARCHITECTURES[args.model][:5]
    rate = matmul_rate(width, (res // patch) ** 2 + 1, 32)
    floor = rate / flops
    rows.append(("fp32 compute floor", floor, f"{flops / 1e9:.2f} GFLOP/image at {rate / 1e9:.0f} GFLOP/s"))

    loop = report_loop(checkpoint, paths, bank)
    seconds, _ = timed(loop)
    loop_ips = len(paths) / seconds
    rows.append(("per-image loop (report's infer)", loop_ips, ""))

    fp32 = ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit()
    clip_fer.clear_embedding_cache()
    seconds, reference = timed(lambda: fp32.predict(paths))
    predict_seconds = seconds
    rows.append(("predict, default settings (fp32)", len(paths) / seconds, ""))
    for precision in ("bf16", "int8"):
        clf = ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank, precision=precision).fit()
        clf.predict(paths[:4])  # load and convert outside the timing
        clip_fer.clear_embedding_cache()
        seconds, labels = timed(lambda: clf.predict(paths))
        rows.append((f"predict, precision='{precision}'", len(paths) / seconds,
                     f"top-1 agreement with fp32 {np.mean(labels == reference):.3f}"))
        if TINY.is_file():
            tiny32 = ZeroShotEmotionClassifier(model=str(TINY), cache=False, batch_size=64).fit()
            tiny = ZeroShotEmotionClassifier(model=str(TINY), cache=False, batch_size=64, precision=precision).fit()
            many, _ = face_paths(1000)
            agree = np.mean(tiny.predict(many) == tiny32.predict(many))
            rows[-1] = rows[-1][:2] + (rows[-1][2] + f"; {agree:.3f} with the FER2013 checkpoint on 1000 images",)

    grid_paths, _ = face_paths(args.grid_n)
    y = np.array([Path(p).parent.name for p in grid_paths], dtype=object)
    if source.startswith("synthetic"):
        y = np.array(["happy", "sad", "angry"] * (len(grid_paths) // 3 + 1), dtype=object)[: len(grid_paths)]
    grid = {"prompt_bank": list(report_experiment_banks().values())}
    clip_fer.clear_embedding_cache()
    one_pass, _ = timed(lambda: fp32.predict(grid_paths))
    for cache in (True, False):
        if not cache and args.skip_uncached_grid:
            continue
        clip_fer.clear_embedding_cache()
        search = GridSearchCV(ZeroShotEmotionClassifier(model=checkpoint, cache=cache, synonym_folder=SynonymFolder()), grid, cv=KFold(5, shuffle=True, random_state=0))
        seconds, _ = timed(lambda: search.fit(grid_paths, y))
        rows.append((f"GridSearchCV 9 configs x 5 folds, cache={cache}", seconds / one_pass,
                     f"x one predict pass on {len(grid_paths)} images ({seconds:.1f} s vs {one_pass:.1f} s)"))

    def fit_uncached():
        clip_fer.clear_embedding_cache()  # sentences too; the model stays loaded
        return ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit()

    fit_seconds, _ = timed(fit_uncached, repeat=3)
    rows.append(("fit, report's best bank (63 sentences), model loaded", fit_seconds, "seconds, sentences encoded"))
    fit_seconds, _ = timed(lambda: ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=bank).fit(), repeat=3)
    rows.append(("fit again, same bank", fit_seconds, "seconds, sentences from the cache"))

    if args.memory_model:
        out = subprocess.run([sys.executable, __file__, "--memory-child", args.memory_model, str(args.memory_n)],
                             capture_output=True, text=True, check=True).stdout
        mem = json.loads(out.strip().splitlines()[-1])
        over_model = (mem["peak"] - mem["base"] - mem["weights"]) / 2**20
        rows.append((f"peak RSS predicting {mem['n']} images, over the model's size", over_model,
                     f"MiB: peak {mem['peak'] / 2**20:.0f} MiB - {mem['base'] / 2**20:.0f} MiB before loading - "
                     f"weights {mem['weights'] / 2**20:.0f} MiB ({Path(args.memory_model).name}); "
                     f"growth after the first batch {(mem['peak'] - mem['warm']) / 2**20:.0f} MiB"))

    print()
    print("| measure | value | vs floor | vs per-image loop | notes |")
    print("|---|---:|---:|---:|---|")
    for name, value, note in rows:
        if "images/s" in name or name.startswith(("per-image", "predict", "fp32 compute")):
            print(f"| {name} (images/s) | {value:.2f} | {value / floor:.2f} | {value / loop_ips:.2f} | {note} |")
        else:
            print(f"| {name} | {value:.2f} | | | {note} |")


if __name__ == "__main__":
    main()
