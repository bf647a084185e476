"""A model is its content, not its path: checkpoints replaced under the same name.

Issue 18, item 1: (a) replaced between fit and predict in one process; (b) a
pickled estimator meeting other weights in a new process; (c) a shared cache_dir
after a replacement that restores size and mtime; (e) an open_clip config edited
in place under the same architecture name. (d), the Parquet manifest, is in
tests/test_parquet_resume.py.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_toy_clip
from real_inputs import kind

from clip_fer import (
    ZeroShotEmotionClassifier,
    clear_embedding_cache,
    clear_model_cache,
    load_model,
)
from clip_fer.backends import model_identity
from clip_fer.backends._identity import clear_identity_memo
from clip_fer.exceptions import ModelChangedError

TESTS = Path(__file__).resolve().parents[1]


def _save(path, seed):
    torch.save(build_toy_clip(seed=seed).state_dict(), path)


def _overwrite_keeping_stat(path, seed):
    """Another model's weights written over ``path`` in place (same inode), with its
    size and modification time restored, as ``cp -p`` or ``rsync -t --inplace`` leave it."""
    before = os.stat(path)
    _save(path, seed)
    after = os.stat(path)
    assert (after.st_size, after.st_ino) == (before.st_size, before.st_ino)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def _reference_proba(seed, images, tmp_path):
    """What a fresh estimator on a fresh copy of model ``seed`` predicts."""
    path = tmp_path / f"reference-{seed}.pt"
    _save(path, seed)
    return ZeroShotEmotionClassifier(str(path), cache=False).fit().predict_proba(images)


@kind(
    26,
    "(a) a checkpoint rewritten between fit and predict, with a new stat or its size and mtime restored",
    "ModelChangedError from predict, predict_proba, decide and embed; fit() again gives the new model's answers",
)
@pytest.mark.parametrize("keep_stat", [False, True], ids=["new-stat", "size-and-mtime-restored"])
def test_a_replaced_checkpoint_between_fit_and_predict_is_refused(tmp_path, face_arrays, keep_stat):
    """(a) The text features of the old model met the new image tower, silently."""
    path = tmp_path / "best.pt"
    _save(path, 0)
    clf = ZeroShotEmotionClassifier(str(path)).fit()
    before = clf.predict_proba(face_arrays)
    np.testing.assert_allclose(before, _reference_proba(0, face_arrays, tmp_path), atol=1e-6)
    if keep_stat:
        _overwrite_keeping_stat(path, 1)
    else:
        _save(path, 1)
    for method in (clf.predict, clf.predict_proba, clf.decide, clf.embed):
        with pytest.raises(ModelChangedError, match=r"no longer the one .* Call fit\(\) again"):
            method(face_arrays)
    clf.fit()  # the documented fix: the prompts are encoded by the new model
    np.testing.assert_allclose(
        clf.predict_proba(face_arrays), _reference_proba(1, face_arrays, tmp_path), atol=1e-6
    )


@kind(26, "the same checkpoint copied to another path", "one model in memory; the fitted estimator predicts")
def test_the_same_weights_under_another_name_are_the_same_model(tmp_path, face_arrays):
    path, copy = tmp_path / "a.pt", tmp_path / "b.pt"
    _save(path, 0)
    shutil.copy(path, copy)
    assert load_model(str(path)) is load_model(str(copy))  # one model in memory
    clf = ZeroShotEmotionClassifier(str(path)).fit()
    clf.set_params(model=str(copy)).predict(face_arrays)  # moved checkpoint: no refit needed
    assert model_identity(str(path)) == clf.model_identity_


@kind(
    26,
    "(b) a pickled estimator loaded in a new process after its checkpoint was replaced (size and mtime kept)",
    "ModelChangedError saying fit() again (in a new process); the unreplaced checkpoint predicts as before",
)
def test_a_pickled_estimator_meeting_other_weights_in_a_new_process_is_refused(tmp_path, face_arrays):
    """(b) A pickled estimator loaded in a new process mixed the two models."""
    path = tmp_path / "best.pt"
    _save(path, 0)
    clf = ZeroShotEmotionClassifier(str(path)).fit()
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "faces.npy", np.stack(face_arrays))
    script = (
        "import pickle, sys, numpy as np\n"
        "from clip_fer.exceptions import ModelChangedError\n"
        "clf = pickle.load(open(sys.argv[1], 'rb'))\n"
        "faces = list(np.load(sys.argv[2]))\n"
        "try:\n"
        "    print('labels', list(clf.predict(faces)))\n"
        "except ModelChangedError as exc:\n"
        "    print('refused', exc)\n"
    )
    # The same weights: the pickle predicts as before (in this process, to save a start-up).
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict(face_arrays), clf.predict(face_arrays)
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)])}
    command = [sys.executable, "-c", script, str(tmp_path / "clf.pkl"), str(tmp_path / "faces.npy")]
    _overwrite_keeping_stat(path, 1)
    replaced = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    assert replaced.startswith("refused") and "fit() again" in replaced


@kind(
    26,
    "(c) a shared cache_dir after the checkpoint was replaced with its size and mtime restored, new process",
    "the new model's embeddings, not the cached old ones",
)
def test_a_shared_cache_dir_does_not_return_the_old_models_embeddings(tmp_path, face_arrays):
    """(c) Size and mtime restored (tar, rsync -t): the cache_dir returned the old embeddings."""
    path, cache_dir = tmp_path / "best.pt", tmp_path / "cache"
    _save(path, 0)
    old = ZeroShotEmotionClassifier(str(path), cache_dir=cache_dir).fit().embed(face_arrays)
    assert any(cache_dir.rglob("*.emb"))
    _overwrite_keeping_stat(path, 1)
    # A new process: nothing in memory, nothing memoised.
    clear_model_cache()
    clear_embedding_cache()
    clear_identity_memo()
    new = ZeroShotEmotionClassifier(str(path), cache_dir=cache_dir).fit().embed(face_arrays)
    reference = tmp_path / "reference.pt"
    _save(reference, 1)
    expected = ZeroShotEmotionClassifier(str(reference), cache=False).fit().embed(face_arrays)
    np.testing.assert_allclose(new, expected, atol=1e-6)
    assert not np.allclose(new, old, atol=1e-3)


@pytest.fixture
def open_clip_config(tmp_path):
    """A toy open_clip architecture registered from a JSON file in tmp_path, and its weights."""
    open_clip = pytest.importorskip("open_clip")
    from toy_families import OPEN_CLIP_CONFIGS

    name = f"ClipFerEdited-{tmp_path.name}"  # unique: open_clip's registry is process-wide
    folder = tmp_path / "configs"
    folder.mkdir()
    config = json.loads(json.dumps(OPEN_CLIP_CONFIGS["ClipFerToy-ViT"]))
    (folder / f"{name}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder)
    torch.manual_seed(0)
    weights = tmp_path / "weights.pt"
    torch.save(open_clip.create_model(name).state_dict(), weights)
    return open_clip, name, folder, config, weights


@kind(
    26,
    "(e) an open_clip config edited in place and registered again under the same architecture name",
    "the edited model's embeddings (open_clip's own as reference), not the cached ones; the old fit refused",
)
def test_an_open_clip_config_edited_in_place_is_another_model(open_clip_config, tmp_path, face_arrays):
    """(e) The cache returned the old config's embeddings for the edited architecture."""
    from PIL import Image

    open_clip, name, folder, config, weights = open_clip_config
    model = f"open_clip:{name}/{weights}"
    cache_dir = tmp_path / "cache"
    clf = ZeroShotEmotionClassifier(model, cache_dir=cache_dir).fit()
    old = clf.embed(face_arrays)

    config["vision_cfg"]["pool_type"] = "avg"  # same weights, same name: pools all tokens
    (folder / f"{name}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder)  # as a new process reading the folder would
    with pytest.raises(ModelChangedError):
        clf.predict(face_arrays)
    new = ZeroShotEmotionClassifier(model, cache_dir=cache_dir).fit().embed(face_arrays)

    reference, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(weights))
    with torch.no_grad():
        pixels = torch.stack([preprocess(Image.fromarray(face).convert("RGB")) for face in face_arrays])
        expected = torch.nn.functional.normalize(reference.eval().encode_image(pixels), dim=-1).numpy()
    np.testing.assert_allclose(new, expected, atol=1e-5)
    assert not np.allclose(new, old, atol=1e-3)


def test_identity_is_hashed_once_while_the_stat_is_unchanged(tmp_path, monkeypatch):
    from clip_fer.backends import _identity

    path = tmp_path / "best.pt"
    _save(path, 0)
    reads = []
    original = _identity.hash_file
    monkeypatch.setattr(_identity, "hash_file", lambda p, size=20: reads.append(p) or original(p, size))
    first = model_identity(str(path))
    assert model_identity(str(path)) == first and len(reads) == 1  # the stat says unchanged
    _overwrite_keeping_stat(path, 1)  # only the change time tells
    assert model_identity(str(path)) != first and len(reads) == 2
