"""Cold start of ``clip-fer predict`` against ``python -c "import torch"``, side by side.

    python benchmarks/cold_start.py                       # 100 FER2013 images, the FER2013 checkpoint
    python benchmarks/cold_start.py --rounds 5 --baseline /path/to/other/checkout

Each round runs, in new processes and in turn: ``import torch``; ``clip-fer predict``
on the images; and, with ``--baseline``, the ``predict`` of another checkout of clip-fer (e.g. the
last release) for a before/after. Best of the rounds for each; the CPU and the load
average are printed beside them: on a shared machine only the ratios within one run
mean much. CPU seconds (user + system, from ``getrusage``) are printed beside the wall
clock: other jobs on the machine stretch the wall clock far more than the CPU time.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TINY = SHARED / "models" / "tiny-fer-clip.pt"


def _seconds(command, env):
    """(wall seconds, CPU seconds: user + system) of ``command`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # run from the checkout: ``python -m`` puts the working folder first on sys.path
    subprocess.run(command, env=env, cwd=env["PYTHONPATH"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _images(n):
    paths = sorted((SHARED / "data" / "fer2013" / "public_test").glob("*/*.jpg"))
    if len(paths) < n:
        sys.exit(f"needs {n} FER2013 images under {SHARED / 'data'}")
    folder = Path(tempfile.mkdtemp())
    for path in paths[:: len(paths) // n][:n]:
        shutil.copy(path, folder / f"{path.parent.name}-{path.name}")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="FER2013 PublicTest images")
    parser.add_argument("--model", default=str(TINY), help="checkpoint (default: the FER2013 one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another clip-fer checkout to compare with")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from clip_fer.backends._cpu import cpu_summary

    folder = _images(args.n)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    model = os.path.abspath(args.model)
    predict = [sys.executable, "-m", "clip_fer", "predict", "--model", model, str(folder)]
    runs = {
        'python -c "import torch"': ([sys.executable, "-c", "import torch"], env),
        f"clip-fer predict, {args.n} images": (predict, env),
    }
    if args.baseline:
        baseline = os.path.abspath(args.baseline)
        runs[f"baseline predict ({baseline})"] = (predict, dict(env, PYTHONPATH=baseline))
    for name, (_command, run_env) in runs.items():  # each run imports the checkout it names
        where = subprocess.run(
            [sys.executable, "-c", "import clip_fer, os; print(os.path.dirname(clip_fer.__file__))"],
            env=run_env,
            cwd=run_env["PYTHONPATH"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"{name}: clip_fer from {where}")
    print(f"CPU: {cpu_summary()}; {os.cpu_count()} cores")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    best, cpu = dict.fromkeys(runs, float("inf")), dict.fromkeys(runs, float("inf"))
    for _ in range(args.rounds):
        for name, (command, run_env) in runs.items():
            wall, used = _seconds(command, run_env)
            best[name], cpu[name] = min(best[name], wall), min(cpu[name], used)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    torch_s, torch_cpu = best['python -c "import torch"'], cpu['python -c "import torch"']
    print("| run | wall s, best of rounds | x import torch | CPU s (user + system), best | x import torch |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in best.items():
        print(
            f"| {name} | {seconds:.2f} | {seconds / torch_s:.2f} | {cpu[name]:.2f} | {cpu[name] / torch_cpu:.2f} |"
        )


if __name__ == "__main__":
    main()
