"""``clip-fer predict --engine ray``: score many images on a Ray cluster into Parquet shards."""

import concurrent.futures
import contextlib
import logging
import os
import re
import sys
import threading

from ._common import (
    error_message,
    handled_errors,
    positive_int,
    report_error,
    show_progress,
)

__all__ = [
    "add_cluster_options",
    "add_engine_option",
    "add_ray_options",
    "embed_on_ray",
    "predict_on_ray",
    "ray_session",
]


def add_ray_options(parser):
    """``--engine``, ``--output``, ``--address``, ``--actors``, ``--gpus-per-actor``."""
    group = parser.add_argument_group("scaling out (--engine ray; needs the ray extra)")
    add_engine_option(
        group,
        "local: this process, results on stdout. ray: a pool of actors on Ray Data "
        "(a local cluster, or --address), results as Parquet shards in --output; an "
        "interrupted run started again with the same --output skips what was written.",
    )
    group.add_argument(
        "--output",
        metavar="OUT.parquet",
        help="With --engine ray: the output folder of Parquet shards (one row per image: "
        "path, label, labels, one probability per class, error).",
    )
    add_cluster_options(group)
    group.add_argument(
        "--rows-per-shard",
        type=positive_int,
        default=1024,
        metavar="N",
        help="With --engine ray: rows per Parquet file. Default: 1024.",
    )


def add_engine_option(group, help):
    """``--engine local|ray``, with what each engine does for the command (``help``)."""
    group.add_argument("--engine", choices=("local", "ray"), default="local", help=f"{help} Default: local.")


def add_cluster_options(group):
    """``--address``, ``--actors``, ``--gpus-per-actor``: where ``--engine ray`` runs."""
    group.add_argument(
        "--address",
        metavar="ADDRESS",
        help="With --engine ray: an existing Ray cluster, e.g. 'auto' or "
        "'ray://head:10001'. Default: start a local one.",
    )
    group.add_argument(
        "--actors",
        type=positive_int,
        default=1,
        help="With --engine ray: model replicas (Ray actors). Default: 1.",
    )
    group.add_argument(
        "--gpus-per-actor",
        type=float,
        default=0.0,
        metavar="N",
        help="With --engine ray: GPUs reserved per actor (e.g. 1). Default: 0.",
    )


def _check_args(args, parser):
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.engine != "ray":
        parser.error("--output writes Parquet shards with --engine ray; add --engine ray")
    if not args.output:
        parser.error("--engine ray writes Parquet shards: give --output OUT.parquet")
    for flag in ("faces", "grayscale", "annotate"):
        if getattr(args, flag, None):
            parser.error(f"--{flag} is not available with --engine ray; use --engine local")


def _reason(exc):
    """The clip-fer error inside a Ray error, else the last line Ray reports."""
    from ..exceptions import ClipFerError

    seen, depth = exc, 0
    while seen is not None and depth < 10:
        if isinstance(seen, ClipFerError):
            return str(seen)
        seen, depth = getattr(seen, "cause", None) or seen.__cause__, depth + 1
    # Ray may carry the worker's exception only as text in its traceback.
    found = re.search(r"clip_fer\.exceptions\.\w+: (.+)", str(exc))
    if found:
        return found.group(1).strip()
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _connect(ray, address):
    """Start or join a cluster; True when this call started it (and must stop it).

    Ray's own log lines stay off the terminal on a clean run: the driver's "ray"
    loggers at ERROR (no token-authentication notice) and no worker output
    forwarded (``log_to_driver=False``; a worker's failure still comes back as an
    exception, reported as one ``clip-fer: error:`` line). The C++ core's own lines
    are left to ``RAY_BACKEND_LOG_LEVEL``, which prints a line of its own when set.
    """
    if ray.is_initialized():
        return False
    for name in ("ray", "ray.data", "ray._private"):
        logging.getLogger(name).setLevel(logging.ERROR)
    ray.init(
        address=address,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
        configure_logging=True,
    )
    return True


def _check_reachable(address):
    """Refuse an ``--address`` (or RAY_ADDRESS) whose head does not answer, in seconds."""
    from ..utils._ray import cluster_unreachable

    address = address or os.environ.get("RAY_ADDRESS")
    reason = cluster_unreachable(address)
    if reason:
        from ..exceptions import ClipFerError

        raise ClipFerError(
            f"the Ray cluster at {address!r} cannot be reached: {reason}. Start it "
            "(`ray start --head`), or leave out --address (and RAY_ADDRESS) to start "
            "a local cluster."
        )


@contextlib.contextmanager
def ray_session(address):
    """Join the cluster at ``address`` (or start a local one) for the ``with`` block;
    a cluster started here is stopped after it."""
    from ..utils._ray import import_ray

    ray = import_ray()
    _check_reachable(address)
    started = _connect(ray, address)
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def embed_on_ray(args, folder):
    """An ``embed`` for :func:`clip_fer.experiments.run_benchmark` that encodes on Ray.

    Each model's embeddings of a data set go to ``folder/<model>/<data set>.parquet``
    (:func:`clip_fer.distributed.embed_to_parquet`: an interrupted run resumes), and
    are read back in the data set's order. Call it inside :func:`ray_session`.
    """
    from pathlib import Path

    def embed(estimator, data, name):
        import numpy as np

        from ..distributed import embed_to_parquet, read_embeddings
        from ..exceptions import ClipFerError
        from ..utils._ray import import_ray

        paths = list(data.images)
        if not all(isinstance(p, str) for p in paths):
            raise ClipFerError(
                f"--engine ray reads image files, and the data set {name!r} holds its images in "
                "memory (a CSV, or faces cropped from larger images); score it with --engine local."
            )
        model = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(estimator.model)).name)
        output = Path(folder) / model / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.parquet"
        rows = import_ray().data.from_items([{"path": p} for p in dict.fromkeys(paths)])
        embed_to_parquet(
            rows,
            estimator,
            output,
            column="path",
            progress=show_progress(args),
            total=len(paths),
            concurrency=args.actors,
            num_gpus=args.gpus_per_actor or None,
        )
        keys, vectors = read_embeddings(output)
        row = {key: i for i, key in enumerate(keys)}
        return vectors[np.asarray([row[p] for p in paths], dtype=np.intp)]

    return embed


def _each_file_once(paths, written):
    """Each file once, spelled as the output already has it: ``a.jpg``, ``./a.jpg`` and
    ``/abs/a.jpg`` are one input, and a resumed run given another spelling of a scored
    file (absolute paths, a link) does not score it again."""
    spelled = {os.path.realpath(key): key for key in written if isinstance(key, str)}
    chosen = {}
    for path in paths:
        real = os.path.realpath(path)
        chosen.setdefault(real, spelled.get(real, path))
    return list(chosen.values())


def _in_background(function, *args):
    """``function(*args)`` started in a daemon thread; its result or exception as a Future.

    A daemon thread, unlike an executor's, does not hold the process at exit (after
    Ctrl-C, or when the cluster could not be reached).
    """
    future = concurrent.futures.Future()

    def run():
        try:
            future.set_result(function(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="clip-fer inputs", daemon=True).start()
    return future


def _files(args):
    """The input files (each once) and the keys the output holds. Imports pyarrow only."""
    from ..distributed import written_keys
    from ..exceptions import ClipFerError
    from .predict import expand_paths

    written = written_keys(args.output, "path")
    paths = _each_file_once(expand_paths(args.paths), written)
    if not paths:
        raise ClipFerError(f"no image files found in {args.paths}")
    return paths, written


def _inputs(args, files=None):
    """What the driver needs before scoring: the files (each once), the estimator, k and
    how many files are not written yet. Imports the estimator's libraries (torch)."""
    from ..distributed import classes_of
    from ._saved import command_classifier

    paths, written = _files(args) if files is None else files
    clf = command_classifier(args, fit=False, on_error=args.on_error)
    k = min(args.top_k, len(classes_of(clf)))
    todo = len(set(paths) - set(written))
    return paths, clf, k, todo


def predict_on_ray(args, parser):
    """Run ``clip-fer predict --engine ray`` for parsed ``args``; returns the exit code.

    The cluster starts (or is joined) while a thread lists the inputs, reads what
    the output holds and imports the estimator's libraries: the two took about
    2 s each on a 2-core machine, one after the other.
    """
    _check_args(args, parser)
    from ..utils._ray import import_ray  # neither torch nor scikit-learn

    try:
        ray = import_ray()  # before the thread starts importing: the two share no module then
        _check_reachable(args.address)  # before the thread: nothing to wait for
        files = _files(args)
        if set(files[0]) <= set(files[1]):  # every input has its row: no cluster to start
            return _nothing_left(args, files)
        inputs = _in_background(_inputs, args, files)
        started = _connect(ray, args.address)
        try:
            paths, clf, k, todo = inputs.result()
            from ..distributed import predict_to_parquet

            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # ours counts rows written
            logging.getLogger("ray.data").setLevel(logging.ERROR)
            dataset = ray.data.from_items([{"path": p} for p in paths])
            run = predict_to_parquet(
                dataset,
                clf,
                args.output,
                column="path",
                k=k,
                rows_per_shard=args.rows_per_shard,
                progress=todo > args.batch_size and show_progress(args),
                total=todo,
                concurrency=args.actors,
                num_gpus=args.gpus_per_actor or None,
                abstain_below=getattr(args, "abstain_below", None),
            )
        finally:
            if started:
                ray.shutdown()
    except KeyboardInterrupt:
        print(
            f"clip-fer: interrupted; the shards written to {args.output} are kept: run the "
            "same command again to score the rest.",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:
        if isinstance(exc, handled_errors()):
            return report_error(exc)
        if type(exc).__module__.split(".")[0] != "ray":  # else a Ray error wrapping a worker's
            raise
        return report_error(
            _reason(exc), f" (shards written so far are kept in {args.output}; run again to resume)"
        )
    return _summary(args, run, len(paths))


def _nothing_left(args, files):
    """A resumed run whose every input is written: check the output's settings (as a
    run would) and say so, in seconds, without Ray."""
    from ..distributed import ParquetRun, check_resumable

    paths, clf, k, _ = _inputs(args, files)
    already = check_resumable(
        args.output, clf, column="path", k=k, abstain_below=getattr(args, "abstain_below", None)
    )
    return _summary(args, ParquetRun(args.output, 0, len(already)), len(paths))


def _summary(args, run, n_inputs):
    """The summary line, and one line per image that could not be read; the exit code."""
    print(
        f"{run.written} images scored into {run.output} ({run.already} already there; "
        f"{n_inputs} inputs); {len(run.errors)} could not be read."
    )
    # As the local engine: skipping was asked for (--on-error skip), so skipped images
    # are notes and the exit code is 0; each names its file once.
    skipped = args.on_error == "skip"
    for path, reason in run.errors:
        reason = error_message(reason) if str(path) in str(reason) else f"{path}: {error_message(reason)}"
        what = "note: skipped (--on-error skip):" if skipped else "error:"
        print(f"clip-fer: {what} {reason}", file=sys.stderr)
    return 0 if skipped or not run.errors else 1
