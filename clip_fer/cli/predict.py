"""``clip-fer predict``: the top-k emotions of images, or of every face in them."""

import csv
import glob
import json
import sys
import warnings
from pathlib import Path

from ._common import add_model_options, bank_help, build_estimator

# Nothing heavy at import time: ``clip-fer --help`` builds every parser.

_GLOB_CHARACTERS = frozenset("*?[")
_FACES_PROGRESS = 8  # with --faces, a progress bar for more images than this


def _is_image_file(path):
    from ..backends._images import IMAGE_SUFFIXES

    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def expand_paths(paths):
    """Files as given; folders walked recursively for image files, sorted; globs
    (``*``, ``?``, ``[...]``, ``**``) that name no existing file expanded, sorted."""
    from ..backends._images import IMAGE_SUFFIXES

    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        elif not path.exists() and _GLOB_CHARACTERS & set(raw):
            matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
            found.extend(p for p in matches if _is_image_file(p))
        else:
            found.append(path)
    return [str(p) for p in found]


def add_parser(commands):
    """Register ``predict`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "predict",
        help="Predict the emotions of images.",
        description="Print the top-k emotions of each image (or, with --faces, of each face).",
    )
    parser.add_argument(
        "paths", nargs="+",
        help="Image files, folders (searched recursively) or quoted globs such as 'photos/*.jpg'.",
    )
    add_model_options(parser)
    parser.add_argument("--bank", default="default", help=f"Prompt bank: {bank_help()}. Default: default.")
    parser.add_argument("--top-k", type=int, default=3, help="Classes per image, best first. Default: 3.")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="Output format on stdout. Default: table.",
    )
    parser.add_argument(
        "--faces", action="store_true",
        help="Find every face (BlazeFace; needs the faces extra) and print one row per face "
        "with its box [x0, y0, x1, y1] in pixels.",
    )
    parser.add_argument(
        "--grayscale", action="store_true",
        help="With --faces, classify face crops in grayscale, like FER2013 "
        "(for models trained only on gray faces).",
    )
    parser.add_argument(
        "--annotate", metavar="DIR",
        help="Also write each image with its boxes, labels and probabilities to DIR as PNG.",
    )
    parser.add_argument(
        "--on-error", choices=("raise", "skip"), default="raise",
        help="An unreadable image: 'raise' stops with its name (exit 1); 'skip' prints every "
        "other image and a 'failed' row for it (exit 1). With --faces, failures are always "
        "per-image rows. Default: raise.",
    )
    parser.set_defaults(run=lambda args: predict(args, parser))


def _write(records, fmt, top_k, classes, out, faces):
    """Records as a table, CSV or JSON; ``faces`` adds the face columns."""
    if fmt == "json":
        shown = [r.to_dict(faces=faces, ndigits=6) for r in records]
        json.dump([{k: v for k, v in r.items() if k != "image_index"} for r in shown], out, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out)
        head = ["image", "face", "x0", "y0", "x1", "y1", "score", "status"] if faces else ["image"]
        writer.writerow([*head, *[f"label_{i + 1}" for i in range(top_k)], *classes])
        for r in records:
            labels = r.labels + [""] * (top_k - len(r.labels))
            probabilities = [round(r.probabilities[c], 6) if c in r.probabilities else "" for c in classes]
            fields = [r.image]
            if faces:
                box = r.box or [""] * 4
                fields += [_blank(r.face), *box, _blank(r.score), r.status]
            writer.writerow([*fields, *labels, *probabilities])
        return
    width = max(len(r.image) for r in records)
    for r in records:
        where = ""
        if faces:
            box = "" if r.box is None else "[" + ", ".join(map(str, r.box)) + "]"
            where = f"{_blank(r.face):>4}  {box:<22}  "
        if r.caption is None:
            reason = f": {r.error}" if r.error else ""
            out.write(f"{r.image:<{width}}  {where}{r.status}{reason}\n")
            continue
        best, probability = r.caption
        rest = ", ".join(r.labels[1:])
        out.write(f"{r.image:<{width}}  {where}{best:<10} {probability:.2f}  {rest}\n")


def _blank(value):
    return "" if value is None else value


def predict(args, parser):
    """Run the command for parsed ``args``; returns the exit code.

    With ``--faces`` an image that cannot be read is reported in its own row and
    on stderr, the other images are still processed, and the exit code is 1.
    """
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.grayscale and not args.faces:
        parser.error("--grayscale applies to face crops; add --faces")
    from .._bank_io import load_prompt_bank
    from .._records import as_records, image_records
    from ..exceptions import ClipFerError, SkippedImagesWarning
    from ..faces._cropping import FaceCropper, predict_faces
    from ..faces._drawing import save_annotated

    try:
        paths = expand_paths(args.paths)
        if not paths:
            raise ClipFerError(f"no image files found in {args.paths}")
        clf = build_estimator(
            args, prompt_bank=load_prompt_bank(args.bank),
            n_images=0 if args.faces else len(paths),
        ).set_params(on_error=args.on_error).fit()
        top_k = min(args.top_k, len(clf.classes_))
        if args.faces:
            rows = predict_faces(
                clf, paths, cropper=FaceCropper(grayscale=args.grayscale), top_k=top_k,
                as_frame=False, verbose=len(paths) > _FACES_PROGRESS,
            )
            records = as_records(rows)
        else:
            with warnings.catch_warnings():  # skipped images are in decision.errors,
                warnings.simplefilter("ignore", SkippedImagesWarning)  # printed below
                decision = clf.decide(paths)
            records = image_records(paths, decision, clf.classes_, top_k)
        _write(records, args.format, top_k, [str(c) for c in clf.classes_], sys.stdout, args.faces)
        if args.annotate:
            save_annotated(paths, records, args.annotate)
    except (ClipFerError, ValueError, OSError) as exc:
        print(f"clip-fer: error: {exc}", file=sys.stderr)
        return 1
    failed = [r for r in records if r.status == "failed"]
    for r in failed:
        print(f"clip-fer: error: {r.error}", file=sys.stderr)
    return 1 if failed else 0

