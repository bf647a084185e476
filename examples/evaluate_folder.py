"""Evaluate a prompt bank on labelled faces, then grid-search prompt configurations.

Run from the repository root (needs the ``report`` extra for pandas), e.g. with the
small FER2013-trained checkpoint kept beside the repository:

    python examples/evaluate_folder.py --model ../shared/models/tiny-fer-clip.pt \
        ../shared/data/fer2013/public_test

DATA may be a folder of ``class/*.jpg``, a ``split/class/*.jpg`` tree (pick splits
with ``--split``) or FER2013's Kaggle CSV. Images are encoded once (``embed``);
the bank's scores and every grid-search candidate are computed on the embeddings
(``precomputed=True``), which is what makes the search cheap.

What it printed on FER2013 PublicTest with ``tiny-fer-clip.pt`` (a small model with
CLIP's architecture trained on FER2013's Training split; these are NOT CLIP's
numbers), on an idle 2-core CPU (with the cores shared, encoding took 56 s):

    3589 images, 7 classes, model ../shared/models/tiny-fer-clip.pt
    encoded in 5.0 s

    default bank, RankVoteDecider:
      n_images: 3589
      top1_accuracy: 0.454
      top3_accuracy: 0.786
      macro_f1: 0.380
      uar: 0.379
      top3_macro_f1: 0.729

    The report's top-3 table (true class if among the best 3, else the best):
                  precision    recall  f1-score   support

           angry      0.742     0.677     0.708       467
         disgust      0.818     0.321     0.462        56
            fear      0.804     0.613     0.696       496
           happy      0.859     0.876     0.867       895
         neutral      0.699     0.839     0.763       607
             sad      0.769     0.900     0.829       653
        surprise      0.846     0.728     0.782       415

        accuracy                          0.786      3589
       macro avg      0.791     0.708     0.729      3589
    weighted avg      0.790     0.786     0.782      3589

    grid search: 42 candidates x 3 folds in 1.3 s
    best by 3-fold top-3 accuracy:
      top-3 0.788  top-1 0.450  draw: 3 templates 3 labels 3, corrected      MeanProbaDecider
      top-3 0.786  top-1 0.451  draw: 3 templates 3 labels 3, corrected      RankVoteDecider
      top-3 0.786  top-1 0.451  draw: 2 templates 2 labels 1                 RankVoteDecider
      top-3 0.786  top-1 0.454  report: 3 templates 3 labels 1, corrected    RankVoteDecider
      top-3 0.786  top-1 0.451  draw: 2 templates 2 labels 1                 MeanProbaDecider
      top-3 0.786  top-1 0.457  draw: 3 templates 3 labels 1                 MeanProbaDecider
      top-3 0.785  top-1 0.452  draw: 1 templates 1 labels 2                 RankVoteDecider
      top-3 0.785  top-1 0.452  draw: 1 templates 1 labels 2                 MeanProbaDecider
"""

import argparse
import time

from sklearn.base import clone
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV

from clip_fer import (
    MeanProbaDecider,
    RankVoteDecider,
    ZeroShotEmotionClassifier,
    report_experiment_configurations,
)
from clip_fer.datasets import load_dataset
from clip_fer.metrics import summarize, top_k_accuracy, top_k_predictions


def top3_accuracy(estimator, X, y):
    """A GridSearchCV scorer: top-3 accuracy of the estimator's ranking."""
    return top_k_accuracy(y, estimator.predict_topk(X, k=3), k=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="A folder of class/*.jpg or split/class/*.jpg, or FER2013's CSV")
    parser.add_argument("--split", nargs="+", help="Splits to keep, e.g. public_test (default: all)")
    parser.add_argument("--model", default="ViT-B/32", help="CLIP name or checkpoint path")
    parser.add_argument("--limit", type=int, default=0, help="Use every n-th image to keep at most this many")
    args = parser.parse_args()

    data = load_dataset(args.data, args.split)
    images, y = data.images, data.target
    if args.limit and len(y) > args.limit:
        step = -(-len(y) // args.limit)
        images, y = images[::step], y[::step]
    print(f"{len(y)} images, {len(set(y))} classes, model {args.model}")

    clf = ZeroShotEmotionClassifier(model=args.model, batch_size=64, verbose=True).fit(y=y)
    start = time.perf_counter()
    embeddings = clf.embed(images)
    print(f"encoded in {time.perf_counter() - start:.1f} s\n")

    on_embeddings = clone(clf).set_params(precomputed=True).fit()
    ranked = on_embeddings.predict_topk(embeddings, k=3)
    print(f"default bank, {type(on_embeddings.decider_).__name__}:")
    for name, value in summarize(y, ranked, k=3).items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    print("\nThe report's top-3 table (true class if among the best 3, else the best):")
    print(classification_report(y, top_k_predictions(y, ranked, k=3), digits=3, zero_division=0))

    banks = report_experiment_configurations(random_state=0)
    search = GridSearchCV(
        clone(on_embeddings),
        {"prompt_bank": list(banks.values()), "decider": [RankVoteDecider(), MeanProbaDecider()]},
        scoring={"top1": "accuracy", "top3": top3_accuracy},
        refit="top3",
        cv=3,
    )
    start = time.perf_counter()
    search.fit(embeddings, y)
    results = search.cv_results_
    elapsed = time.perf_counter() - start
    print(f"grid search: {len(results['params'])} candidates x 3 folds in {elapsed:.1f} s")
    names = {id(bank): name for name, bank in banks.items()}
    order = results["rank_test_top3"].argsort(kind="stable")
    print("best by 3-fold top-3 accuracy:")
    for i in order[:8]:
        params = results["params"][i]
        print(
            f"  top-3 {results['mean_test_top3'][i]:.3f}  top-1 {results['mean_test_top1'][i]:.3f}  "
            f"{names[id(params['prompt_bank'])]:<44} {type(params['decider']).__name__}"
        )


if __name__ == "__main__":
    main()
