"""Which confidence ranks errors best, and what calibration and conformal sets give.

On labelled faces (default: FER2013 PublicTest with the checkpoint in ../shared),
each image is encoded once; then, for several random halvings into a calibration
half and a held-out half, it measures on the held-out half:

- the AURC (area under the risk-coverage curve, lower is better) of four
  confidences for the same top-1 answers: the raw top probability of
  ``predict_proba``, the top probability after scikit-learn's temperature scaling
  fitted on the calibration half (the raw one is what ``abstain_below``
  thresholds), the templates' vote share (``decision.scores[:, 0]`` of
  ``RankVoteDecider``), and for reference the prompt ensemble's mean probability
  (``MeanProbaDecider``) and an oracle that puts every error last;
- the expected calibration error, negative log-likelihood and Brier score of the
  raw and the calibrated probabilities;
- the coverage and mean size of MAPIE's split-conformal sets (``--confidence-level``).

    python benchmarks/confidence.py                  # about 1.5 minutes on 2 cores
    python benchmarks/confidence.py --data DIR --model my-clip.pt --splits 10
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedShuffleSplit

from clip_fer import MeanProbaDecider, ZeroShotEmotionClassifier, load_prompt_bank, metrics
from clip_fer.datasets import load_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []
    )
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags) or "none listed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--split", default="public_test")
    parser.add_argument("--model", default=str(SHARED / "models" / "tiny-fer-clip.pt"))
    parser.add_argument("--bank", default="default", help="a built-in bank name or a JSON file")
    parser.add_argument("--splits", type=int, default=5, help="random halvings (seeds 0..N-1)")
    parser.add_argument("--confidence-level", type=float, default=0.9)
    args = parser.parse_args()

    from mapie.classification import SplitConformalClassifier

    start = time.perf_counter()
    data = load_dataset(args.data, split=args.split)
    y = np.asarray(data.target).astype(str)
    encoder = ZeroShotEmotionClassifier(model=args.model, device="cpu").fit()
    embeddings = encoder.embed(data.images)
    bank = load_prompt_bank(args.bank)
    vote = ZeroShotEmotionClassifier(model=args.model, device="cpu", precomputed=True, prompt_bank=bank)
    vote.fit(embeddings[:1])
    mean = ZeroShotEmotionClassifier(
        model=args.model, device="cpu", precomputed=True, prompt_bank=bank, decider=MeanProbaDecider()
    ).fit(embeddings[:1])
    decision = vote.decide(embeddings)
    y_pred = vote.labels_of(decision.ranking[:, 0])
    ensemble = mean.predict_proba(embeddings)
    print(
        f"{len(y)} images ({args.data}, {args.split}), model {Path(args.model).name}, bank {args.bank} "
        f"({len(vote.prompt_bank_.templates_)} templates), "
        f"top-1 {np.mean(y_pred == y):.3f}; encoded in {time.perf_counter() - start:.0f} s\n"
        f"{platform.processor() or platform.machine()}, CPU flags: {cpu_flags()}\n"
    )

    rows = []
    halving = StratifiedShuffleSplit(n_splits=args.splits, test_size=0.5, random_state=0)
    for cal, held in halving.split(embeddings, y):
        calibrated = CalibratedClassifierCV(FrozenEstimator(vote), method="temperature")
        calibrated.fit(embeddings[cal], y[cal])
        raw, after = decision.proba[held], calibrated.predict_proba(embeddings[held])
        y_held, pred_held = y[held], y_pred[held]
        # MAPIE checks a prefit estimator by predicting one all-zero row, which
        # clip-fer refuses as an embedding unless on_error="skip".
        conformal = SplitConformalClassifier(
            estimator=vote.set_params(on_error="skip"), confidence_level=args.confidence_level, prefit=True
        ).conformalize(embeddings[cal], y[cal])
        sets = conformal.predict_set(embeddings[held])[1][:, :, 0]
        truth = np.searchsorted(vote.classes_, y_held)
        rows.append(
            {
                "AURC, raw top probability (abstain_below's confidence)": metrics.aurc(
                    y_held, pred_held, raw.max(axis=1)
                ),
                "AURC, calibrated top probability": metrics.aurc(y_held, pred_held, after.max(axis=1)),
                "AURC, templates' vote share": metrics.aurc(y_held, pred_held, decision.scores[held, 0]),
                "AURC, ensemble mean probability": metrics.aurc(
                    y_held, pred_held, ensemble[held].max(axis=1)
                ),
                "AURC, an oracle (errors last)": metrics.aurc(y_held, pred_held, (pred_held == y_held) * 1.0),
                "error rate (AURC of a random order)": float(np.mean(pred_held != y_held)),
                "ECE, raw": metrics.expected_calibration_error(y_held, raw, classes=vote.classes_),
                "ECE, calibrated": metrics.expected_calibration_error(y_held, after, classes=vote.classes_),
                "NLL, raw": metrics.negative_log_likelihood(y_held, raw, classes=vote.classes_),
                "NLL, calibrated": metrics.negative_log_likelihood(y_held, after, classes=vote.classes_),
                "Brier, raw": metrics.brier_score(y_held, raw, classes=vote.classes_),
                "Brier, calibrated": metrics.brier_score(y_held, after, classes=vote.classes_),
                "temperature (1 / beta)": 1.0 / calibrated.calibrated_classifiers_[0].calibrators[0].beta_,
                f"conformal coverage at {args.confidence_level:g}": float(
                    sets[np.arange(len(truth)), truth].mean()
                ),
                "conformal mean set size": float(sets.sum(axis=1).mean()),
            }
        )
    print(f"held-out halves: {len(held)} images each, {args.splits} random halvings (mean, std)")
    print("| measure | mean | std |\n|---|---:|---:|")
    for name in rows[0]:
        values = np.array([row[name] for row in rows])
        print(f"| {name} | {values.mean():.4f} | {values.std():.4f} |")
    print(f"\ndone in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
