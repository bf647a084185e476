"""Fork safety: a forked child runs torch on one thread.

torch's CPU kernels run on an OpenMP thread pool (GNU ``libgomp`` in the pip
wheels). A process that has used the pool and then forks (``multiprocessing``'s
``"fork"`` start method, the default on Linux up to Python 3.13, or ``os.fork``)
leaves the child a pool whose threads do not exist there: the child's first
parallel region, such as an image tower's first convolution, waits for them
forever. ``torch.set_num_threads(1)`` in the child runs every kernel on the
calling thread, which avoids the pool (torch's own DataLoader workers do the
same). The hook below does it in every child forked after ``import clip_fer``
from a process that has imported torch.
"""

import os
import sys

__all__ = ["after_fork_in_child"]


def after_fork_in_child():
    """In a forked child: one torch thread, if the parent had imported torch.

    A child that wants more threads should be started with the ``"spawn"`` or
    ``"forkserver"`` method, which start with a fresh thread pool.
    """
    torch = sys.modules.get("torch")
    set_num_threads = getattr(torch, "set_num_threads", None)  # None while torch is half imported
    if set_num_threads is not None:
        set_num_threads(1)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=after_fork_in_child)
