"""Images/s through Ray Data (1 and 2 actors) beside a local ``predict``, on the same images.

    python benchmarks/ray_throughput.py                 # 2000 FER2013 images, tiny-fer-clip
    python benchmarks/ray_throughput.py --n 4000 --repeat 3

Every row comes from this one run, on one local Ray cluster holding every core
(``ray.init(num_cpus=os.cpu_count())``), alternating local and Ray runs
``--repeat`` times and keeping each one's best. Each Ray row is compared with a
local ``predict`` given the same CPU: an actor with ``num_cpus=c`` runs torch
with ``c`` threads (Ray sets ``OMP_NUM_THREADS``), so 1 actor x 1 CPU is set
beside local predict with 1 torch thread, and 1 actor x all CPUs or one actor
per CPU beside local predict with all of them. Two figures per Ray row:

- end to end: from submitting the dataset to the last row, actor start (a new
  process importing torch) and model load included: what a short job pays;
- marginal: (N - m) / (T(N) - T(m)), with T(m) the end-to-end time of a run on
  the first m = one batch per actor of the same images: the start-up cost cancels,
  leaving the rate a long job converges to ("n/a" when the two runs ended under 1 s
  apart: then the start-up's noise is the whole difference).

"vs local" is Ray images/s over local images/s (below 1: Ray is slower). The model is the small
FER2013 checkpoint from ``../shared/models``; images are FER2013 public_test JPEGs.

The last two rows time the command line from a new process each, as a user runs it:
``clip-fer predict --engine ray --output OUT.parquet`` (starting its own local cluster,
1 actor x 1 CPU) against ``clip-fer predict`` with ``OMP_NUM_THREADS=1``, on a folder
holding the same images; both include Python's start, imports and (for Ray) the
cluster's start and stop.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FER2013 = ROOT.parent / "shared" / "data" / "fer2013"
TINY = ROOT.parent / "shared" / "models" / "tiny-fer-clip.pt"


def cpu_line():
    """The CPU's model name and vector instruction sets (from /proc/cpuinfo), and the load average."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    fields = {k.strip(): v for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}
    name = fields.get("model name", "").strip() or platform.processor() or platform.machine()
    flags = [f for f in fields.get("flags", "").split() if f.startswith(("avx", "amx"))]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{name} ({' '.join(flags) or 'no AVX listed'}); load average {load}"


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
    """(end-to-end seconds, {path: proba row}): from submitting to the last row."""
    dataset = ray.data.from_items([{"path": p} for p in paths])
    results = predict_dataset(dataset, clf, batch_size=batch_size, concurrency=actors, num_cpus=cpus)
    classes = [str(c) for c in clf.classes_]
    rows = {}
    start = time.perf_counter()
    for table in results.iter_batches(batch_size=batch_size, batch_format="pyarrow"):
        columns = np.column_stack([table.column(f"proba_{c}").to_numpy() for c in classes])
        rows.update(zip(table.column("path").to_pylist(), columns))
    return time.perf_counter() - start, rows


def time_parquet(ray, predict_to_parquet, clf, paths, batch_size):
    out = Path(tempfile.mkdtemp()) / "predictions.parquet"
    dataset = ray.data.from_items([{"path": p} for p in paths])
    start = time.perf_counter()
    run = predict_to_parquet(dataset, clf, out, batch_size=batch_size, concurrency=1, num_cpus=1)
    seconds = time.perf_counter() - start
    assert run.written == len(paths), run
    return seconds


def time_cli(folder, model, engine, env):
    """Seconds for one ``clip-fer predict`` of ``folder`` in a new process (local: 1 thread)."""
    command = [sys.executable, "-m", "clip_fer", "predict", "--model", model, "--batch-size", "64"]
    if engine == "ray":
        out = Path(tempfile.mkdtemp()) / "cli.parquet"
        command += ["--engine", "ray", "--output", str(out), "--no-progress"]
    else:
        env = {**env, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run([*command, str(folder)], env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    if engine == "ray":
        shutil.rmtree(out.parent)
    return seconds


def linked_folder(paths):
    """A temporary folder of links to ``paths`` (the CLI lists a folder, as users give it)."""
    folder = Path(tempfile.mkdtemp()) / "faces"
    folder.mkdir()
    for i, path in enumerate(paths):
        (folder / f"{i:06d}{Path(path).suffix}").symlink_to(path)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (FER2013 public_test, then train)")
    parser.add_argument("--model", default=str(TINY), help="checkpoint (default: tiny-fer-clip)")
    parser.add_argument(
        "--batch-size", type=int, default=256, help="rows per actor call; images per forward pass is 64"
    )
    parser.add_argument("--repeat", type=int, default=2, help="alternating rounds; best of each kept")
    args = parser.parse_args()
    before = cpu_line()

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

    # (actors, CPUs per actor, torch threads of the local run it is compared with)
    configs = [(1, 1, 1), (1, cores, cores), (cores, 1, cores)]
    threads = sorted({c[2] for c in configs})
    local = {t: [] for t in threads}
    e2e, short, diffs = {c: [] for c in configs}, {c: [] for c in configs}, []
    for _ in range(args.repeat):
        for t in threads:
            torch.set_num_threads(t)
            seconds, proba = time_local(clf, paths)
            local[t].append(seconds)
        for config in configs:
            actors, cpus, _ = config
            m = args.batch_size * actors
            short[config].append(
                time_ray(ray, predict_dataset, clf, paths[:m], actors, cpus, args.batch_size)[0]
            )
            total, rows = time_ray(ray, predict_dataset, clf, paths, actors, cpus, args.batch_size)
            e2e[config].append(total)
            diffs.append(max(np.abs(rows[p] - row).max() for p, row in zip(paths, proba)))
    parquet = min(
        time_parquet(ray, predict_to_parquet, clf, paths, args.batch_size) for _ in range(args.repeat)
    )
    ray.shutdown()

    folder = linked_folder(paths)
    cli_env = {**os.environ, "PYTHONPATH": env["PYTHONPATH"], "HF_HUB_OFFLINE": "1"}
    cli = {"local": [], "ray": []}
    for _ in range(args.repeat):
        for engine in cli:
            cli[engine].append(time_cli(folder, args.model, engine, cli_env))
    shutil.rmtree(folder.parent)

    local_ips = {t: len(paths) / min(seconds) for t, seconds in local.items()}
    print(
        f"clip-fer {clip_fer.__version__}, ray {ray.__version__}, torch {torch.__version__}, "
        f"{cores} cores; {Path(args.model).name}; "
        f"{len(paths)} FER2013 images; best of {args.repeat}; max |proba - local| {max(diffs):.1e}"
    )
    print(f"before: {before}\nafter: {cpu_line()}")
    print("| run | images/s end to end | vs local | images/s marginal | vs local |")
    print("|---|---:|---:|---:|---:|")
    for t in threads:
        print(f"| local predict, {t} torch thread{'s' if t > 1 else ''} | {local_ips[t]:.0f} | 1.00 | | |")
    for config in configs:
        actors, cpus, t = config
        m = args.batch_size * actors
        ips = len(paths) / min(e2e[config])
        apart = min(e2e[config]) - min(short[config])
        rate = (len(paths) - m) / apart if apart >= 1 else None  # under 1 s: noise, not a rate
        marginal = f"{rate:.0f} | {rate / local_ips[t]:.2f}" if rate else "n/a (runs < 1 s apart) |"
        print(
            f"| Ray Data, {actors} actor{'s' if actors > 1 else ''} x {cpus:g} CPU "
            f"(vs local, {t} thread{'s' if t > 1 else ''}) | {ips:.0f} | {ips / local_ips[t]:.2f} | "
            f"{marginal} |"
        )
    ips = len(paths) / parquet
    print(
        f"| predict_to_parquet, 1 actor x 1 CPU (vs local, 1 thread) | {ips:.0f} | "
        f"{ips / local_ips[1]:.2f} | | |"
    )
    cli_local = len(paths) / min(cli["local"])
    cli_ray = len(paths) / min(cli["ray"])
    print(
        f"| `clip-fer predict`, 1 thread, new process ({min(cli['local']):.1f} s) | {cli_local:.0f} | 1.00 | | |"
    )
    print(
        f"| `clip-fer predict --engine ray`, 1 actor x 1 CPU, new process and cluster "
        f"({min(cli['ray']):.1f} s) | {cli_ray:.0f} | {cli_ray / cli_local:.2f} | | |"
    )


if __name__ == "__main__":
    main()
