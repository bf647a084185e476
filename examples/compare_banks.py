"""Top-1 and top-3 accuracy, macro F1 and UAR of built-in banks and both deciders.

    python examples/compare_banks.py --model ../shared/models/tiny-fer-clip.pt \
        ../shared/data/fer2013/public_test

DATA is a folder of class/*.jpg, a split/class/*.jpg tree or FER2013's CSV. Images
are encoded once; ``run_experiment`` scores every configuration on the same
embeddings. Prints a markdown table (needs the ``report`` extra).
"""

import argparse

import pandas as pd

from clip_fer import (
    MeanProbaDecider,
    RankVoteDecider,
    ZeroShotEmotionClassifier,
    load_prompt_bank,
    run_experiment,
)
from clip_fer.datasets import load_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="A folder of class/*.jpg or split/class/*.jpg, or FER2013's CSV")
    parser.add_argument("--split", nargs="+", help="Splits to keep, e.g. public_test (default: all)")
    parser.add_argument("--model", default="ViT-B/32", help="CLIP name or checkpoint path")
    parser.add_argument("--banks", nargs="+", default=["default", "report", "openai", "baseline"])
    args = parser.parse_args()

    data = load_dataset(args.data, args.split)
    clf = ZeroShotEmotionClassifier(model=args.model, batch_size=64).fit(y=data.target)
    embeddings = clf.embed(data.images)
    print(f"{len(data.target)} images, model {args.model}\n")
    banks = {name: load_prompt_bank(name) for name in args.banks}
    tables = []
    for decider in (RankVoteDecider(), MeanProbaDecider()):
        table = run_experiment(clf.set_params(decider=decider), embeddings, data.target, banks).table
        tables.append(table.assign(decider=type(decider).__name__))
    table = pd.concat(tables).sort_values("top3_accuracy", ascending=False, kind="stable")
    columns = ["configuration", "decider", "top1_accuracy", "top3_accuracy", "macro_f1", "uar"]
    print(table[columns].to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
