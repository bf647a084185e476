"""Importing Ray Data, or saying how to install it: nothing else, so that importing
this module imports neither torch nor scikit-learn (the command line starts the
cluster while another thread imports those)."""

import socket

__all__ = ["cluster_unreachable", "import_ray"]

#: Seconds to wait for a Ray cluster's head to accept a connection.
PROBE_SECONDS = 3.0


def import_ray():
    """Import ``ray`` with Ray Data, or say how to install it.

    Returns
    -------
    ray : module
        ``ray``, with ``ray.data`` imported.

    Raises
    ------
    MissingDependencyError
        When Ray Data cannot be imported, with the ``pip install`` command.
    """
    try:
        import ray
        import ray.data
    except ImportError as exc:
        from ..exceptions import MissingDependencyError  # scikit-learn's: only when needed

        raise MissingDependencyError(
            f"clip_fer.distributed needs Ray Data ({exc}). Install it with "
            "`pip install 'clip-fer[ray]'` (ray[data] and pyarrow)."
        ) from exc
    return ray


def cluster_unreachable(address, timeout=PROBE_SECONDS):
    """Why the Ray cluster at ``address`` cannot be reached, or None.

    ``ray.init`` retries an unreachable head for a minute or more before it fails;
    a TCP connection to ``host:port`` (``ray://`` addresses included) says so in
    ``timeout`` seconds. ``None``, ``"auto"``, ``"local"`` and addresses without a
    port are not probed (None).
    """
    if not address or address in ("auto", "local"):
        return None
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return None
    host = host.strip("[]")  # an IPv6 literal
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        return f"{host}:{port} does not answer ({type(exc).__name__}: {exc})"
    return None
