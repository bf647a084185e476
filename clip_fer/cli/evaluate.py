"""``clip-fer evaluate``: score one prompt bank on labelled faces; write tables and a figure."""

import argparse
import sys
import time
from pathlib import Path

from ..utils._install import install_hint
from ..utils._json import strict_json
from ._abstain import add_abstain_option
from ._common import (
    add_data_options,
    add_group_size_option,
    add_model_options,
    bank_help,
    load_data,
    run_safely,
)
from ._saved import add_classifier_option, command_classifier, described

K = 3

_EPILOG = """\
probabilities and confidence (see docs/calibration.md):
  ece, nll, brier            expected calibration error (15 bins), negative
                             log-likelihood, multiclass Brier score of predict_proba
  aurc                       area under the risk-coverage curve of the top
                             probability (lower: it ranks errors better)
  selective_accuracy_at_80   accuracy over the 80% most confident images
  coverage, selective_accuracy  with --abstain-below: the share answered and the
                             accuracy over it; top-1 scores count "unsure" as wrong

groups: a data set that records groups of the people pictured (data.groups, e.g.
  gender or age group) also gets every score per group, with its count n, as
  model cards ask; groups of fewer than --min-group-size images are flagged small.

outputs (with --out DIR):
  metrics.json               the numbers above, per_class, confusion_matrix, run settings
  predictions.csv            path, true_label, (answer: the label or "unsure", with
                             --abstain-below), label_1..label_3 (best first), one
                             probability column per class (proba_<class>), error
                             (why an image was skipped with --on-error skip)
  groups.csv                 per group (data sets with groups): group_name,
                             group_value, n, small and the scores above
  classification_report.txt  per-class precision/recall/F1 of the top-1 prediction
                             and of the report's top-3 rule
  confusion_matrix.png       top-1 confusion matrix, counts and shares of each true
                             class ("unsure" a column of its own with --abstain-below;
                             the title says how many were answered);
  reliability_diagram.png    the calibration (images per bin above each bar) and
  risk_coverage.png          the risk-coverage curve (these three need matplotlib;
                             skipped without)

example:
  clip-fer evaluate --data fer2013 --split public_test \\
      --model models/my-clip.pt --out results/evaluate
"""


def add_parser(commands):
    """Register ``evaluate`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "evaluate",
        help="Score a prompt bank on labelled images (accuracy, F1, UAR, confusion matrix).",
        description="Predict every labelled image with one prompt bank and print its top-1 and\n"
        "top-3 accuracy, macro F1 and UAR (unweighted average recall); with --out, also\n"
        "write per-image predictions, per-class reports and a confusion matrix.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_options(parser)
    add_model_options(parser)
    parser.add_argument("--bank", default="default", help=f"Prompt bank: {bank_help()}. Default: default.")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="Folder for the output files (created if needed). Default: print the summary only.",
    )
    parser.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="An unreadable image: 'raise' stops with its name (exit 1); 'skip' leaves it out "
        "of the scores, names it on stderr and gives it an error in predictions.csv. "
        "Default: raise.",
    )
    add_group_size_option(parser)
    add_abstain_option(parser)
    add_classifier_option(parser)
    parser.set_defaults(run=lambda args: run_safely(evaluate, args))


def evaluate(args):
    """Run the command for parsed ``args``; raises on failure."""
    from .. import metrics
    from .._front import classifier_front
    from ..datasets import check_bank_classes

    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)  # fail before the long part
    start = time.perf_counter()
    data = load_data(args)
    clf = command_classifier(
        args,
        len(data.images),
        y=data.target,
        on_error=args.on_error,
        # a benchmark's class table: the bank must score exactly its classes
        check_classes=(
            lambda classes: check_bank_classes(classes, data.target_names, f"{args.data} ({data.layout})")
        )
        if "layout" in data
        else None,
    )
    front = classifier_front(clf, abstain_below=args.abstain_below, owner="clip-fer evaluate")
    decision = front.decide(data.images)  # skipped images in decision.errors, named below
    k = min(K, len(clf.classes_))
    summary, groups, ranked = metrics.summarize_decision(
        data.target,
        decision,
        front.labels_of,
        k,
        data.get("groups"),
        abstain_below=front.abstain_below,
        classes=clf.classes_,
        min_count=args.min_group_size,
    )
    elapsed = time.perf_counter() - start
    for index, reason in decision.errors:
        print(f"clip-fer: skipped: {data.filenames[index]}: {reason}", file=sys.stderr)
    if decision.errors:
        print(
            f"clip-fer: note: {len(decision.errors)} of {len(data.images)} images could not be read "
            "(--on-error skip); the scores are over the others.",
            file=sys.stderr,
        )

    print(f"clip-fer evaluate: {summary['n_images']} images from {args.data}, {described(args)}\n")
    print(_summary_table(summary, k))
    if groups:
        print(_groups_table(groups, k, args.min_group_size))
    if args.out:
        for note in _write_outputs(
            Path(args.out), args, data, clf, decision, ranked, summary, k, groups, front.abstain_below
        ):
            print(note)
    print(f"\ndone in {elapsed:.1f} s")


def _summary_table(summary, k):
    rows = [
        ("top-1 accuracy", summary["top1_accuracy"]),
        *([(f"top-{k} accuracy", summary[f"top{k}_accuracy"])] if k > 1 else []),
        ("macro F1", summary["macro_f1"]),
        ("UAR (balanced accuracy)", summary["uar"]),
        (f"macro F1, report's top-{k} rule", summary[f"top{k}_macro_f1"]),
        ("expected calibration error (15 bins)", summary["ece"]),
        ("negative log-likelihood", summary["nll"]),
        ("Brier score (multiclass, 0 to 2)", summary["brier"]),
        ("AURC, top probability (lower is better)", summary["aurc"]),
        ("accuracy of the 80% most confident", summary["selective_accuracy_at_80"]),
    ]
    if "coverage" in summary:
        rows += [
            ('coverage (answered, not "unsure")', summary["coverage"]),
            ("accuracy over the answered", summary["selective_accuracy"]),
        ]
    return "\n".join(["| metric | value |", "|---|---:|", *(f"| {m} | {v:.3f} |" for m, v in rows)])


def _groups_table(groups, k, min_count):
    """The per-group scores as a Markdown table, small groups flagged."""
    lines = [
        "",
        f"per group (groups of fewer than {min_count} images flagged *small*: read them with care)",
        "",
        f"| group | value | n | top-1 accuracy | UAR | top-{k} accuracy | macro F1 | ECE |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in groups:
        flag = " *small*" if row["small"] else ""
        lines.append(
            f"| {row['group_name']} | {row['group_value']} | {row['n']}{flag} | {row['top1_accuracy']:.3f} "
            f"| {row['uar']:.3f} | {row[f'top{k}_accuracy']:.3f} | {row['macro_f1']:.3f} | {row['ece']:.3f} |"
        )
    return "\n".join(lines)


def _write_outputs(out, args, data, clf, decision, ranked, summary, k, groups, abstain_below):
    """Write the files; returns the lines to print about them."""
    from sklearn.metrics import classification_report

    from .. import metrics
    from .._abstention import UNSURE, abstain, confidence
    from .._records import proba_column
    from ..experiments._reports import has_matplotlib, plot_confusion_matrix, require

    pd = require("pandas", "Writing the --out files of clip-fer evaluate")
    errors = dict(decision.errors)
    predicted = decision.ranking[:, 0] >= 0  # the images skipped with --on-error skip have no label
    sure = confidence(decision.proba)
    answers = abstain(ranked[:, 0], sure, abstain_below)  # "unsure" with --abstain-below
    kind = str if abstain_below is not None else clf.classes_.dtype
    y, y_pred = data.target[predicted], answers[predicted].astype(kind)
    ranked_kept = ranked[predicted]
    labels = list(clf.classes_)
    unsure = [UNSURE] if abstain_below is not None else []  # a column of the matrix
    matrix, _ = metrics.confusion(y, y_pred, labels + unsure)
    report = {
        **summary,
        "per_class": metrics.per_class_metrics(y, y_pred, labels),
        f"per_class_top{k}": metrics.per_class_metrics(
            y, metrics.top_k_predictions(y, ranked_kept, k), labels
        ),
        "confusion_matrix": {"labels": labels + unsure, "counts": matrix.tolist()},
        "groups": groups,
        "run": {
            "data": str(args.data),
            "split": args.split,
            "model": str(args.model),
            "bank": args.bank,
            "classifier": args.classifier,
            "decider": args.decider,
            "reduce": args.reduce,
            "k": k,
            "abstain_below": abstain_below,
        },
    }
    (out / "metrics.json").write_text(strict_json(report, indent=2) + "\n", encoding="utf-8")

    predictions = pd.DataFrame({"path": data.filenames, "true_label": data.target})
    if abstain_below is not None:
        predictions["answer"] = answers
    for rank in range(k):
        predictions[f"label_{rank + 1}"] = ranked[:, rank]
    for column, cls in enumerate(labels):
        predictions[proba_column(cls)] = decision.proba[:, column]
    predictions["error"] = [errors.get(i) for i in range(len(predictions))]
    predictions.to_csv(out / "predictions.csv", index=False, float_format="%.6f")

    top_k = metrics.top_k_predictions(y, ranked_kept, k)
    (out / "classification_report.txt").write_text(
        "Top-1 predictions\n\n"
        + classification_report(y, y_pred, labels=labels, digits=3, zero_division=0)
        + f"\nThe report's top-{k} rule: an image counts as its true class when that class is "
        f"among its {k} best, else as its best class\n\n"
        + classification_report(y, top_k, labels=labels, digits=3, zero_division=0),
        encoding="utf-8",
    )
    written = ["metrics.json", "predictions.csv", "classification_report.txt"]
    if groups:
        pd.DataFrame(groups).to_csv(out / "groups.csv", index=False)
        written.append("groups.csv")
    notes = []
    if has_matplotlib():
        answered = sum(answer != UNSURE for answer in y_pred)
        counted = f"{answered} of {len(y)} images answered" if unsure else f"{len(y)} images"
        plot_confusion_matrix(
            y,
            y_pred,
            labels,
            out / "confusion_matrix.png",
            f"Top-1 confusion, {counted} ({Path(str(args.model)).name})",
            columns=labels + unsure,
        )
        written.append("confusion_matrix.png")
        top = ranked_kept[:, 0].astype(str)  # the curves rank the answers made without abstention
        written += _write_curves(out, y, top, decision.proba[predicted], sure[predicted], labels)
    else:
        notes.append(
            "note: matplotlib is not installed, so confusion_matrix.png was skipped "
            f"({install_hint('report')})"
        )
    return [f"\nwrote {', '.join(written)} to {out}", *notes]


def _write_curves(out, y, y_pred, proba, sure, classes):
    """The reliability diagram and the risk-coverage curve, as PNG files; their names."""
    from ..plotting import plot_reliability_diagram, plot_risk_coverage

    plot_reliability_diagram(y, proba, classes=classes).savefig(out / "reliability_diagram.png", dpi=120)
    figure = plot_risk_coverage(y, y_pred, {"top probability": sure})
    figure.savefig(out / "risk_coverage.png", dpi=120)
    return ["reliability_diagram.png", "risk_coverage.png"]
