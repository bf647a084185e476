"""Few-shot learning curves: zero-shot, plain logistic regression and the adapters.

    python benchmarks/few_shot.py                       # FER2013 checkpoint, about 5 minutes on 2 cores
    python benchmarks/few_shot.py --model ViT-B/32 --seeds 10
    python benchmarks/few_shot.py --shift low-contrast --shots 1 4 16

For each domain (the faces as they are, and a domain shift: ``--shift``) and each
``k`` in ``--shots``, for ``--seeds`` seeds: ``k`` shots per class are drawn from
the ``--split`` of ``--data`` with :func:`clip_fer.datasets.sample_k_shot` (at most
half of a class, so every class keeps faces to evaluate on), and every method is
scored on the rest of the split (disjoint from the shots):

- zero-shot: the ``ZeroShotEmotionClassifier`` (default bank and decider), no labels;
- logistic regression: MIEB's linear probe, scikit-learn's ``LogisticRegression``
  (default C=1) on the L2-normalised embeddings of the shots;
- ``FewShotEmotionClassifier`` with default settings (``method="tip"``) and with
  ``method="interpolation"``, hyperparameters chosen from the shots alone.

Metrics: top-1 accuracy, UAR (mean per-class recall) and macro-F1, mean and
standard deviation over seeds. Each image is encoded once: embeddings persist in
``--cache-dir`` (the estimator's ``cache_dir``), so a second run encodes nothing.
Writes ``few_shot.md`` (tables), ``few_shot.json`` (every figure) and
``few_shot.png`` (top-1 against k) to ``--out``.
"""

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import normalize

import clip_fer
from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier
from clip_fer.datasets import load_image_folder, sample_k_shot
from clip_fer.metrics import macro_f1, unweighted_average_recall

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHIFTS = {
    "inverted": "faces upside down (flipped top to bottom)",
    "low-contrast": "contrast reduced to 30% around mid-grey",
    "none": "no shift",
}


def shifted(path, shift):
    """The grayscale face at ``path`` under ``shift``, as a uint8 array."""
    face = Image.open(path).convert("L")
    if shift == "inverted":
        face = ImageOps.flip(face)
    elif shift == "low-contrast":
        pixels = np.asarray(face, dtype=np.float32)
        return (128 + (pixels - 128) * 0.3).astype(np.uint8)
    return np.asarray(face)


def cpu_flags():
    """The CPU's model name and its vector instruction sets, where /proc/cpuinfo says."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line), "?")
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []
    )
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(wanted) or 'no AVX2'})"


def scores(y_true, y_pred):
    return {
        "top1": accuracy_score(y_true, y_pred),
        "uar": unweighted_average_recall(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
    }


def run_domain(embeddings, y, args):
    """Every method's metrics, per k and seed, on one domain's embeddings."""
    prior = ZeroShotEmotionClassifier(model=args.model, precomputed=True)
    zero_shot = prior.fit().predict(embeddings)
    methods = {
        "zero-shot": None,
        "logistic regression": None,
        "few-shot (default: tip)": FewShotEmotionClassifier(prior),
        "few-shot (interpolation)": FewShotEmotionClassifier(prior, method="interpolation"),
    }
    results = {name: {} for name in methods}
    index = np.arange(len(y))
    for k in args.shots:
        for name in methods:
            results[name][k] = []
        for seed in range(args.seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # disgust is short at k=64
                shots, rest, y_shots, y_rest = sample_k_shot(index, y, k, random_state=seed, max_fraction=0.5)
            results["zero-shot"][k].append(scores(y_rest, zero_shot[rest]))
            probe = LogisticRegression(max_iter=1000).fit(normalize(embeddings[shots]), y_shots)
            results["logistic regression"][k].append(
                scores(y_rest, probe.predict(normalize(embeddings[rest])))
            )
            for name, method in methods.items():
                if method is not None:
                    fitted = method.fit(embeddings[shots], y_shots)
                    results[name][k].append(scores(y_rest, fitted.predict(embeddings[rest])))
        line = ", ".join(f"{n} {np.mean([r['top1'] for r in results[n][k]]):.3f}" for n in methods)
        print(f"  k={k}: {line}", flush=True)
    return results


def summary(results, metric):
    return {
        name: {
            k: (float(np.mean([r[metric] for r in runs])), float(np.std([r[metric] for r in runs])))
            for k, runs in per_k.items()
        }
        for name, per_k in results.items()
    }


def markdown(all_results, args):
    lines = []
    for domain, results in all_results.items():
        lines.append(f"### {domain}\n")
        names = list(results)
        for metric, title in (("top1", "top-1"), ("uar", "UAR"), ("macro_f1", "macro-F1")):
            table = summary(results, metric)
            lines.append(f"{title} (%, mean ± sd over {args.seeds} seeds)\n")
            lines.append("| k | " + " | ".join(names) + " |")
            lines.append("|---:|" + "---:|" * len(names))
            for k in args.shots:
                cells = [f"{100 * table[n][k][0]:.1f} ± {100 * table[n][k][1]:.1f}" for n in names]
                lines.append(f"| {k} | " + " | ".join(cells) + " |")
            lines.append("")
        top1 = summary(results, "top1")
        default = "few-shot (default: tip)"
        lines.append(
            "Target check, top-1 points (default adapter minus the better of zero-shot and logistic regression; minus logistic regression)\n"
        )
        lines.append(
            "| k | default - max(zero-shot, LR) | held (>= -0.5)? | default - LR | held (>= 3, k <= 16)? |"
        )
        lines.append("|---:|---:|---|---:|---|")
        for k in args.shots:
            best = max(top1["zero-shot"][k][0], top1["logistic regression"][k][0])
            gap = 100 * (top1[default][k][0] - best)
            over_lr = 100 * (top1[default][k][0] - top1["logistic regression"][k][0])
            lr_cell = ("yes" if over_lr >= 3 else "no") if k <= 16 else "-"
            lines.append(
                f"| {k} | {gap:+.1f} | {'yes' if gap >= -0.5 else 'no'} | {over_lr:+.1f} | {lr_cell} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(all_results, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(all_results), figsize=(5.5 * len(all_results), 4), squeeze=False)
    for ax, (domain, results) in zip(axes[0], all_results.items()):
        table = summary(results, "top1")
        for name in results:
            mean = np.array([table[name][k][0] for k in args.shots]) * 100
            sd = np.array([table[name][k][1] for k in args.shots]) * 100
            ax.plot(args.shots, mean, marker="o", label=name)
            ax.fill_between(args.shots, mean - sd, mean + sd, alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_xticks(args.shots, [str(k) for k in args.shots])
        ax.set_xlabel("shots per class (k)")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_title(domain, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"{Path(args.model).name}: few-shot adaptation, {args.split}, {args.seeds} seeds", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=str(SHARED / "models" / "tiny-fer-clip.pt"), help="any clip-fer model name or path"
    )
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"), help="a split/class/*.jpg folder")
    parser.add_argument("--split", default="public_test", help="shots and evaluation come from this split")
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shift", choices=sorted(SHIFTS), default="inverted")
    parser.add_argument(
        "--cache-dir", default=str(Path.home() / ".cache" / "clip-fer" / "few-shot-benchmark")
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()

    start = time.perf_counter()
    data = load_image_folder(args.data, split=args.split)
    y = data.target.astype(str)
    encoder = ZeroShotEmotionClassifier(model=args.model, cache_dir=args.cache_dir, batch_size=256)
    domains = {"in-domain": list(data.images)}
    if args.shift != "none":
        domains[f"shift: {args.shift} ({SHIFTS[args.shift]})"] = [shifted(p, args.shift) for p in data.images]
    print(
        f"clip-fer {clip_fer.__version__}, {cpu_flags()}, {os.cpu_count()} cores; model {args.model}; "
        f"{len(y)} images of {args.data} {args.split}; k={args.shots}; {args.seeds} seeds",
        flush=True,
    )
    all_results = {}
    for domain, images in domains.items():
        t = time.perf_counter()
        embeddings = encoder.embed(images).astype(np.float64)
        print(f"{domain}: {len(images)} images embedded in {time.perf_counter() - t:.1f} s", flush=True)
        all_results[domain] = run_domain(embeddings, y, args)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(all_results, args)
    (out / "few_shot.md").write_text(text)
    (out / "few_shot.json").write_text(
        json.dumps(
            {
                d: {n: {str(k): runs for k, runs in per_k.items()} for n, per_k in r.items()}
                for d, r in all_results.items()
            },
            indent=1,
        )
    )
    plot(all_results, args, out / "few_shot.png")
    print(text)
    print(f"total {time.perf_counter() - start:.0f} s; wrote {out}/few_shot.md, .json, .png")


if __name__ == "__main__":
    main()
