"""``clip-fer video``: tracked, smoothed emotions of every face of a video or a live source."""

import sys
import time
from pathlib import Path

from ._abstain import add_abstain_option
from ._common import (
    add_model_options,
    bank_help,
    handled_errors,
    positive_int,
    report_error,
)
from ._saved import add_classifier_option, command_classifier


def _positive_float(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def add_parser(commands):
    """Register ``video`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "video",
        help="Track faces in a video or live source and their emotions over time.",
        description="Write DIR/faces.csv (one row per face per processed frame, written as it "
        "comes), DIR/tracks.csv (one row per track) and a plot per track; --annotate adds "
        "DIR/annotated.mp4. Ctrl-C stops a live source and keeps everything so far.",
    )
    parser.add_argument(
        "input",
        help="A video file (mp4, webm, avi, mov, ...), a camera number (0), or a stream URL.",
    )
    add_model_options(parser)
    parser.add_argument("--bank", default="default", help=f"Prompt bank: {bank_help()}. Default: default.")
    parser.add_argument("--out", required=True, metavar="DIR", help="Folder for the outputs (created).")
    parser.add_argument(
        "--annotate",
        action="store_true",
        help="Also write DIR/annotated.mp4: boxes, track ids, smoothed labels.",
    )
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--every", type=positive_int, metavar="N", help="Process every N-th frame.")
    sampling.add_argument(
        "--fps", type=_positive_float, metavar="F", help="Process at most F frames per second."
    )
    parser.add_argument(
        "--detect-every",
        type=positive_int,
        default=2,
        metavar="K",
        help="Detect faces in every K-th processed frame; tracks carry them in between. Default: 2.",
    )
    parser.add_argument(
        "--rescan",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="Seconds between detections over the whole frame; in between only "
        "around known faces (new faces wait for the next). Default: 1.0.",
    )
    parser.add_argument(
        "--smoothing",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="Time constant of the moving average of each track's emotions; 0 turns it off. Default: 0.5.",
    )
    parser.add_argument(
        "--grayscale", action="store_true", help="Grayscale face crops, for models trained on FER2013."
    )
    parser.add_argument(
        "--format",
        dest="input_format",
        default=None,
        help="FFmpeg input format (v4l2, avfoundation, dshow, x11grab, ...).",
    )
    parser.add_argument("--quiet", action="store_true", help="No line per second on stdout.")
    add_abstain_option(parser, "a face")
    add_classifier_option(parser)
    parser.set_defaults(run=video)


def _source(text):
    if text.isdigit() and not Path(text).exists():
        return int(text)  # a camera number
    return text


def _status(frame, faces):
    shown = ", ".join(
        f"#{f.track} {f.caption[0]} {f.caption[1]:.2f}" if f.caption else f"#{f.track} {f.status}"
        for f in faces
    )
    return f"{frame.time:8.1f} s  frame {frame.index:>6}  {len(faces)} face(s)  {shown}"


def _check_paths(args, source):
    """The input file and --out folder, checked before anything heavy is imported or
    loaded (a typo costs no model load)."""
    from ..exceptions import ClipFerError

    if (
        isinstance(source, str)
        and "://" not in source
        and not source.startswith("/dev/")
        and args.input_format is None
        and not Path(source).exists()
    ):
        raise ClipFerError(
            f"The video {source!r} does not exist. Pass the path of a video file, a camera "
            "number, or a stream URL."
        )
    if isinstance(source, str) and Path(source).is_dir():
        raise ClipFerError(f"The video {source!r} is a folder; pass a video file.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ClipFerError(f"--out {str(out)!r} is a file; pass a folder (it is created).")


def video(args):
    """Run the command for parsed ``args``; returns the exit code (0 done or stopped by
    Ctrl-C, 1 failed: one ``clip-fer: error:`` line)."""
    source = _source(args.input)
    try:
        _check_paths(args, source)
    except handled_errors() as exc:
        return report_error(exc)

    from ..video._outputs import (
        AnnotatedVideoWriter,
        FaceRowWriter,
        TrackSummary,
        plot_tracks,
    )
    from ..video._predict import iter_video_faces

    out = Path(args.out)
    try:
        clf = command_classifier(args)
        classes = [str(c) for c in clf.classes_]
        frames = iter_video_faces(
            clf,
            source,
            every=args.every,
            fps=args.fps,
            detect_every=args.detect_every,
            rescan=args.rescan,
            smoothing=args.smoothing,
            grayscale=args.grayscale,
            format=args.input_format,
            abstain_below=args.abstain_below,
        )
        out.mkdir(parents=True, exist_ok=True)
        rows, summary = FaceRowWriter(out / "faces.csv", classes), TrackSummary(classes)
        annotated = AnnotatedVideoWriter(out / "annotated.mp4") if args.annotate else None
    except handled_errors() as exc:
        return report_error(exc)
    stopped, failure, processed, last_print = False, None, 0, time.monotonic()
    try:
        for frame, faces in frames:
            rows.write(frame, faces)
            summary.add(frame, faces)
            if annotated is not None:
                annotated.write(frame, faces)
            processed += 1
            if not args.quiet and time.monotonic() - last_print >= 1:
                print(_status(frame, faces), flush=True)
                last_print = time.monotonic()
    except KeyboardInterrupt:
        stopped = True
    except handled_errors() as exc:
        failure = exc
    finally:
        frames.close()
        rows.close()
        summary.write(out / "tracks.csv")
        if annotated is not None:
            annotated.close()
    if failure is not None and not processed:
        return report_error(failure, " (no frame was read)")
    written = [out / "faces.csv", out / "tracks.csv"] + ([out / "annotated.mp4"] if annotated else [])
    try:
        written += plot_tracks(out / "faces.csv", out, classes)
    except ImportError:
        print(
            "clip-fer: note: no plots per track (matplotlib and pandas, the report extra, "
            "are not installed).",
            file=sys.stderr,
        )
    note = " (stopped by Ctrl-C)" if stopped else ""
    print(
        f"{processed} frames, {len(summary.tracks)} track(s){note}; wrote "
        + ", ".join(str(p) for p in written[:4])
        + (" ..." if len(written) > 4 else "")
    )
    if failure is not None:
        return report_error(failure, f" (the rows of the {processed} frames so far are kept)")
    return 0
