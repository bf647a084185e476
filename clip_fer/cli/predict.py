"""``clip-fer predict``: the top-k emotions of images, or of every face in them."""

import glob
import sys
from pathlib import Path

from ._abstain import add_abstain_option
from ._common import (
    add_model_options,
    bank_help,
    report_error,
    run_safely,
    show_progress,
)
from ._ray_engine import add_ray_options
from ._saved import add_classifier_option, command_classifier

# Nothing heavy at import time: ``clip-fer --help`` builds every parser.

_GLOB_CHARACTERS = frozenset("*?[")
_FACES_PROGRESS = 8  # with --faces, a progress bar for more images than this
_CHUNK_BATCHES = 4  # without --faces, rows are written every this many batches


def _is_image_file(path):
    from ..backends._images import IMAGE_SUFFIXES

    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def expand_paths(paths, skipped=None):
    """Files as given; folders walked recursively for image files, sorted; globs
    (``*``, ``?``, ``[...]``, ``**``) that name no existing file expanded, sorted.

    Folders and globs yield files only (a folder named ``x.jpg`` is not an image);
    the other files they hold (say ``.heic`` or ``.txt``; hidden ones aside) are
    appended to the list ``skipped`` when one is given, so the caller can say so."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            matches = sorted(path.rglob("*"))
        elif not path.exists() and _GLOB_CHARACTERS & set(raw):
            matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
        else:
            found.append(path)
            continue
        found.extend(p for p in matches if _is_image_file(p))
        if skipped is not None:
            skipped.extend(
                p for p in matches if not _is_image_file(p) and p.is_file() and not p.name.startswith(".")
            )
    return [str(p) for p in found]


def _skipped_note(skipped):
    """One stderr line naming the suffixes of files a folder or glob held but that were not read."""
    from collections import Counter

    from ..backends._images import IMAGE_SUFFIXES

    counts = Counter(p.suffix.lower() or "(no suffix)" for p in skipped)
    listed = ", ".join(f"{suffix}: {n}" for suffix, n in sorted(counts.items()))
    what = (
        "1 file that is not an image by its"
        if len(skipped) == 1
        else f"{len(skipped)} files that are not images by their"
    )
    return (
        f"clip-fer: note: skipped {what} suffix ({listed}); images are {', '.join(sorted(IMAGE_SUFFIXES))}. "
        "Convert the others (e.g. HEIC) to one of these, or name a file directly to try it."
    )


def add_parser(commands):
    """Register ``predict`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "predict",
        help="Predict the emotions of images.",
        description="Print the top-k emotions of each image (or, with --faces, of each face).",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        help="Image files, folders (searched recursively) or quoted globs such as 'photos/*.jpg'.",
    )
    add_model_options(parser)
    parser.add_argument("--bank", default="default", help=f"Prompt bank: {bank_help()}. Default: default.")
    parser.add_argument("--top-k", type=int, default=3, help="Classes per image, best first. Default: 3.")
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="Output format on stdout. Default: table.",
    )
    parser.add_argument(
        "--faces",
        action="store_true",
        help="Find every face (BlazeFace; needs the faces extra) and print one row per face "
        "with its box [x0, y0, x1, y1] in pixels.",
    )
    parser.add_argument(
        "--grayscale",
        action="store_true",
        help="With --faces, classify face crops in grayscale, like FER2013 "
        "(for models trained only on gray faces).",
    )
    parser.add_argument(
        "--annotate",
        metavar="DIR",
        help="Also write each image with its boxes, labels and probabilities to DIR as PNG.",
    )
    parser.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="An unreadable image: 'raise' stops with its name (exit 1); 'skip' prints every "
        "other image, a 'failed' row for it and a note on stderr, and exits 0 (you asked to "
        "skip). With --faces, an unreadable image is always a 'failed' row; the exit code is "
        "then 1 with 'raise' and 0 with 'skip'. Default: raise.",
    )
    add_abstain_option(parser, "an image (with --faces, a face)")
    add_classifier_option(parser)
    add_ray_options(parser)
    parser.set_defaults(run=lambda args: predict(args, parser))


class _Writer:
    """Writes records as they are made, flushing after each chunk, so an
    interrupted run keeps what it did (a JSON list is closed on the way out).

    A context manager: leaving the ``with`` block closes the output (a JSON list
    gets its ``]``). The CSV has the one column scheme of every flat output
    (``clip_fer._records.flat_columns``, without ``image_index``): ``image``,
    with ``--faces`` ``face, x0, y0, x1, y1, score``, then ``label_1`` ...,
    ``proba_<class>`` ..., ``status``, ``error``; a class name cannot collide
    with a fixed column.
    """

    def __init__(self, fmt, top_k, classes, out, width, faces):
        from .._records import flat_columns

        self.fmt, self.top_k, self.classes, self.out = fmt, top_k, classes, out
        self.width, self.faces, self.count = width, faces, 0
        self.kind = "face" if faces else "image"
        self.closed = False
        if fmt == "json":
            out.write("[")
        elif fmt == "csv":
            import csv

            self.csv = csv.writer(out)
            self.columns = flat_columns(classes, top_k, self.kind)[1:]  # no image_index
            self.csv.writerow(self.columns)
        else:
            self.width = max(len("image"), width)
            where = f"{'face':>4}  {'box':<22}  " if faces else ""
            out.write(f"{'image':<{self.width}}  {where}{'label':<10} {'prob':<4}  next labels\n")
        out.flush()

    def write(self, records):
        for r in records:
            getattr(self, f"_{self.fmt}")(r)
            self.count += 1
        self.out.flush()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if kind is not BrokenPipeError:  # a closed stdout takes no closing bracket
            self.close()
        return False

    def _json(self, r):
        import textwrap

        from ..utils._json import strict_json

        shown = {k: v for k, v in r.to_dict(faces=self.faces, ndigits=6).items() if k != "image_index"}
        text = textwrap.indent(strict_json(shown, indent=2), "  ")
        self.out.write(("," if self.count else "") + "\n" + text)

    def _csv(self, r):
        row = r.to_flat(self.classes, self.top_k, self.kind)
        self.csv.writerow([_cell(row[column]) for column in self.columns])

    def _table(self, r):
        where = ""
        if self.faces:
            box = "" if r.box is None else "[" + ", ".join(map(str, r.box)) + "]"
            where = f"{_blank(r.face):>4}  {box:<22}  "
        if r.caption is None:
            reason = f": {failure_reason(r)}" if r.error else ""
            self.out.write(f"{r.image:<{self.width}}  {where}{r.status}{reason}\n")
            return
        best, probability = r.caption
        rest = ", ".join(r.labels[1:])
        self.out.write(f"{r.image:<{self.width}}  {where}{best:<10} {probability:.2f}  {rest}\n")


def _blank(value):
    return "" if value is None else value


def _cell(value):
    """A CSV cell: empty for a missing value, probabilities to 6 digits."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return round(value, 6) if isinstance(value, float) else value


def failure_reason(record):
    """Why ``record``'s image failed, naming its file once: the record's error without
    the "Image at index N:" and "<path>:" prefixes, the path put back in front only when
    the reason does not name it."""
    import re

    reason = re.sub(r"^Image at index \d+: ", "", record.error or record.status)
    image = str(record.image) if record.image is not None else ""
    if image and reason.startswith(f"{image}: "):
        reason = reason[len(image) + 2 :]
    if image and image not in reason:
        reason = f"{image}: {reason}"
    return reason


def _chunk_records(clf, front, paths, start, args, top_k):
    """The records of ``paths``, which are images ``start, start + 1, ...`` of the run, by
    ``clf`` (through ``front``, its :func:`~clip_fer._front.classifier_front`, for whole images)."""
    from .._records import as_records, image_records
    from ..exceptions import ImageInputError

    if args.faces:
        from ..faces._cropping import FaceCropper, predict_faces  # torchvision: only with --faces

        rows = predict_faces(
            clf,
            paths,
            cropper=FaceCropper(grayscale=args.grayscale),
            top_k=top_k,
            as_frame=False,
            abstain_below=args.abstain_below,
        )
        records = as_records(rows)
    else:
        try:
            decision = front.decide(paths)  # skipped images in decision.errors, printed at the end
        except ImageInputError as exc:
            raise ImageInputError(exc.index + start, exc.reason) from None
        labels = front.labels_of(decision.ranking[:, :top_k])
        records = image_records(
            paths, decision, clf.classes_, top_k, labels=labels, abstain_below=front.abstain_below
        )
    for record in records:
        if record.error:
            record.error = record.error.replace(
                f"Image at index {record.image_index}:", f"Image at index {record.image_index + start}:", 1
            )
        record.image_index += start
    return records


def predict(args, parser):
    """Run the command for parsed ``args``; returns the exit code.

    Rows are written as each chunk of images is done. Exit codes: 0 when every image
    was scored, or when ``--on-error skip`` skipped unreadable ones as asked (a note on
    stderr names each); 1 when an image could not be read otherwise (``--on-error
    raise``: the run stops at it; with ``--faces`` its row says ``failed`` and the
    other images go on) or the run failed (one ``clip-fer: error:`` line); 130 on
    Ctrl-C, after the rows already written.
    """
    if args.engine != "local" or args.output:
        from ._ray_engine import predict_on_ray

        return predict_on_ray(args, parser)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.grayscale and not args.faces:
        parser.error("--grayscale applies to face crops; add --faces")
    run = _LocalRun()
    try:
        return run_safely(run, args)
    except KeyboardInterrupt:
        run.close()
        done = len({r.image_index for r in run.records})
        print(
            f"clip-fer: interrupted; the rows of {done} of {len(run.paths)} images were written.",
            file=sys.stderr,
        )
        return 130


class _LocalRun:
    """``clip-fer predict`` in this process; keeps what was done for an interruption."""

    def __init__(self):
        self.records, self.paths, self.writer = [], [], None

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __call__(self, args):
        from tqdm.auto import tqdm

        from .._front import classifier_front
        from ..exceptions import ClipFerError

        skipped = []
        self.paths = paths = expand_paths(args.paths, skipped)
        if skipped:
            print(_skipped_note(skipped), file=sys.stderr)
        if not paths:
            raise ClipFerError(f"no image files found in {args.paths}")
        clf = command_classifier(args, on_error=args.on_error)
        front = classifier_front(clf, abstain_below=args.abstain_below, owner="clip-fer predict")
        top_k = min(args.top_k, len(clf.classes_))
        self.writer = _Writer(
            args.format,
            top_k,
            [str(c) for c in clf.classes_],
            sys.stdout,
            max(len(p) for p in paths),
            args.faces,
        )
        chunk = args.batch_size * (1 if args.faces else _CHUNK_BATCHES)
        show = len(paths) > (_FACES_PROGRESS if args.faces else args.batch_size) and show_progress(args)
        try:
            with tqdm(
                total=len(paths), unit="img", desc="Encoding images", disable=not show, file=sys.stderr
            ) as progress:
                for start in range(0, len(paths), chunk):
                    done = _chunk_records(clf, front, paths[start : start + chunk], start, args, top_k)
                    self.writer.write(done)
                    self.records.extend(done)
                    progress.update(len(paths[start : start + chunk]))
        except (ClipFerError, ValueError, OSError):
            self.close()  # a JSON list stays valid
            raise
        self.close()
        if args.annotate:
            from ..faces._drawing import save_annotated  # imports the faces extra's detector

            save_annotated(paths, self.records, args.annotate)
        return _report_failures(self.records, args.on_error)


def _report_failures(records, on_error):
    """One stderr line per image that could not be read; the exit code."""
    failed = [r for r in records if r.status == "failed"]
    if on_error == "skip":
        for r in failed:
            print(f"clip-fer: note: skipped (--on-error skip): {failure_reason(r)}", file=sys.stderr)
        return 0
    for r in failed:
        report_error(failure_reason(r))
    return 1 if failed else 0
