"""``clip-fer experiment``: the report's prompt-configuration study, as one command."""

import argparse
import time
from pathlib import Path

from ..utils._install import install_hint
from ._common import (
    add_data_options,
    add_model_options,
    build_estimator,
    load_data,
    positive_int,
    run_safely,
)

K = 3

_EPILOG = """\
configurations: the report's best dictionary "3 templates 3 labels 1" as printed
and with its misspellings corrected; its two other printed dictionaries; nine
draws of n templates x n words per class (n = 1, 2, 3; three draws each) from the
report's pools, and those of them with a misspelled word again with the spelling
corrected; OpenAI's FER2013 prompts; the baseline "a photo of a {} looking face."
(clip_fer.report_experiment_configurations lists them.)

outputs (in --out DIR):
  results.csv, results.md   one row per configuration, ranked: top1_accuracy,
                            top3_accuracy, macro_f1, uar, top3_macro_f1
  per_class.csv             per configuration and class: precision, recall, F1
                            of the top-1 prediction and of the report's top-3 rule
  configurations.json       the templates and words of every configuration
  per_class_top1_f1.png,    per-class F1 of the best configurations (--n-best),
  per_class_top3_f1.png     as bars (needs matplotlib; skipped without)

example:
  clip-fer experiment --data fer2013/public_test \\
      --model models/my-clip.pt --out results/experiment
"""


def add_parser(commands):
    """Register ``experiment`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "experiment",
        help="Compare the report's prompt configurations on labelled images.",
        description="Encode every labelled image once, score each prompt configuration of the\n"
        "report's experiment on those embeddings, and rank them by top-3 accuracy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_options(parser)
    add_model_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="Folder for the output files (created if needed)."
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="Seed of the random draws of templates and words; the same seed gives the same "
        "configurations on every machine. Default: 0.",
    )
    parser.add_argument(
        "--rank-by",
        default="top3_accuracy",
        choices=("top3_accuracy", "top1_accuracy", "macro_f1", "uar", "top3_macro_f1"),
        help="The score that ranks the configurations, largest first. Default: top3_accuracy.",
    )
    parser.add_argument(
        "--n-best",
        type=positive_int,
        default=5,
        help="How many of the best configurations the bar charts show. Default: 5.",
    )
    parser.set_defaults(run=lambda args: run_safely(experiment, args))


def experiment(args):
    """Run the command for parsed ``args``; raises on failure."""
    from ..experiments._experiment import report_experiment_configurations, run_experiment
    from ..experiments._reports import has_matplotlib, markdown_table, require

    require("pandas", "clip-fer experiment")
    Path(args.out).mkdir(parents=True, exist_ok=True)  # fail before the long part
    start = time.perf_counter()
    data = load_data(args)
    clf = build_estimator(args, n_images=len(data.images)).fit(y=data.target)
    embeddings = clf.embed(data.images)
    encoded = time.perf_counter()
    configurations = report_experiment_configurations(random_state=args.random_state)
    result = run_experiment(
        clf,
        embeddings,
        data.target,
        configurations,
        k=K,
        rank_by=args.rank_by,
        verbose=clf.verbose,
    )
    done = time.perf_counter()

    header = (
        f"{result.n_images} images from `{args.data}`"
        + (f" (split {', '.join(args.split)})" if args.split else "")
        + f", model `{args.model}`, decider {args.decider}, reduce {args.reduce}, "
        f"random state {args.random_state}, ranked by {args.rank_by}. Encoding took "
        f"{encoded - start:.1f} s, scoring {len(configurations)} configurations "
        f"{done - encoded:.1f} s."
    )
    plots = has_matplotlib()
    paths = result.save(args.out, n_best=args.n_best, plots=plots, header=header)
    print(f"clip-fer experiment: {header}\n")
    print(markdown_table(result.table))
    print(f"\nwrote {', '.join(p.name for p in paths)} to {args.out}")
    if not plots:
        print(f"note: matplotlib is not installed, so the bar charts were skipped ({install_hint('report')})")
    print(f"done in {time.perf_counter() - start:.1f} s")
