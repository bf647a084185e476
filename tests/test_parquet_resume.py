"""Resuming Parquet outputs: a replaced model, a damaged shard, an input with no path.

One local Ray cluster for the module, as in test_distributed.py.
"""

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import build_toy_clip, local_ray_cluster
from PIL import Image
from real_inputs import kind

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.distributed import _parquet, predict_to_parquet, read_embeddings, written_keys
from clip_fer.exceptions import (
    ClipFerError,
    DamagedShardWarning,
    ModelChangedError,
    SkippedImagesWarning,
)

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster():
    yield from local_ray_cluster()


@pytest.fixture(scope="module")
def paths(tmp_path_factory, face_arrays):
    folder = tmp_path_factory.mktemp("faces")
    for i, face in enumerate(face_arrays[:6]):
        Image.fromarray(face).save(folder / f"face{i}.png")
    return sorted(str(p) for p in folder.glob("*.png"))


def _replace_keeping_size_and_mtime(path, seed):
    """Write another model's weights over ``path`` in place, then restore its size and mtime."""
    before = os.stat(path)
    torch.save(build_toy_clip(seed=seed).state_dict(), path)
    assert os.stat(path).st_size == before.st_size  # same architecture, same file size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@kind(
    26,
    "(d) predict_to_parquet resumed after the checkpoint was replaced (size and mtime kept)",
    "refused before any work (differing: model_identity); the same weights at another path resume",
)
def test_resume_across_a_replaced_model_is_refused(cluster, tmp_path, paths):
    """(d) A manifest compared the model string only: a resume across a replaced
    checkpoint wrote one file holding two models' results."""
    checkpoint = tmp_path / "best.pt"
    torch.save(build_toy_clip(seed=0).state_dict(), checkpoint)
    clf = ZeroShotEmotionClassifier(str(checkpoint))
    out = tmp_path / "out.parquet"
    _parquet._prepare(out, _parquet._settings(clf, "predict", "path", "path", 3))  # a first run began
    _replace_keeping_size_and_mtime(checkpoint, seed=1)
    dataset = ray.data.from_items([{"path": p} for p in paths])  # lazy: refused before any work
    with pytest.raises(ClipFerError, match=r"other settings \(differing: model_identity\)"):
        predict_to_parquet(dataset, ZeroShotEmotionClassifier(str(checkpoint)), out)
    # A fitted estimator whose model was replaced since its fit is refused before any work too.
    fitted = ZeroShotEmotionClassifier(str(checkpoint)).fit()
    _replace_keeping_size_and_mtime(checkpoint, seed=0)
    with pytest.raises(ModelChangedError, match=r"fit\(\) again"):
        predict_to_parquet(dataset, fitted, tmp_path / "new.parquet")
    # The same weights at another path resume the same output (the path is not the model).
    moved = tmp_path / "moved.pt"
    shutil.copy(checkpoint, moved)
    assert _parquet._settings(ZeroShotEmotionClassifier(str(moved)), "predict", "path", "path", 3) == (
        _parquet._settings(clf, "predict", "path", "path", 3)
    )


def test_model_object_is_refused_before_any_work(cluster, tmp_path, paths, toy_checkpoint):
    from clip_fer import load_model
    from clip_fer.exceptions import InvalidParameterError

    dataset = ray.data.from_items([{"path": p} for p in paths])
    with pytest.raises(InvalidParameterError, match="model object .* name or a checkpoint path"):
        predict_to_parquet(dataset, ZeroShotEmotionClassifier(load_model(toy_checkpoint)), tmp_path / "o")


@kind(
    27,
    "an output whose shard was cut in half, resumed; written_keys and read_embeddings on it",
    "DamagedShardWarning naming it; set aside, its rows scored again, the output equal to the first run's; errors naming the shard and the fix",
)
def test_damaged_shard_is_set_aside_and_its_rows_redone(cluster, tmp_path, paths, toy_checkpoint):
    clf = ZeroShotEmotionClassifier(toy_checkpoint)
    out = tmp_path / "out.parquet"
    dataset = ray.data.from_items([{"path": p} for p in paths])
    first = predict_to_parquet(dataset, clf, out, rows_per_shard=2, batch_size=2)
    assert first.written == len(paths) and len(first.shards) == 3
    expected = pd.read_parquet(out).set_index("path").sort_index()
    damaged = Path(first.shards[1])
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # a crash mid-copy, a full disk

    with pytest.raises(ClipFerError, match=rf"shard {damaged.name!r} .* cannot be read.* again"):
        written_keys(out)
    with pytest.raises(ClipFerError, match=rf"shard {damaged.name!r}"):
        read_embeddings(out)
    with pytest.warns(DamagedShardWarning, match=rf"{damaged.name}.*set aside.*scored again"):
        second = predict_to_parquet(dataset, clf, out, rows_per_shard=2, batch_size=2)
    assert (second.already, second.written) == (4, 2)
    assert not damaged.exists() and (out / f".damaged-{damaged.name}").is_file()
    frame = pd.read_parquet(out).set_index("path").sort_index()
    pd.testing.assert_frame_equal(frame, expected)  # every input once, as the first run had it


@kind(
    27,
    "an input whose path is None, written alone, then resumed with another input",
    "one error row for it, kept once; the other input scored; the output reads as one table",
)
def test_an_input_with_no_path_is_written_and_resumed(cluster, tmp_path, paths, toy_checkpoint):
    clf = ZeroShotEmotionClassifier(toy_checkpoint, on_error="skip")
    out = tmp_path / "out.parquet"
    rows = [{"path": None}, {"path": paths[0]}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedImagesWarning)
        first = predict_to_parquet(ray.data.from_items(rows[:1]), clf, out)
        assert first.written == 1 and first.errors[0][0] is None
        second = predict_to_parquet(ray.data.from_items(rows), clf, out)
    assert (second.already, second.written) == (1, 1)
    assert sorted(written_keys(out), key=str) == sorted([None, paths[0]], key=str)  # keys read back
    frame = pd.read_parquet(out)
    assert len(frame) == 2 and frame["path"].isna().sum() == 1 and (frame["path"] == paths[0]).sum() == 1
    assert frame.loc[frame["path"].isna(), "label"].isna().all()
    assert frame.loc[frame["path"] == paths[0], "error"].isna().all()
    proba = [f"proba_{c}" for c in clf.fit().classes_]
    assert np.isfinite(frame.loc[frame["path"] == paths[0], proba].to_numpy(float)).all()


def test_an_output_without_a_model_identity_is_not_resumed(tmp_path, toy_checkpoint):
    import json

    clf = ZeroShotEmotionClassifier(toy_checkpoint)
    settings = _parquet._settings(clf, "predict", "path", "path", 3)
    old = json.loads(json.dumps(settings))
    del old["estimator"]["model_identity"]  # as clip-fer before issue 18 wrote it
    old["estimator"]["model"] = repr(toy_checkpoint)
    out = tmp_path / "old.parquet"
    out.mkdir()
    (out / _parquet.MANIFEST).write_text(json.dumps(old))
    with pytest.raises(ClipFerError, match="earlier clip-fer, which did not record the model's identity"):
        _parquet._prepare(out, settings)
