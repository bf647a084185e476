"""A child forked from a process that has run the model predicts (issue 26, finding 5).

torch's OpenMP pool is not fork-safe: before the fork guard, a ``multiprocessing``
"fork" child calling ``predict_proba`` waited forever in the image tower's first
convolution. The child runs in a subprocess with a timeout, so a hang fails the
test instead of hanging the suite.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import sys

    import numpy as np
    import torch

    from clip_fer import ZeroShotEmotionClassifier

    torch.set_num_threads(2)  # a pool of two threads on any machine, one core or many
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(4)]
    clf = ZeroShotEmotionClassifier(model=sys.argv[1], cache=False).fit()
    expected = clf.predict_proba(faces)  # the parent runs the pool (no cache for the child to hit)


    def child(queue):
        queue.put((clf.predict_proba(faces), torch.get_num_threads()))


    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    process.join(float(sys.argv[2]))
    if process.is_alive():
        process.kill()
        print("HUNG: the forked child did not finish")
        sys.exit(3)
    got, threads = queue.get(timeout=10)
    np.save(sys.argv[3], np.stack([expected, got]))
    print("threads in the child:", threads, "exit code:", process.exitcode)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_predicts_what_its_parent_predicts(toy_checkpoint, tmp_path):
    script, out = tmp_path / "fork_child.py", tmp_path / "proba.npy"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(script), toy_checkpoint, "60", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "threads in the child: 1 exit code: 0" in run.stdout
    expected, got = np.load(out)
    # The child's own encoding, on one thread: the same probabilities as the parent's
    # (a float32 sum over a different number of threads may differ in its last bits).
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()
