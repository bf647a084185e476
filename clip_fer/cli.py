"""The ``clip-fer`` command line: ``predict``, ``evaluate`` and ``experiment``."""

import argparse
import csv
import json
import sys
from pathlib import Path

from . import _cli_evaluate, _cli_experiment
from ._bank_io import BUILTIN_BANKS, load_prompt_bank
from ._images import IMAGE_SUFFIXES
from .exceptions import ClipFerError


def expand_paths(paths):
    """Files as given; folders walked recursively for image files, sorted."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return [str(p) for p in found]


def _parser():
    parser = argparse.ArgumentParser(
        prog="clip-fer", description="Zero-shot facial emotion recognition with CLIP."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict",
        help="Predict the emotions of images.",
        description="Print the top-k emotions of each image, one row per image.",
    )
    predict.add_argument("paths", nargs="+", help="Image files or folders (searched recursively).")
    predict.add_argument(
        "--model", default="ViT-B/32",
        help="OpenAI CLIP name (downloaded on first use) or local checkpoint path. Default: ViT-B/32.",
    )
    predict.add_argument(
        "--bank", default="default",
        help=f"Prompt bank: a built-in name ({', '.join(BUILTIN_BANKS)}) or a JSON file. Default: default.",
    )
    predict.add_argument("--top-k", type=int, default=3, help="Classes per image, best first. Default: 3.")
    predict.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="Output format on stdout. Default: table.",
    )
    predict.add_argument("--batch-size", type=int, default=32, help="Images per forward pass. Default: 32.")
    predict.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda[:N]'. Default: auto.")
    _cli_evaluate.add_parser(commands)
    _cli_experiment.add_parser(commands)
    return parser


def _records(paths, labels, proba, classes):
    for path, top, row in zip(paths, labels, proba):
        yield {
            "image": path,
            "labels": [str(label) for label in top],
            "probabilities": {str(c): round(float(p), 6) for c, p in zip(classes, row)},
        }


def _write(records, fmt, top_k, out):
    records = list(records)
    if fmt == "json":
        json.dump(records, out, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out)
        classes = list(records[0]["probabilities"]) if records else []
        writer.writerow(["image", *[f"label_{i + 1}" for i in range(top_k)], *classes])
        for r in records:
            writer.writerow([r["image"], *r["labels"], *r["probabilities"].values()])
        return
    width = max(len(r["image"]) for r in records)
    for r in records:
        best = r["labels"][0]
        rest = ", ".join(r["labels"][1:])
        out.write(f"{r['image']:<{width}}  {best:<10} {r['probabilities'][best]:.2f}  {rest}\n")


def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "predict":
        return args.run(args)
    if args.top_k < 1 or args.batch_size < 1:
        parser.error("--top-k and --batch-size must be at least 1")
    from ._classifier import ZeroShotEmotionClassifier  # torch import only when needed

    try:
        paths = expand_paths(args.paths)
        if not paths:
            raise ClipFerError(f"no image files found in {args.paths}")
        clf = ZeroShotEmotionClassifier(
            model=args.model, prompt_bank=load_prompt_bank(args.bank), device=args.device,
            batch_size=args.batch_size, verbose=len(paths) > args.batch_size,
        ).fit()
        decision = clf.decide(paths)
        top = clf.classes_[decision.ranking[:, : min(args.top_k, len(clf.classes_))]]
        _write(_records(paths, top, decision.proba, clf.classes_), args.format, top.shape[1], sys.stdout)
    except (ClipFerError, ValueError) as exc:
        print(f"clip-fer: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
