"""Top-1 and top-3 accuracy of each built-in bank and decider on a class-folder tree.

    python examples/compare_banks.py --model ../shared/models/tiny-fer-clip.pt \
        ../shared/data/fer2013/public_test

Images are encoded once; every configuration is scored on the same embeddings.
Prints a markdown table.
"""

import argparse
from pathlib import Path

import numpy as np

from clip_fer import MeanProbaDecider, RankVoteDecider, ZeroShotEmotionClassifier, load_prompt_bank


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="A folder of class/*.jpg images")
    parser.add_argument("--model", default="ViT-B/32", help="CLIP name or checkpoint path")
    parser.add_argument("--banks", nargs="+", default=["default", "report", "openai"])
    args = parser.parse_args()

    paths = sorted(Path(args.folder).glob("*/*.jpg"))
    y = np.array([p.parent.name for p in paths], dtype=object)
    embeddings = ZeroShotEmotionClassifier(model=args.model, batch_size=64).fit().embed([str(p) for p in paths])
    print(f"{len(paths)} images, model {args.model}\n")
    print("| bank | decider | top-1 | top-3 |\n|---|---|---:|---:|")
    for name in args.banks:
        for decider in (RankVoteDecider(), MeanProbaDecider()):
            clf = ZeroShotEmotionClassifier(
                model=args.model, prompt_bank=load_prompt_bank(name), decider=decider, precomputed=True
            ).fit()
            top3 = clf.predict_topk(embeddings, k=3)
            top1_acc = np.mean(top3[:, 0] == y)
            top3_acc = np.mean([label in row for label, row in zip(y, top3)])
            print(f"| {name} | {type(decider).__name__} | {top1_acc:.3f} | {top3_acc:.3f} |")


if __name__ == "__main__":
    main()
