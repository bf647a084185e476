"""``clip-fer predict``: the top-k emotions of images, or of every face in them."""

import csv
import glob
import json
import sys
import warnings
from pathlib import Path

from .._bank_io import load_prompt_bank
from ..backends._images import IMAGE_SUFFIXES
from ..exceptions import ClipFerError, SkippedImagesWarning
from ._common import add_model_options, bank_help, build_estimator, error_message, show_progress

_GLOB_CHARACTERS = frozenset("*?[")
_FACES_PROGRESS = 8  # with --faces, a progress bar for more images than this


def _is_image_file(path):
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def expand_paths(paths):
    """Files as given; folders walked recursively for image files, sorted; globs
    (``*``, ``?``, ``[...]``, ``**``) that name no existing file expanded, sorted."""
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


def _image_records(paths, labels, proba, classes, errors):
    for index, (path, top, row) in enumerate(zip(paths, labels, proba)):
        if index in errors:
            yield {"image_index": index, "image": path, "labels": [], "probabilities": {},
                   "status": "failed", "error": f"{path}: {errors[index]}"}
            continue
        yield {
            "image_index": index,
            "image": path,
            "labels": [str(label) for label in top],
            "probabilities": {str(c): round(float(p), 6) for c, p in zip(classes, row)},
        }


def _face_records(rows):
    """predict_faces' rows in the CLI's shape: the path first, no image index."""
    for row in rows:
        yield {
            "image_index": row["image_index"], "image": row["image"], "face": row["face"],
            "box": row["box"], "score": row["score"], "labels": row["labels"],
            "probabilities": {c: round(p, 6) for c, p in row["probabilities"].items()},
            "status": row["status"], "error": row["error"],
        }


def _write(records, fmt, top_k, classes, out):
    faces = any("box" in r for r in records)
    if fmt == "json":
        shown = [{k: v for k, v in r.items() if k != "image_index"} for r in records]
        json.dump(shown, out, indent=2)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out)
        head = ["image", "face", "x0", "y0", "x1", "y1", "score", "status"] if faces else ["image"]
        writer.writerow([*head, *[f"label_{i + 1}" for i in range(top_k)], *classes])
        for r in records:
            labels = r["labels"] + [""] * (top_k - len(r["labels"]))
            probabilities = [r["probabilities"].get(c, "") for c in classes]
            fields = [r["image"]]
            if faces:
                box = r["box"] or [""] * 4
                fields += [_blank(r["face"]), *box, _blank(r["score"]), r["status"]]
            writer.writerow([*fields, *labels, *probabilities])
        return
    width = max(len("image"), *(len(r["image"]) for r in records))
    where = f"{'face':>4}  {'box':<22}  " if faces else ""
    out.write(f"{'image':<{width}}  {where}{'label':<10} {'prob':<4}  next labels\n")
    for r in records:
        where = ""
        if faces:
            box = "" if r["box"] is None else "[" + ", ".join(map(str, r["box"])) + "]"
            where = f"{_blank(r['face']):>4}  {box:<22}  "
        if not r["labels"]:
            out.write(f"{r['image']:<{width}}  {where}{r['status']}{_reason(r)}\n")
            continue
        best = r["labels"][0]
        rest = ", ".join(r["labels"][1:])
        out.write(f"{r['image']:<{width}}  {where}{best:<10} {r['probabilities'][best]:.2f}  {rest}\n")


def _blank(value):
    return "" if value is None else value


def _reason(record):
    return f": {record['error']}" if record.get("error") else ""


def predict(args, parser):
    """Run the command for parsed ``args``; returns the exit code.

    With ``--faces`` an image that cannot be read is reported in its own row and
    on stderr, the other images are still processed, and the exit code is 1.
    """
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.grayscale and not args.faces:
        parser.error("--grayscale applies to face crops; add --faces")
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
                as_frame=False, verbose=len(paths) > _FACES_PROGRESS and show_progress(args),
            )
            records = list(_face_records(rows))
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SkippedImagesWarning)
                decision = clf.decide(paths)
            errors = dict(e for w in caught if isinstance(w.message, SkippedImagesWarning) for e in w.message.errors)
            top = clf._labels(decision.ranking[:, :top_k])
            records = list(_image_records(paths, top, decision.proba, clf.classes_, errors))
        _write(records, args.format, top_k, [str(c) for c in clf.classes_], sys.stdout)
        if args.annotate:
            save_annotated(paths, records, args.annotate)
    except (ClipFerError, ValueError, OSError) as exc:
        print(f"clip-fer: error: {error_message(exc)}", file=sys.stderr)
        return 1
    failed = [r for r in records if r.get("status") == "failed"]
    for r in failed:
        print(f"clip-fer: error: {r['error']}", file=sys.stderr)
    return 1 if failed else 0

