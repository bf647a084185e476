"""Copies of each shot (x3) against none: alpha_ and top-1 on held-out faces, 6 draws.

    python benchmarks/few_shot_copies.py

FER2013 PublicTest (first 100 faces per class), the shared tiny checkpoint, k=16 shots
per class, method="tip", embeddings encoded once. Before issue 25 the copies vouched for
each other in the leave-one-out rule; now the fit leaves them out with a warning.
"""

import warnings

import numpy as np

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier
from clip_fer.datasets import load_image_folder, sample_k_shot

warnings.simplefilter("ignore")
data = load_image_folder("../shared/data/fer2013", split="public_test")
y_all = np.asarray(data.target, dtype=object)
keep = np.concatenate([np.flatnonzero(y_all == c)[:100] for c in np.unique(y_all)])
paths = [data.images[i] for i in keep]
y = y_all[keep]
clf = ZeroShotEmotionClassifier(model="../shared/models/tiny-fer-clip.pt", device="cpu").fit()
X = clf.embed(paths)
prior = ZeroShotEmotionClassifier(model="../shared/models/tiny-fer-clip.pt", device="cpu", precomputed=True)
zs = prior.fit()
for seed in range(6):
    Xs, Xr, ys, yr = sample_k_shot(X, y, 16, random_state=seed)
    copies = np.repeat(np.arange(len(Xs)), 3)
    plain = FewShotEmotionClassifier(prior).fit(Xs, ys)
    tripled = FewShotEmotionClassifier(prior).fit(Xs[copies], ys[copies])
    base = zs.score(Xr, yr)
    print(
        f"seed {seed}: alpha_ {plain.alpha_:.1f} (x3: {tripled.alpha_:.1f}); top-1 zero-shot {base:.3f}, "
        f"few-shot {plain.score(Xr, yr):.3f}, x3 {tripled.score(Xr, yr):.3f}"
    )
