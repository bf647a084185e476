"""How other shots-only rules for the few-shot weight would have done: a what-if study.

    python benchmarks/few_shot_rules.py --shift low-contrast
    python benchmarks/few_shot_rules.py --shift none inverted low-contrast

For each domain, ``k`` and seed (drawn as ``benchmarks/few_shot.py`` draws them), it
records every candidate's held-out hits on the shots (``selection_["correct"]`` of
``FewShotEmotionClassifier(significance=1.0)``) and that candidate's top-1 on the rest
of the split, then replays several selection rules on the held-out hits alone:

- ``bonferroni``: the default, a one-sided sign test against the prior at 0.05 / m;
- ``holm``: the same tests with Holm's step-down correction;
- ``paired-1se``: a candidate is eligible when its mean paired gain over the prior
  exceeds one standard error of that gain (no multiplicity correction);
- ``one-se``: the classic one-standard-error rule on cross-validated accuracy (the
  candidate closest to the prior within one binomial SE of the best);
- ``best``: the most accurate held-out candidate (``significance=1.0``);
- ``oracle``: the best candidate on the evaluation faces (not a rule: an upper bound).

Candidate sets: the cache (``"tip"``), the interpolation (``"interpolation"``), and the
cache plus the plain probe (interpolation weight 1). It prints, per rule, top-1 minus
the better of zero-shot and logistic regression (the issue's target: >= -0.5), and the
prior's and the probe's held-out accuracy on the (class-balanced) shots beside their
accuracy on the evaluation faces. Embeddings come from ``--cache-dir`` as in few_shot.py.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from few_shot import SHARED, SHIFTS, cpu_flags, shifted

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier
from clip_fer._few_shot import choose_candidate
from clip_fer.datasets import load_image_folder, sample_k_shot


def sign_test_holm(correct, level=0.05):
    """The default's sign tests, with Holm's step-down correction instead of Bonferroni."""
    correct = np.asarray(correct, dtype=bool)
    wins = (correct & ~correct[0]).sum(axis=1)
    losses = (~correct & correct[0]).sum(axis=1)
    p = np.ones(len(correct))
    for i in range(1, len(correct)):
        if wins[i] > losses[i]:
            p[i] = binomtest(int(wins[i]), int(wins[i] + losses[i]), 0.5, alternative="greater").pvalue
    m, eligible = len(correct) - 1, np.zeros(len(correct), dtype=bool)
    for j, i in enumerate(np.argsort(p[1:]) + 1):
        if p[i] > level / (m - j):
            break
        eligible[i] = True
    gains = np.where(eligible, wins - losses, -np.inf)
    gains[0] = 0
    return int(np.argmax(gains))


def paired_one_se(correct):
    """Eligible when the mean paired gain over the prior exceeds one standard error."""
    hits = np.asarray(correct, dtype=float)
    if hits.shape[1] < 2:
        return 0
    gain = hits - hits[0]
    mean, se = gain.mean(axis=1), gain.std(axis=1, ddof=1) / np.sqrt(hits.shape[1])
    scores = np.where(mean > np.where(se > 0, se, np.inf), mean, -np.inf)
    scores[0] = 0
    return int(np.argmax(scores))


def one_se(correct):
    """The candidate closest to the prior whose accuracy is within one binomial SE of the best."""
    accuracy = np.asarray(correct, dtype=float).mean(axis=1)
    best = accuracy.max()
    se = np.sqrt(best * (1 - best) / np.asarray(correct).shape[1])
    return int(np.flatnonzero(accuracy >= best - se)[0])


RULES = {
    "bonferroni": lambda c: choose_candidate(c, 0.05)[0],
    "holm": sign_test_holm,
    "paired-1se": paired_one_se,
    "one-se": one_se,
    "best": lambda c: int(np.argmax(np.asarray(c, dtype=float).mean(axis=1))),
}


def candidates(prior, shots, y_shots, rest, y_rest, embeddings):
    """Held-out hits and evaluation top-1 of every candidate, for both methods."""
    out = {}
    tip = FewShotEmotionClassifier(prior, significance=1.0).fit(embeddings[shots], y_shots)
    accuracy = []
    for c in tip.selection_["candidates"]:
        fixed = FewShotEmotionClassifier(prior, alpha=c["alpha"], beta=c["beta"]).fit(
            embeddings[shots], y_shots
        )
        accuracy.append(np.mean(fixed.predict(embeddings[rest]) == y_rest))
    out["tip"] = (tip.selection_["correct"], np.array(accuracy))
    interpolation = FewShotEmotionClassifier(prior, method="interpolation", significance=1.0)
    interpolation.fit(embeddings[shots], y_shots)
    fixed = FewShotEmotionClassifier(prior, method="interpolation", alpha=1.0).fit(embeddings[shots], y_shots)
    accuracy = []
    for c in interpolation.selection_["candidates"]:
        fixed.alpha_ = c["alpha"]  # same probe and temperature, another weight
        accuracy.append(np.mean(fixed.predict(embeddings[rest]) == y_rest))
    out["interpolation"] = (interpolation.selection_["correct"], np.array(accuracy))
    out["tip + probe"] = (
        np.vstack([out["tip"][0], out["interpolation"][0][-1:]]),
        np.append(out["tip"][1], out["interpolation"][1][-1]),
    )
    return out


def average(runs, f):
    """100 x the mean of ``f(run)`` over seeds."""
    return 100 * float(np.mean([f(r) for r in runs]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "tiny-fer-clip.pt"))
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--split", default="public_test")
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shift", choices=sorted(SHIFTS), nargs="+", default=["low-contrast"])
    parser.add_argument(
        "--cache-dir", default=str(Path.home() / ".cache" / "clip-fer" / "few-shot-benchmark")
    )
    args = parser.parse_args()

    data = load_image_folder(args.data, split=args.split)
    y = data.target.astype(str)
    encoder = ZeroShotEmotionClassifier(model=args.model, cache_dir=args.cache_dir, batch_size=256)
    prior = ZeroShotEmotionClassifier(model=args.model, precomputed=True)
    print(
        f"{cpu_flags()}; model {args.model}; {len(y)} images; k={args.shots}; {args.seeds} seeds", flush=True
    )
    for shift in args.shift:
        images = list(data.images) if shift == "none" else [shifted(p, shift) for p in data.images]
        embeddings = encoder.embed(images).astype(np.float64)
        zero_shot = prior.fit().predict(embeddings)
        runs = {k: [] for k in args.shots}
        for k in args.shots:
            for seed in range(args.seeds):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    shots, rest, y_shots, y_rest = sample_k_shot(
                        np.arange(len(y)), y, k, random_state=seed, max_fraction=0.5
                    )
                probe = LogisticRegression(max_iter=1000).fit(normalize(embeddings[shots]), y_shots)
                run = candidates(prior, shots, y_shots, rest, y_rest, embeddings)
                run["zero-shot"] = np.mean(zero_shot[rest] == y_rest)
                run["lr"] = np.mean(probe.predict(normalize(embeddings[rest])) == y_rest)
                runs[k].append(run)
        best = {
            k: max(average(runs[k], lambda r: r["zero-shot"]), average(runs[k], lambda r: r["lr"]))
            for k in args.shots
        }
        print(f"\n### {shift}: top-1 minus max(zero-shot, LR), points, mean over seeds\n")
        print("| candidates | rule | " + " | ".join(f"k={k}" for k in args.shots) + " | held? |")
        print("|---|---|" + "---:|" * len(args.shots) + "---|")
        for name in ("tip", "interpolation", "tip + probe"):
            for rule_name, rule in [*RULES.items(), ("oracle", None)]:
                gaps = []
                for k in args.shots:

                    def chosen(r, name=name, rule=rule):
                        correct, accuracy = r[name]
                        return accuracy.max() if rule is None else accuracy[rule(correct)]

                    gaps.append(average(runs[k], chosen) - best[k])
                held = "yes" if min(gaps) >= -0.5 else "no"
                print(f"| {name} | {rule_name} | " + " | ".join(f"{g:+.1f}" for g in gaps) + f" | {held} |")
        print("\nHeld-out top-1 on the class-balanced shots against top-1 on the evaluation faces (%)\n")
        print("| k | prior, shots | prior, evaluation | probe, shots | probe, evaluation |")
        print("|---:|---:|---:|---:|---:|")
        for k in args.shots:
            cells = [
                average(runs[k], lambda r: r["interpolation"][0][0].mean()),
                average(runs[k], lambda r: r["interpolation"][1][0]),
                average(runs[k], lambda r: r["interpolation"][0][-1].mean()),
                average(runs[k], lambda r: r["interpolation"][1][-1]),
            ]
            print(f"| {k} | " + " | ".join(f"{c:.1f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
