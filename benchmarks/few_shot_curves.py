"""Few-shot learning curves under label shift: the default rule's choice, and prior corrections.

    python benchmarks/few_shot_curves.py            # FER2013 checkpoint, 3 domains, k = 1..64, 5 seeds
    python benchmarks/few_shot_curves.py --domains low-contrast --shots 16 48

The shots are drawn class-balanced (:func:`clip_fer.datasets.sample_k_shot`, at most half
of a class, as ``benchmarks/few_shot.py`` draws them); the faces left to label are not
(FER2013 PublicTest: 25% happy, 1.6% disgust). For each domain (``none``: the faces as
they are; ``inverted``: upside down; ``low-contrast``: pixel values squeezed to 30% of
their range around mid-grey), ``k`` and seed it scores on the rest of the split, top-1:

- ``zero-shot``: the ``ZeroShotEmotionClassifier`` (default bank and decider);
- ``LR``: MIEB's probe, ``LogisticRegression`` (C=1) on the shots' unit embeddings;
- ``few-shot``: ``FewShotEmotionClassifier`` with default settings; ``moved`` is how many
  of the seeds its rule moved away from zero-shot (``alpha_ > 0``): the rule's choice;
- ``+ EM``: the same posteriors moved from the shots' class frequencies to the class prior
  that Saerens et al.'s EM (2002, :func:`clip_fer._label_shift.em_class_prior`) estimates
  from the unlabelled evaluation faces themselves (transductive); ``EM L1`` is the L1
  distance of the probe's EM prior to the evaluation faces' true class frequencies;
- ``LR + BCTS + EM``: the probe calibrated first (temperature and a bias per class fitted
  to its cross-validated predictions of the shots, Alexandari et al., ICML 2020), then
  moved to its EM prior (no column at k = 1: a class's single shot cannot be held out);
- ``LR + BBSE``: the probe moved to the prior that black-box shift estimation (Lipton et
  al., ICML 2018) solves for: the probe's cross-validated soft confusion matrix on the
  shots against its mean posterior on the evaluation faces (none at k = 1); ``BBSE L1``
  is that estimate's L1 distance to the true class frequencies;
- ``LR + true prior``: the probe moved to the evaluation faces' true class frequencies,
  and ``majority``: always the evaluation faces' most frequent class. Neither is a rule
  (both read the test labels): what a perfect prior estimate would give, and the
  constant answer.

Each domain's faces are encoded once and kept in ``--cache`` (an ``.npz``), so a second
run only fits.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import normalize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from few_shot import SHARED, cpu_flags, shifted

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier
from clip_fer._label_shift import em_class_prior, shift_log_proba
from clip_fer.datasets import load_image_folder, sample_k_shot

DOMAINS = ("none", "inverted", "low-contrast")
COLUMNS = (
    "zero-shot",
    "LR",
    "few-shot",
    "few-shot + EM",
    "LR + EM",
    "LR + BCTS + EM",
    "LR + BBSE",
    "LR + true prior",
    "majority",
)


def embeddings(args):
    """``{domain: unit embeddings}`` and the labels, from ``--cache`` or encoded once."""
    cache = Path(args.cache)
    data = load_image_folder(args.data, split=args.split)
    y = data.target.astype(str)
    stored = dict(np.load(cache)) if cache.exists() else {}
    encoder = ZeroShotEmotionClassifier(model=args.model, batch_size=256)
    for domain in args.domains:
        if domain not in stored:
            t = time.perf_counter()
            images = list(data.images) if domain == "none" else [shifted(p, domain) for p in data.images]
            stored[domain] = encoder.embed(images).astype(np.float32)
            print(f"{domain}: {len(images)} faces encoded in {time.perf_counter() - t:.0f} s", flush=True)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **stored)
    return {d: normalize(stored[d].astype(np.float64)) for d in args.domains}, y


def held_out_log_proba(X_shots, labels, n_classes):
    """The probe's cross-validated log-probabilities of the shots (None below 2 shots a class)."""
    counts = np.bincount(labels, minlength=n_classes)
    if counts.min() < 2:
        return None
    cv = StratifiedKFold(min(5, counts.min()))
    proba = cross_val_predict(
        LogisticRegression(max_iter=1000), X_shots, labels, cv=cv, method="predict_proba"
    )
    return np.log(np.clip(proba, 1e-300, None))


def bbse_prior(held_out, labels, proba_rest):
    """Black-box shift estimation: the prior ``pi`` whose mixture of the per-class mean
    held-out posteriors is the mean posterior on the inputs (non-negative least squares)."""
    n_classes = held_out.shape[1]
    confusion = np.stack([np.exp(held_out[labels == c]).mean(axis=0) for c in range(n_classes)], axis=1)
    prior, _ = nnls(confusion, proba_rest.mean(axis=0))
    prior = np.clip(prior, 1e-6, None)
    return prior / prior.sum()


def bias_corrected_calibration(held_out, labels):
    """Temperature and per-class bias fitted to the held-out shots by maximum likelihood
    (BCTS, Alexandari et al., ICML 2020): a function that calibrates log-probabilities."""
    rows = np.arange(len(labels))

    def nll(params):
        return -log_softmax(held_out / np.exp(params[0]) + params[1:], axis=1)[rows, labels].mean()

    params = minimize(nll, np.zeros(1 + held_out.shape[1]), method="L-BFGS-B").x
    return lambda log_proba: log_softmax(log_proba / np.exp(params[0]) + params[1:], axis=1)


def one_draw(X, y, prior, k, seed):
    """Top-1 of every column, the rule's choice and the EM prior's error, for one draw."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # disgust is short at k=64
        shots, rest, y_shots, y_rest = sample_k_shot(
            np.arange(len(y)), y, k, random_state=seed, max_fraction=0.5
        )
    classes = prior.classes_
    index = np.searchsorted(classes, y)
    source = np.bincount(index[shots], minlength=len(classes)) / len(shots)
    true = np.bincount(index[rest], minlength=len(classes)) / len(rest)

    clf = FewShotEmotionClassifier(prior).fit(X[shots], y_shots)
    adapted = np.log(np.clip(clf.predict_proba(X[rest]), 1e-300, None))
    # every class has a shot, so the probe's columns are the classes in order
    probe = LogisticRegression(max_iter=1000).fit(X[shots], index[shots]).predict_log_proba(X[rest])
    em_adapted, _ = em_class_prior(np.exp(adapted), source)
    em_probe, _ = em_class_prior(np.exp(probe), source)
    held_out = held_out_log_proba(X[shots], index[shots], len(classes))
    bbse = bcts = None
    if held_out is not None:
        bbse = bbse_prior(held_out, index[shots], np.exp(probe))
        calibrated = bias_corrected_calibration(held_out, index[shots])(probe)
        bcts = shift_log_proba(calibrated, source, em_class_prior(np.exp(calibrated), source)[0])
    scores = {
        "zero-shot": prior.predict_proba(X[rest]),
        "LR": probe,
        "few-shot": adapted,
        "few-shot + EM": shift_log_proba(adapted, source, em_adapted),
        "LR + EM": shift_log_proba(probe, source, em_probe),
        "LR + BCTS + EM": bcts,
        "LR + BBSE": None if bbse is None else shift_log_proba(probe, source, bbse),
        "LR + true prior": shift_log_proba(probe, source, true),
        "majority": np.broadcast_to(np.log(np.clip(true, 1e-300, None)), probe.shape),
    }
    top1 = {
        name: np.nan if s is None else float(np.mean(classes[s.argmax(axis=1)] == y_rest))
        for name, s in scores.items()
    }
    errors = [np.abs(p - true).sum() if p is not None else np.nan for p in (em_probe, bbse)]
    return top1, clf.alpha_ > 0, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "tiny-fer-clip.pt"))
    parser.add_argument("--data", default=str(SHARED / "data" / "fer2013"))
    parser.add_argument("--split", default="public_test", help="shots and evaluation both come from it")
    parser.add_argument("--domains", nargs="+", choices=DOMAINS, default=list(DOMAINS))
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", default="/tmp/clip-fer-few-shot-curves.npz", help="embeddings, per domain")
    args = parser.parse_args()

    start = time.perf_counter()
    X, y = embeddings(args)
    prior = ZeroShotEmotionClassifier(model=args.model, precomputed=True).fit()
    print(f"{cpu_flags()}; model {args.model}; {len(y)} faces of {args.split}; {args.seeds} seeds\n")
    for domain in args.domains:
        print(f"#### {domain}: top-1 (%), mean over {args.seeds} seeds\n")
        print("| k | " + " | ".join(COLUMNS) + " | moved | EM L1 | BBSE L1 |")
        print("|---:|" + "---:|" * (len(COLUMNS) + 3))
        for k in args.shots:
            draws = [one_draw(X[domain], y, prior, k, seed) for seed in range(args.seeds)]
            means = [100 * np.mean([d[0][c] for d in draws]) for c in COLUMNS]
            cells = ["-" if np.isnan(m) else f"{m:.1f}" for m in means]
            moved = sum(d[1] for d in draws)
            l1 = ["-" if np.isnan(e) else f"{e:.2f}" for e in np.mean([d[2] for d in draws], axis=0)]
            print(
                f"| {k} | " + " | ".join(cells) + f" | {moved}/{args.seeds} | " + " | ".join(l1) + " |",
                flush=True,
            )
        print()
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
