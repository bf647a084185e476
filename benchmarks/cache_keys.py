"""What keying files by content costs: content hash vs the old stat-based key.

Prints microseconds per key for FER2013 PublicTest files (synthetic 48x48 PNGs when
../shared is absent) and for a 5 MB file, both keys measured side by side on warm
files (in the page cache), so only their ratio is meaningful.

    python benchmarks/cache_keys.py
"""

import glob
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from clip_fer.backends._cache import _digest, content_key

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013" / "public_test"


def stat_key(path):
    """The key before issue 10: path, size and modification time."""
    stat = os.stat(path)
    return _digest("file", os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


def per_key(function, paths, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for path in paths:
            function(path)
        best = min(best, (time.perf_counter() - start) / len(paths))
    return best * 1e6


def main():
    tmp = Path(tempfile.mkdtemp())
    paths = sorted(glob.glob(str(SHARED / "*" / "*")))[:2000]
    if not paths:
        rng = np.random.default_rng(0)
        for i in range(500):
            Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(tmp / f"{i}.png")
        paths = sorted(str(p) for p in tmp.glob("*.png"))
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(5_000_000))
    for path in [*paths, big]:
        Path(path).read_bytes()  # warm
    print("| files | stat key (us) | content hash (us) | ratio |\n|---|---:|---:|---:|")
    for name, group in ((f"{len(paths)} small images", paths), ("one 5 MB file, 20 times", [big] * 20)):
        old, new = per_key(stat_key, group), per_key(content_key, group)
        print(f"| {name} | {old:.1f} | {new:.1f} | {new / old:.1f} |")


if __name__ == "__main__":
    main()
