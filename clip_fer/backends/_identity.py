"""What a model is: an identity made from what determines its outputs.

A model is known by its content, never by the string that named it. A family
says which files and settings decide a model's outputs (its weights, its
architecture config, its tokenizer and image-processor files) and this module
hashes them:

- a file by a BLAKE2b hash of its bytes, read once per process and reused while
  its ``stat`` is unchanged (path, device, inode, size, modification *and* change
  time). ``rsync -t``, ``tar`` and ``cp -p`` restore the modification time, never
  the change time or a new file's inode, so a checkpoint replaced under the same
  name is hashed again; a new process always hashes anew.
- a folder by the relative path and hash of every file in it (dot-folders such
  as ``.git`` and ``.cache`` left out);
- an in-memory torch module by the names, dtypes, shapes and bytes of its
  ``state_dict``, reused while no parameter's or buffer's version counter has moved
  (an in-place update through ``tensor.data`` does not move it: see
  docs/architecture.md);
- a preprocessing callable by a hash of its pickle, or by a token unique to the
  object where it cannot be pickled (:func:`callable_fingerprint`).

Everything here runs on Python 3.10 as well (no ``hashlib.file_digest``).
"""

import hashlib
import json
import os
import pickle
import threading
import uuid
import weakref

__all__ = [
    "callable_fingerprint",
    "digest",
    "file_digest",
    "file_part",
    "tensor_versions",
    "tree_part",
    "weights_digest",
]

_CHUNK = 1 << 20
_MEMO = {}  # stat signature -> hex digest of the bytes
_MEMO_LIMIT = 4096
_LOCK = threading.Lock()
_WEIGHTS = weakref.WeakKeyDictionary()  # module -> (tensor versions, digest)


def digest(*parts):
    """A hex BLAKE2b digest of ``parts`` (bytes as they are, anything else by its JSON
    or, failing that, its ``repr``)."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        if not isinstance(part, bytes):
            try:
                part = json.dumps(part, sort_keys=True, default=repr).encode()
            except (TypeError, ValueError):  # circular or unsortable keys
                part = repr(part).encode()
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def hash_file(path, size=20):
    """BLAKE2b of a file's bytes, read in 1 MiB chunks (no ``hashlib.file_digest``,
    which Python 3.10 lacks)."""
    h = hashlib.blake2b(digest_size=size)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _signature(path):
    stat = os.stat(path)
    return (
        os.path.realpath(path),
        stat.st_dev,
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        stat.st_ctime_ns,
    )


def file_digest(path):
    """The hash of a file's bytes, memoised per process while its stat is unchanged.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    digest : str
    """
    signature = _signature(path)
    with _LOCK:
        found = _MEMO.get(signature)
    if found is not None:
        return found
    value = hash_file(path)
    if _signature(path) == signature:  # not rewritten while it was read
        with _LOCK:
            if len(_MEMO) >= _MEMO_LIMIT:
                _MEMO.clear()
            _MEMO[signature] = value
    return value


def file_part(path):
    """What identifies one file's content: ``("file", digest)`` (the path is not part of it)."""
    return ("file", file_digest(path))


def tree_part(folder):
    """What identifies a folder's content: every file's relative path and digest."""
    folder = os.path.abspath(folder)
    entries = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            entries.append((os.path.relpath(path, folder), file_digest(path)))
    return ("tree", entries)


def _counter(tensor):
    try:
        return tensor._version
    except RuntimeError:  # an inference tensor has no version counter
        return None


def tensor_versions(module):
    """Each tensor ``module`` holds (parameters, buffers, plain tensor attributes) by
    name, identity, version counter, dtype and device: what moves when a tensor is
    updated in place (``p.add_``, ``load_state_dict``), replaced, or converted
    (``.to``, ``.half()``). Not read from ``state_dict``, which may build new tensors
    on every call.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    versions : tuple
    """
    import torch

    found = []
    for prefix, child in module.named_modules(remove_duplicate=False):
        # plain tensor attributes too, such as a oneDNN-packed weight
        tensors = [(name, t) for name, t in vars(child).items() if isinstance(t, torch.Tensor)]
        for group in (child._parameters, child._buffers):
            tensors.extend((name, t) for name, t in group.items() if t is not None)
        for name, tensor in tensors:
            found.append((prefix, name, id(tensor), _counter(tensor), tensor.dtype, tensor.device))
    return tuple(found)


_TOKENS = weakref.WeakKeyDictionary()  # callable -> a token unique in this process
_PINNED = {}  # id -> (callable, token) for callables that cannot be weakly referenced


def _token(obj):
    with _LOCK:
        try:
            found = _TOKENS.get(obj)
            if found is None:
                found = _TOKENS[obj] = f"{os.getpid()}-{uuid.uuid4().hex}"
            return found
        except TypeError:  # no weak references: kept alive, so its id is never reused
            held = _PINNED.get(id(obj))
            if held is None or held[0] is not obj:
                held = _PINNED[id(obj)] = (obj, f"{os.getpid()}-{uuid.uuid4().hex}")
            return held[1]


def callable_fingerprint(obj):
    """What identifies a preprocessing callable: a hash of its pickle (its class or
    function by name, and its settings), or, where it cannot be pickled (a lambda, a
    nested function, an object holding one), a token unique to this object in this
    process.

    Two lambdas, or two instances of one class with different settings, never share
    a fingerprint; the same picklable settings in a new process give the same one.

    Parameters
    ----------
    obj : object

    Returns
    -------
    fingerprint : tuple of str
    """
    try:
        data = pickle.dumps(obj, protocol=4)
    except Exception:  # PicklingError, AttributeError, TypeError: whatever pickle raises
        return ("object", _token(obj))
    return ("pickle", hashlib.blake2b(data, digest_size=20).hexdigest())


def weights_digest(module):
    """The hash of an in-memory module's ``state_dict`` (names, dtypes, shapes, bytes).

    Reused while every tensor keeps its storage and version counter.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    digest : str
    """
    import torch

    versions = tensor_versions(module)
    try:
        known = _WEIGHTS.get(module)
    except TypeError:  # a module that cannot be weakly referenced
        known = None
    if known is not None and known[0] == versions:
        return known[1]
    h = hashlib.blake2b(digest_size=20)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            h.update(name.encode())
            if isinstance(value, torch.Tensor) and not value.is_quantized:
                flat = value.detach().to("cpu").contiguous().reshape(-1)
                h.update(f"{flat.dtype}{tuple(value.shape)}".encode())
                h.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
            else:  # quantised packed parameters and other extra state
                h.update(repr(value).encode())
    value = h.hexdigest()
    try:
        _WEIGHTS[module] = (versions, value)
    except TypeError:
        pass
    return value


def clear_identity_memo():
    """Forget every memoised digest (the next look-up hashes again)."""
    with _LOCK:
        _MEMO.clear()
    _WEIGHTS.clear()
