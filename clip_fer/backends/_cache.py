"""Image-embedding cache: bounded LRU in memory, optionally persisted to a folder.

Entries are keyed by the model's identity and the image's content: a file by its
absolute path, size and modification time; an array, tensor or PIL image by a
hash of its bytes. A file rewritten on disk gets a new key, so stale embeddings
are never returned.
"""

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "EmbeddingCache",
    "CacheInfo",
    "content_key",
    "embedding_cache",
    "text_embedding_cache",
    "clear_embedding_cache",
]


def _digest(*parts):
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
    return h.hexdigest()


def content_key(item):
    """A string identifying an image's content, or None when it cannot be keyed.

    Files are keyed by absolute path, size and modification time (no read);
    arrays, tensors and PIL images by a hash of their bytes, shape and type.
    """
    try:
        if isinstance(item, (str, os.PathLike)):
            stat = os.stat(item)
            return _digest("file", os.path.abspath(item), stat.st_size, stat.st_mtime_ns)
        if isinstance(item, Image.Image):
            return _digest("pil", item.mode, item.size, item.tobytes())
        if type(item).__module__.startswith("torch") and hasattr(item, "detach"):
            item = item.detach().cpu().numpy()
        if isinstance(item, np.ndarray):
            array = np.ascontiguousarray(item)
            return _digest("array", array.dtype.str, array.shape, array.tobytes())
    except (OSError, ValueError, TypeError):
        return None  # unreadable items are left to the encoder, which names the error
    return None


@dataclass(frozen=True)
class CacheInfo:
    """Counters of an :class:`EmbeddingCache` (as ``functools.lru_cache`` has).

    Attributes
    ----------
    hits, misses : int
        Look-ups that found an embedding, and that did not.
    entries : int
        Embeddings held in memory.
    nbytes, max_bytes : int
        Bytes they take, and the bound.
    """

    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int


class EmbeddingCache:
    """A thread-safe, size-bounded LRU mapping (model id, content key) -> embedding.

    Parameters
    ----------
    max_bytes : int, default=512 MiB
        Upper bound on the bytes of embeddings held in memory; the least recently
        used entries are dropped beyond it.
    """

    def __init__(self, max_bytes=512 * 2**20):
        self.max_bytes = int(max_bytes)
        self._entries = OrderedDict()
        self._nbytes = 0
        self._hits = self._misses = 0
        self._lock = threading.Lock()

    def get(self, model_id, key, cache_dir=None):
        """The cached embedding, or None. Looks on disk when ``cache_dir`` is given.

        Parameters
        ----------
        model_id : str
            The model's identity (embeddings of different models never mix).
        key : str
            The image's content key.
        cache_dir : str or path-like, default=None
            Also look in this folder.

        Returns
        -------
        embedding : ndarray of float32 or None
        """
        with self._lock:
            value = self._entries.get((model_id, key))
            if value is not None:
                self._entries.move_to_end((model_id, key))
                self._hits += 1
                return value
        if cache_dir is not None:
            path = _disk_path(cache_dir, model_id, key)
            try:
                value = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                value = None
            if value is not None:
                self.put(model_id, key, value)
                with self._lock:
                    self._hits += 1
                return value
        with self._lock:
            self._misses += 1
        return None

    def put(self, model_id, key, value, cache_dir=None):
        """Store an embedding (a 1-D float32 array); also on disk with ``cache_dir``.

        Parameters
        ----------
        model_id : str
            The model's identity.
        key : str
            The image's content key.
        value : array-like of shape (dim,)
            The embedding; stored as a read-only float32 copy.
        cache_dir : str or path-like, default=None
            Also write it to this folder.
        """
        value = np.array(value, dtype=np.float32, copy=True)
        value.setflags(write=False)
        with self._lock:
            old = self._entries.pop((model_id, key), None)
            if old is not None:
                self._nbytes -= old.nbytes
            self._entries[(model_id, key)] = value
            self._nbytes += value.nbytes
            while self._nbytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._nbytes -= dropped.nbytes
        if cache_dir is not None:
            path = _disk_path(cache_dir, model_id, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
            np.save(tmp, value)
            os.replace(tmp, path)  # atomic: readers never see half a file

    def info(self):
        """Hits, misses, entries and bytes so far."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self._nbytes, self.max_bytes)

    def clear(self):
        """Drop every in-memory entry and reset the counters (disk is left alone)."""
        with self._lock:
            self._entries.clear()
            self._nbytes = 0
            self._hits = self._misses = 0


def _disk_path(cache_dir, model_id, key):
    return Path(cache_dir) / _digest(model_id)[:16] / key[:2] / f"{key}.npy"


#: The process-wide cache that every estimator with ``cache=True`` shares, so that
#: clones made by ``GridSearchCV`` reuse each other's embeddings.
embedding_cache = EmbeddingCache()

#: Sentence embeddings, keyed by model identity and sentence: a refit with a bank
#: seen before (every grid-search fold) encodes nothing.
text_embedding_cache = EmbeddingCache(max_bytes=64 * 2**20)


def clear_embedding_cache():
    """Empty the process-wide image and sentence embedding caches."""
    embedding_cache.clear()
    text_embedding_cache.clear()
