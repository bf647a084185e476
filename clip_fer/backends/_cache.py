"""Image-embedding cache: bounded LRU in memory, optionally persisted to a folder.

Entries are keyed by the model's identity and the image's content:

- a file by a BLAKE2b hash of its bytes. Path, size and times are not used: ``cp -p``,
  ``rsync -t``, ``tar`` and backups restore a file's size and modification time,
  so a different photo copied over an old one could keep the old key. Bytes cannot
  be carried over by a copy. The price is one read of the file per look-up, and one
  more after a miss is encoded: the embedding is stored only if the file still hashes
  to its key, so a file replaced during a run cannot leave its new content's embedding
  under the old content's key. The gain is also that copies of one file share an entry.
- an array or tensor by a hash of its dtype, shape and bytes (a tensor as the
  channels-last array it is read as);
- a PIL image by a hash of its mode, size, pixels, palette, transparency and EXIF
  orientation;
- a prompt sentence by a hash of its text (:func:`sentence_key`): with ``cache_dir``,
  a new process with the same model encodes none of a bank's sentences again.

Files in ``cache_dir`` carry a checksum of their content and key; an entry read back
is used only if its checksum, width, dtype (float32), values (finite) and norm (1)
are right. Anything else (flipped bytes, a truncated file, a folder in its place,
an old format) is discarded, and the image is encoded again.
"""

import hashlib
import os
import struct
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..exceptions import CacheWriteWarning, InvalidParameterError
from ._identity import hash_file
from ._images import exif_orientation, tensor_to_array

__all__ = [
    "EmbeddingCache",
    "CacheInfo",
    "check_cache_dir",
    "content_key",
    "embedding_cache",
    "text_embedding_cache",
    "clear_embedding_cache",
    "sentence_key",
    "warn_cache_write",
]

_MAGIC = b"CFEMB\x00\x01\n"  # format version 1
_HEADER = struct.Struct("<8sI")  # magic, width
_CHECKSUM_BYTES = 16
_MAX_WIDTH = 1 << 16
_NORM_TOLERANCE = 1e-3


def _digest(*parts):
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
    return h.hexdigest()


def _file_digest(path):
    return hash_file(path, size=16)  # chunked: no hashlib.file_digest, which 3.10 lacks


def content_key(item):
    """A string identifying an image's content, or None when it cannot be keyed.

    Files by a hash of their bytes; arrays, tensors and PIL images by a hash of
    what is read from them (see the module docstring).
    """
    try:
        if isinstance(item, (str, os.PathLike)):
            if not os.path.isfile(item):  # /dev/zero, a pipe: a read that may never end
                return None
            return _digest("file", _file_digest(item))
        if isinstance(item, Image.Image):
            palette = item.getpalette() if item.mode in ("P", "PA") else None
            return _digest(
                "pil",
                item.mode,
                item.size,
                item.tobytes(),
                palette,
                item.info.get("transparency"),
                exif_orientation(item),
            )
        if type(item).__module__.startswith("torch") and hasattr(item, "detach"):
            item = tensor_to_array(item)
        if isinstance(item, np.ndarray):
            array = np.ascontiguousarray(item)
            return _digest("array", array.dtype.str, array.shape, array.tobytes())
    except (OSError, ValueError, TypeError, MemoryError, RuntimeError):
        # What reading an input can raise (a file that vanished, a closed PIL image, a
        # tensor numpy cannot hold): the item is not cached and the encoder names the
        # problem. A programming error is not caught here.
        return None
    return None


def check_cache_dir(cache_dir, owner):
    """``cache_dir`` as a Path (None stays None), or an :class:`InvalidParameterError`.

    It must be a non-empty str or path-like naming a folder or nothing yet (it is
    created on first write); a path to a file is refused.
    """
    if cache_dir is None:
        return None
    if not isinstance(cache_dir, (str, os.PathLike)) or isinstance(cache_dir, bytes):
        raise InvalidParameterError(
            f"The 'cache_dir' parameter of {owner} must be None or a folder path (str or "
            f"path-like). Got {cache_dir!r} instead."
        )
    if os.fspath(cache_dir) == "":
        raise InvalidParameterError(
            f"The 'cache_dir' parameter of {owner} must be None or a non-empty folder "
            "path. Got '' instead; give a folder such as '.clip-fer-cache'."
        )
    path = Path(cache_dir)
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(
            f"The 'cache_dir' parameter of {owner} must be a folder. Got {os.fspath(cache_dir)!r}, "
            "which is a file, instead; give a folder path (created if missing)."
        )
    return path


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
    discarded : int
        Entries read from ``cache_dir`` that failed validation and were deleted.
    """

    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int
    discarded: int = 0


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
        self._hits = self._misses = self._discarded = 0
        self._lock = threading.Lock()

    def get(self, model_id, key, cache_dir=None, width=None):
        """The cached embedding, or None.

        Looks on disk when ``cache_dir`` is given; a file there is used only if it
        passes validation (checksum, ``width`` when given, finite, unit norm), and
        is deleted otherwise.

        Parameters
        ----------
        model_id : str
            The model's identity (embeddings of different models never mix).
        key : str
            The image's content key.
        cache_dir : str or path-like, default=None
            Also look in this folder.
        width : int, default=None
            The embedding width an entry read from disk must have.

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
            value = self._load(_disk_path(cache_dir, model_id, key), model_id, key, width)
            if value is not None:
                self.put(model_id, key, value)
                with self._lock:
                    self._hits += 1
                return value
        with self._lock:
            self._misses += 1
        return None

    def _load(self, path, model_id, key, width):
        try:
            with open(path, "rb") as file:
                data = file.read(_HEADER.size + 4 * _MAX_WIDTH + _CHECKSUM_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError:  # a folder in its place, no permission, ...
            return self._discard(path)
        value = _decode(data, model_id, key, width)
        return self._discard(path) if value is None else value

    def _discard(self, path):
        with self._lock:
            self._discarded += 1
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
        except OSError:
            pass  # a read-only cache: the entry is ignored all the same
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
            Also write it to this folder. A disk write that fails raises
            ``OSError`` after the in-memory entry is stored.
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
            self.save(model_id, key, value, cache_dir)

    def save(self, model_id, key, value, cache_dir):
        """Write one entry to ``cache_dir`` atomically, with its checksum.

        Parameters
        ----------
        model_id : str
            The model's identity.
        key : str
            The image's content key.
        value : array-like of shape (dim,)
            The embedding.
        cache_dir : str or path-like
            The folder; ``OSError`` when it cannot be written.
        """
        path = _disk_path(cache_dir, model_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(_encode(np.asarray(value, dtype=np.float32), model_id, key))
            os.replace(tmp, path)  # atomic: readers never see half a file
        finally:
            if tmp.exists():
                tmp.unlink()

    def info(self):
        """Hits, misses, entries, bytes and discarded disk entries so far."""
        with self._lock:
            return CacheInfo(
                self._hits,
                self._misses,
                len(self._entries),
                self._nbytes,
                self.max_bytes,
                self._discarded,
            )

    def clear(self):
        """Drop every in-memory entry and reset the counters (disk is left alone)."""
        with self._lock:
            self._entries.clear()
            self._nbytes = 0
            self._hits = self._misses = self._discarded = 0


def _checksum(model_id, key, body):
    h = hashlib.blake2b(digest_size=_CHECKSUM_BYTES)
    h.update(repr((model_id, key)).encode())
    h.update(body)
    return h.digest()


def _encode(value, model_id, key):
    body = _HEADER.pack(_MAGIC, value.size) + value.astype("<f4").tobytes()
    return body + _checksum(model_id, key, body)


def _decode(data, model_id, key, width):
    """The embedding in ``data``, or None when anything about it is wrong."""
    if len(data) < _HEADER.size + _CHECKSUM_BYTES:
        return None
    magic, size = _HEADER.unpack_from(data)
    if magic != _MAGIC or not 0 < size <= _MAX_WIDTH or (width is not None and size != width):
        return None
    if len(data) != _HEADER.size + 4 * size + _CHECKSUM_BYTES:
        return None
    body, checksum = data[:-_CHECKSUM_BYTES], data[-_CHECKSUM_BYTES:]
    if _checksum(model_id, key, body) != checksum:
        return None
    value = np.frombuffer(body, dtype="<f4", offset=_HEADER.size).astype(np.float32)
    if not np.isfinite(value).all() or abs(float(np.linalg.norm(value)) - 1) > _NORM_TOLERANCE:
        return None
    return value


_SENTENCE = "sentence-"


def sentence_key(sentence):
    """The cache key of a sentence's embedding: a hash of its text. On disk, sentences
    live apart from images: ``MODEL/sentences/HASH.sentence``."""
    return _SENTENCE + _digest("sentence", sentence)


def warn_cache_write(error, cache_dir, what, stacklevel):
    """Warn that ``what`` could not be written to ``cache_dir`` (results unaffected)."""
    warnings.warn(
        CacheWriteWarning(
            f"{what} could not be written to cache_dir {os.fspath(cache_dir)!r} "
            f"({type(error).__name__}: {error}); the results are unaffected, "
            "but a new process will encode them again."
        ),
        stacklevel=stacklevel + 1,
    )


def _disk_path(cache_dir, model_id, key):
    if key.startswith(_SENTENCE):
        return Path(cache_dir) / _digest(model_id)[:16] / "sentences" / f"{key[len(_SENTENCE) :]}.sentence"
    return Path(cache_dir) / _digest(model_id)[:16] / key[:2] / f"{key}.emb"


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
