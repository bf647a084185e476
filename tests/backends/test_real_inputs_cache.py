"""Issue 10, caches: files replaced behind the cache, damaged cache files, and a
cache_dir that cannot be used. Every outcome is compared with an uncached run."""

import os
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image
from real_inputs import kind

from clip_fer import ZeroShotEmotionClassifier, embedding_cache
from clip_fer.exceptions import CacheWriteWarning, InvalidParameterError


@pytest.fixture
def fresh(toy_checkpoint):
    """Embeddings computed with no cache at all: the reference."""
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()
    return clf.embed


def _counting(clf, monkeypatch):
    model = clf._loaded_model().model
    original, counter = model.encode_image, {"images": 0}

    def counting(pixels):
        counter["images"] += len(pixels)
        return original(pixels)

    monkeypatch.setattr(model, "encode_image", counting)
    return counter


def _bmp(face, path):
    Image.fromarray(face).save(path, format="BMP")  # same dims -> same byte size
    return path


# 2. A file replaced behind the cache ---------------------------------------------------


def _cp_p(source, target):
    shutil.copy2(source, target)  # cp -p: content, then the source's times


def _rsync_t(source, target):
    # rsync -t: a temporary file renamed over the target, given the source's mtime.
    tmp = target.with_name(".tmp-" + target.name)
    shutil.copyfile(source, tmp)
    stat = os.stat(source)
    os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(tmp, target)


def _tar_like(source, target):
    # tar x / a restored backup: the bytes written in place, then the old mtime put back.
    old = os.stat(target)
    target.write_bytes(source.read_bytes())
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))


@kind(
    2,
    "a photo replaced by another of the same size and mtime (cp -p, rsync -t, tar-style restore)",
    "the new photo's embedding, in memory and from cache_dir",
)
@pytest.mark.parametrize("replace", [_cp_p, _rsync_t, _tar_like], ids=["cp -p", "rsync -t", "tar"])
@pytest.mark.parametrize("where", ["memory", "cache_dir"])
def test_replaced_file_gets_its_own_embedding(toy_checkpoint, fresh, face_arrays, tmp_path, replace, where):
    photo = _bmp(face_arrays[0], tmp_path / "photo.bmp")
    (tmp_path / "incoming").mkdir()
    other = _bmp(face_arrays[5], tmp_path / "incoming" / "photo.bmp")
    stat = os.stat(photo)
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    assert os.path.getsize(other) == stat.st_size
    cache_dir = tmp_path / "emb" if where == "cache_dir" else None
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=cache_dir).fit()
    before = clf.embed([str(photo)])
    replace(other, photo)
    assert os.stat(photo).st_mtime_ns == stat.st_mtime_ns and os.stat(photo).st_size == stat.st_size
    if where == "cache_dir":
        embedding_cache.clear()  # a new process
    after = clf.embed([str(photo)])
    np.testing.assert_allclose(after, fresh([face_arrays[5]]), atol=1e-6)
    assert not np.allclose(after, before)


class _ReplacedWhenRead(list):
    """One path whose file is replaced by another photo when the encoding loop reads
    it, after the cache has keyed it: a file synced or overwritten during a run."""

    def __init__(self, path, replacement):
        super().__init__([str(path)])
        self.path, self.replacement = path, replacement

    def __getitem__(self, index):  # the loop reads images[i]; keying iterates
        shutil.copyfile(self.replacement, self.path)
        return super().__getitem__(index)


@pytest.mark.parametrize("where", ["memory", "cache_dir"])
def test_file_replaced_during_a_run_does_not_poison_the_cache(
    toy_checkpoint, fresh, face_arrays, tmp_path, where
):
    old = _bmp(face_arrays[0], tmp_path / "old.bmp")
    photo = tmp_path / "photo.bmp"
    shutil.copyfile(old, photo)
    new = _bmp(face_arrays[5], tmp_path / "new.bmp")
    cache_dir = tmp_path / "emb" if where == "cache_dir" else None
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=cache_dir).fit()
    during = clf.embed(_ReplacedWhenRead(photo, new))
    np.testing.assert_allclose(during, fresh([face_arrays[5]]), atol=1e-6)  # what was read
    if where == "cache_dir":
        embedding_cache.clear()  # a new process
    # The old photo's bytes were keyed, the new photo's pixels encoded: storing that
    # pair would give every later copy of the old photo the new photo's embedding.
    np.testing.assert_allclose(clf.embed([str(old)]), fresh([face_arrays[0]]), atol=1e-6)


@kind(
    2,
    "two P-mode images with equal pixels and different palettes",
    "two embeddings (the palette is part of the key)",
)
def test_palette_is_part_of_the_key(toy_checkpoint, fresh, face_arrays):
    a = Image.fromarray(face_arrays[0]).convert("P")
    b = a.copy()
    b.putpalette([255 - v for v in a.getpalette()])
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    clf.embed([a])  # cached first
    np.testing.assert_allclose(clf.embed([b]), fresh([b]), atol=1e-6)
    assert not np.allclose(fresh([a]), fresh([b]))


# 3. Damaged cache files -------------------------------------------------------------------


def _entries(cache_dir):
    return sorted(p for p in cache_dir.rglob("*") if p.parent.parent.parent == cache_dir)


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _npy(value):
    def write(path):
        with open(path, "wb") as file:
            np.save(file, value(np.zeros(32, np.float32)))

    return write


def _folder(path):
    path.unlink()
    path.mkdir()


DAMAGES = {
    "flipped byte": _flip,
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_bytes(b"not an embedding"),
    "wrong shape (.npy of 16)": _npy(lambda z: np.ones(16, np.float32) / 4),
    "all NaN (.npy)": _npy(lambda z: np.full(32, np.nan, np.float32)),
    "float64, norm 5 (.npy)": _npy(lambda z: np.full(32, 5 / np.sqrt(32), np.float64)),
    "a folder in its place": _folder,
}


@kind(
    3,
    "cache_dir entries damaged: " + ", ".join(DAMAGES),
    "discarded and encoded again: results equal an uncached run, no error",
)
@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_damaged_entries_are_encoded_again(
    toy_checkpoint, fresh, face_arrays, tmp_path, monkeypatch, damage, on_error
):
    cache_dir = tmp_path / "emb"
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=cache_dir, on_error=on_error).fit()
    clf.embed(face_arrays[:4])
    entries = _entries(cache_dir)
    assert len(entries) == 4
    for entry in entries[:2]:
        DAMAGES[damage](entry)
    embedding_cache.clear()  # a new process
    counter = _counting(clf, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWriteWarning)  # a folder in its place cannot be replaced
        got = clf.embed(face_arrays[:4])
        labels = clf.predict(face_arrays[:4])
    assert counter["images"] == 2  # the two damaged entries, and only them
    np.testing.assert_allclose(got, fresh(face_arrays[:4]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert all(label is not None for label in labels)


@kind(
    3,
    "entries with a valid checksum but another width, NaN, or norm 5",
    "discarded by the shape, finite and norm checks",
)
@pytest.mark.parametrize(
    "value",
    [np.ones(16) / 4, np.full(32, np.nan), np.full(32, 5 / np.sqrt(32))],
    ids=["width 16", "NaN", "norm 5"],
)
def test_checksummed_but_wrong_entries_are_discarded(toy_checkpoint, fresh, face_arrays, tmp_path, value):
    from clip_fer.backends._cache import _encode

    cache_dir = tmp_path / "emb"
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=cache_dir).fit()
    clf.embed(face_arrays[:1])
    (entry,) = _entries(cache_dir)
    key = entry.stem
    entry.write_bytes(_encode(np.asarray(value, np.float32), clf._loaded_model().identity, key))
    embedding_cache.clear()
    np.testing.assert_allclose(clf.embed(face_arrays[:1]), fresh(face_arrays[:1]), atol=1e-6)
    assert embedding_cache.info().discarded == 1


# 4. A cache_dir that cannot be used --------------------------------------------------------


@kind(4, "cache_dir=123, b'emb', '', a path to a file", "InvalidParameterError at fit, naming the parameter")
@pytest.mark.parametrize(
    "value, match",
    [
        (
            123,
            r"The 'cache_dir' parameter of ZeroShotEmotionClassifier must be None or a folder path \(str or path-like\). Got 123 instead",
        ),
        (b"emb", r"must be None or a folder path .*Got b'emb' instead"),
        ("", r"must be None or a non-empty folder path. Got '' instead"),
        ("FILE", r"must be a folder. Got '.*notes.txt', which is a file, instead"),
    ],
    ids=["int", "bytes", "empty string", "a file"],
)
def test_cache_dir_is_checked_in_fit(toy_checkpoint, tmp_path, value, match):
    if value == "FILE":
        value = tmp_path / "notes.txt"
        value.write_text("hello")
    with pytest.raises(InvalidParameterError, match=match):
        ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=value).fit()


def _below_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    return tmp_path / "notes.txt" / "emb"  # mkdir: NotADirectoryError


def _disk_full(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    return tmp_path / "emb"


@kind(
    4,
    "a cache_dir under a file, a full disk (write raises ENOSPC)",
    "one CacheWriteWarning; results equal an uncached run, under raise and skip",
)
@pytest.mark.parametrize("make", ["under a file", "disk full"])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_unwritable_cache_dir_is_one_warning(
    toy_checkpoint, fresh, face_arrays, tmp_path, monkeypatch, make, on_error
):
    cache_dir = _below_a_file(tmp_path) if make == "under a file" else _disk_full(tmp_path, monkeypatch)
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, cache_dir=cache_dir, on_error=on_error, batch_size=4
    ).fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = clf.embed(face_arrays)
    assert [type(w.message) for w in caught] == [CacheWriteWarning]
    assert "could not be written to cache_dir" in str(caught[0].message)
    np.testing.assert_allclose(got, fresh(face_arrays), atol=1e-6)
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind
