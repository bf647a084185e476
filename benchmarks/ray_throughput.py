"""Images/s through Ray Data (1 and 2 actors) beside a local ``predict``, on the same images.

    python benchmarks/ray_throughput.py                 # 2000 FER2013 images, tiny-fer-clip
    python benchmarks/ray_throughput.py --n 4000 --repeat 3

Every row comes from this one run, on one local Ray cluster holding every core
(``ray.init(num_cpus=os.cpu_count())``), alternating local and Ray runs
``--repeat`` times and keeping each one's best. Local ``predict`` uses every
core through torch's threads; Ray gets the same cores as 1 actor x all CPUs, or
as N actors x (CPUs / N). Two figures per Ray row:

- end to end: from submitting the dataset to the last row, actor start (a new
  process importing torch) and model load included: what a short job pays;
- steady: rows after the first batch over the time after it: what a long job
  converges to.

The overhead is local images/s over Ray images/s, minus 1. The model is the small
FER2013 checkpoint from ``../shared/models``; images are FER2013 public_test JPEGs.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FER2013 = ROOT.parent / "shared" / "data" / "fer2013"
TINY = ROOT.parent / "shared" / "models" / "tiny-fer-clip.pt"


def face_paths(n):
    paths = sorted(str(p) for p in (FER2013 / "public_test").glob("*/*.jpg"))
    paths += sorted(str(p) for p in (FER2013 / "train").glob("*/*.jpg"))[: max(0, n - len(paths))]
    if len(paths) < n:
        sys.exit(f"need {n} images under {FER2013}; found {len(paths)}")
    return paths[:n]


def time_local(clf, paths):
    start = time.perf_counter()
    proba = clf.predict_proba(paths)
    return time.perf_counter() - start, proba


def time_ray(ray, predict_dataset, clf, paths, actors, cpus, batch_size):
    """(end-to-end seconds, steady images/s, {path: proba row})."""
    dataset = ray.data.from_items([{"path": p} for p in paths])
    results = predict_dataset(
        dataset, clf, batch_size=batch_size, concurrency=actors, num_cpus=cpus
    )
    classes = [str(c) for c in clf.classes_]
    rows, first, seen = {}, None, 0
    start = time.perf_counter()
    for table in results.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
        now = time.perf_counter()
        if first is None:
            first, first_rows = now, table.num_rows
        columns = np.column_stack([table.column(c).to_numpy() for c in classes])
        rows.update(zip(table.column("path").to_pylist(), columns))
        seen += table.num_rows
    end = time.perf_counter()
    steady = (seen - first_rows) / (end - first) if end > first else float("nan")
    return end - start, steady, rows


def time_parquet(ray, predict_to_parquet, clf, paths, batch_size):
    out = Path(tempfile.mkdtemp()) / "predictions.parquet"
    dataset = ray.data.from_items([{"path": p} for p in paths])
    start = time.perf_counter()
    run = predict_to_parquet(
        dataset, clf, out, batch_size=batch_size, concurrency=1, num_cpus=os.cpu_count()
    )
    seconds = time.perf_counter() - start
    assert run.written == len(paths), run
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (FER2013 public_test, then train)")
    parser.add_argument("--model", default=str(TINY), help="checkpoint (default: tiny-fer-clip)")
    parser.add_argument("--batch-size", type=int, default=256, help="rows per actor call; images per forward pass is 64")
    parser.add_argument("--repeat", type=int, default=2, help="alternating rounds; best of each kept")
    args = parser.parse_args()

    import ray
    import torch

    import clip_fer
    from clip_fer import ZeroShotEmotionClassifier
    from clip_fer.distributed import predict_dataset, predict_to_parquet

    cores = os.cpu_count()
    paths = face_paths(args.n)
    clf = ZeroShotEmotionClassifier(args.model, batch_size=64, cache=False).fit()
    clf.predict(paths[:64])  # load the model outside the timing

    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR", runtime_env={"env_vars": env})
    ray.data.DataContext.get_current().enable_progress_bars = False

    configs = [(1, cores), (2, cores / 2)]
    local, e2e, steady, diffs = [], {c: [] for c in configs}, {c: [] for c in configs}, []
    for _ in range(args.repeat):
        seconds, proba = time_local(clf, paths)
        local.append(seconds)
        for actors, cpus in configs:
            total, rate, rows = time_ray(ray, predict_dataset, clf, paths, actors, cpus, args.batch_size)
            e2e[(actors, cpus)].append(total)
            steady[(actors, cpus)].append(rate)
            diffs.append(max(np.abs(rows[p] - row).max() for p, row in zip(paths, proba)))
    parquet = min(time_parquet(ray, predict_to_parquet, clf, paths, args.batch_size) for _ in range(args.repeat))
    ray.shutdown()

    local_ips = len(paths) / min(local)
    print(
        f"clip-fer {clip_fer.__version__}, ray {ray.__version__}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {cores} cores; {Path(args.model).name}; "
        f"{len(paths)} FER2013 images; best of {args.repeat}; max |proba - local| {max(diffs):.1e}"
    )
    print("| run | images/s end to end | overhead vs local | images/s steady | overhead vs local |")
    print("|---|---:|---:|---:|---:|")
    print(f"| local predict ({torch.get_num_threads()} torch threads) | {local_ips:.0f} | | | |")
    for actors, cpus in configs:
        ips = len(paths) / min(e2e[(actors, cpus)])
        rate = max(steady[(actors, cpus)])
        print(
            f"| Ray Data, {actors} actor{'s' if actors > 1 else ''} x {cpus:g} CPU | {ips:.0f} | "
            f"{local_ips / ips - 1:+.0%} | {rate:.0f} | {local_ips / rate - 1:+.0%} |"
        )
    ips = len(paths) / parquet
    print(f"| predict_to_parquet, 1 actor x {cores} CPU | {ips:.0f} | {local_ips / ips - 1:+.0%} | | |")


if __name__ == "__main__":
    main()
