"""Failing fast without a network: one reachability probe per host and process,
and failed loads remembered for the process.

Without a network, Hugging Face's client retries each file for about 25 s and
open_clip's downloads about 50 s, and a grid search tried it again for every fit
(426 s to fail). Now:

- the first load of a name that needs a download asks, once per process, whether
  the host answers (a TCP connection within :data:`PROBE_TIMEOUT` seconds, run in
  a daemon thread so that a hanging DNS look-up cannot stall it). Where the Hugging
  Face Hub does not answer, or ``HF_HUB_OFFLINE`` is set, the load runs in the Hub
  client's offline mode: files already in its cache load, others fail at once, with
  the message clip-fer gives for a missing download;
- a load that raised :class:`~clip_fer.exceptions.ModelLoadError` or
  :class:`~clip_fer.exceptions.MissingDependencyError` raises the same error again,
  without trying, until :func:`~clip_fer.clear_model_cache` (a network that comes
  back, a package installed meanwhile: clear the cache, then load again).
"""

import contextlib
import os
import socket
import threading

from ..exceptions import MissingDependencyError, ModelLoadError

__all__ = [
    "PROBE_TIMEOUT",
    "forget",
    "hub_offline",
    "load_once",
    "require_host",
    "reset_probes",
    "unreachable",
]

#: Seconds the reachability probe waits for a host (``CLIP_FER_PROBE_TIMEOUT``).
PROBE_TIMEOUT = float(os.environ.get("CLIP_FER_PROBE_TIMEOUT", "3"))
HF_HUB = ("huggingface.co", 443)

_LOCK = threading.Lock()
_PROBED = {}  # (host, port) -> None when it answered, else the reason it did not
_FAILED = {}  # model cache key -> the exception its load raised


def _connect(host, port, timeout):
    """Open and close a TCP connection; raises ``OSError`` when it cannot."""
    socket.create_connection((host, port), timeout=timeout).close()


def _probe(host, port, timeout):
    """None when ``host:port`` accepts a connection within ``timeout`` s, else why not."""
    outcome = [f"no answer from {host}:{port} within {timeout:g} s"]

    def attempt():
        try:
            _connect(host, port, timeout)
            outcome[0] = None
        except OSError as exc:
            outcome[0] = f"{host}:{port} cannot be reached ({type(exc).__name__}: {exc})"

    thread = threading.Thread(target=attempt, name="clip-fer-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0]


def _behind_proxy(host):
    """Whether connections to ``host`` go through a proxy (``HTTPS_PROXY`` and the
    like, not bypassed by ``NO_PROXY``): a direct probe would then say nothing."""
    import urllib.request

    proxies = urllib.request.getproxies()
    return bool(proxies.get("https") or proxies.get("all")) and not urllib.request.proxy_bypass(host)


def unreachable(host, port=443):
    """Why ``host`` cannot be reached (probed once per process), or None.

    Behind a proxy nothing is probed (None): the download's own client decides.
    """
    if _behind_proxy(host):
        return None
    with _LOCK:
        if (host, port) not in _PROBED:
            _PROBED[(host, port)] = _probe(host, port, PROBE_TIMEOUT)
        return _PROBED[(host, port)]


def reset_probes():
    """Forget every probe's answer, so the next download probes again."""
    with _LOCK:
        _PROBED.clear()


@contextlib.contextmanager
def hub_offline(needed=True):
    """Run the block in the Hugging Face Hub client's offline mode when the Hub
    does not answer (or ``HF_HUB_OFFLINE`` is already set); else change nothing.
    With ``needed=False`` (a local file or folder) nothing is probed.

    In offline mode the client reads its cache only, so a model downloaded before
    still loads and one that was not fails at once instead of after its retries.
    """
    if not needed:
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:  # the library that needs the Hub will say it is missing
        yield
        return
    if constants.HF_HUB_OFFLINE or unreachable(*HF_HUB) is None:
        yield
        return
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = False


def require_host(url):
    """Raise ``urllib.error.URLError`` at once when the host of ``url`` does not answer."""
    import urllib.error
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    reason = unreachable(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    if reason is not None:
        raise urllib.error.URLError(reason)


_REMEMBERED = (ModelLoadError, MissingDependencyError)


def load_once(key, load):
    """``load()``, unless it already failed for ``key`` in this process: then the
    same error again, without trying (a note on it says so)."""
    failed = _FAILED.get(key)
    if failed is not None:
        again = type(failed)(*failed.args)
        again.add_note(
            "This load failed before in this process and was not tried again; "
            "clip_fer.clear_model_cache() forgets the failure."
        )
        raise again from failed.__cause__
    try:
        return load()
    except _REMEMBERED as exc:
        _FAILED[key] = exc
        raise


def forget():
    """Forget every remembered failure and probe answer."""
    _FAILED.clear()
    reset_probes()
