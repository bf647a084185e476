"""Evaluate a prompt bank on a folder of ``class/*.jpg`` images, then search prompts.

Run from the repository root, e.g. with the small FER2013-trained checkpoint:

    python examples/evaluate_folder.py --model ../shared/models/tiny-fer-clip.pt \
        ../shared/data/fer2013/public_test

Images are encoded once (``embed``); every prompt configuration is then scored on
the embeddings through ``precomputed=True``, which is what makes the grid search
cheap.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV

from clip_fer import (
    MeanProbaDecider,
    PromptBank,
    RankVoteDecider,
    SynonymFolder,
    ZeroShotEmotionClassifier,
    report_experiment_banks,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="A folder of class/*.jpg images")
    parser.add_argument("--model", default="ViT-B/32", help="CLIP name or checkpoint path")
    parser.add_argument("--limit", type=int, default=0, help="Use every n-th image to keep at most this many")
    args = parser.parse_args()

    paths = sorted(Path(args.folder).glob("*/*.jpg"))
    if args.limit and len(paths) > args.limit:
        paths = paths[:: -(-len(paths) // args.limit)]
    y = np.array([p.parent.name for p in paths], dtype=object)
    paths = [str(p) for p in paths]
    print(f"{len(paths)} images, {len(set(y))} classes, model {args.model}")

    clf = ZeroShotEmotionClassifier(model=args.model, batch_size=64, verbose=True).fit()
    start = time.perf_counter()
    embeddings = clf.embed(paths)
    print(f"encoded in {time.perf_counter() - start:.1f} s")

    on_embeddings = clf.set_params(precomputed=True).fit()
    top3 = on_embeddings.predict_topk(embeddings, k=3)
    print(f"default bank + rank vote: top-1 {np.mean(top3[:, 0] == y):.3f}, "
          f"top-3 {np.mean([t in row for t, row in zip(y, top3)]):.3f}")
    print(classification_report(y, top3[:, 0], digits=3, zero_division=0))

    banks = {"report": PromptBank.report_best(), "openai": PromptBank.openai_fer2013(),
             **report_experiment_banks(random_state=0)}
    search = GridSearchCV(
        ZeroShotEmotionClassifier(model=args.model, precomputed=True, folder=SynonymFolder()),
        {"prompt_bank": list(banks.values()), "folder__reduce": ["sum", "mean"],
         "decider": [RankVoteDecider(), MeanProbaDecider()]},
        cv=3,
    ).fit(embeddings, y)
    names = {id(b): n for n, b in banks.items()}
    results = sorted(zip(search.cv_results_["mean_test_score"], search.cv_results_["params"]),
                     key=lambda r: -r[0])
    print("top-1 accuracy (3-fold mean) of the best prompt configurations:")
    for score, params in results[:8]:
        bank = names.get(id(params["prompt_bank"]), "?")
        print(f"  {score:.3f}  {bank:<24} reduce={params['folder__reduce']:<4} "
              f"{type(params['decider']).__name__}")


if __name__ == "__main__":
    main()
