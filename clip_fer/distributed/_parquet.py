"""Resumable Parquet output: shards written atomically as they finish, keyed by input.

An output is a folder::

    OUT.parquet/
        _clip_fer.json                  what was computed, with which settings
        part-<run>-<n>.parquet          complete shards, one per finished batch of rows
        .part-<run>-<n>.parquet.tmp     a shard being written (removed on the next run)

A shard is written under a hidden temporary name and renamed when complete, so
every ``part-*.parquet`` holds whole rows. A run started again on the same
output reads the key column of the shards already there and scores only the
inputs they lack: no image is encoded twice, and each input ends up in exactly
one row. Parquet readers (pandas, pyarrow, Ray, Spark, DuckDB) skip names that
start with ``_`` or ``.``, so ``pandas.read_parquet("OUT.parquet")`` reads the rows.

The manifest holds the model's identity (a hash of its weights, config and
tokenizer, not its name): a run resumed after the checkpoint was replaced is
refused, whatever the file's name, size and time. A shard that cannot be read
(cut short outside clip-fer's atomic rename: a partial copy, a full disk) is
renamed ``.damaged-<name>`` with a :class:`DamagedShardWarning`, and its rows are
scored again.
"""

import hashlib
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._classifier import ZeroShotEmotionClassifier
from .._front import nested_estimators
from ..backends import LoadedModel, ModelReference, model_identity
from ..exceptions import ClipFerError, DamagedShardWarning, InvalidParameterError, ModelChangedError
from ..utils._json import strict_json
from ..utils._param_validation import check_int
from ._datasets import _check_estimator, embed_dataset, import_ray, predict_dataset

__all__ = [
    "ParquetRun",
    "check_resumable",
    "embed_to_parquet",
    "predict_to_parquet",
    "read_embeddings",
    "written_keys",
]

MANIFEST = "_clip_fer.json"
_SHARDS = "part-*.parquet"
_PARTIAL = ".part-*.parquet.tmp"
_DAMAGED = ".damaged-"
# Settings that change neither the numbers nor their meaning: a resumed run may change them.
# The model is compared by its identity (its content), not by the name or path it has.
_FREE = {
    "batch_size",
    "num_workers",
    "cache",
    "cache_dir",
    "verbose",
    "device",
    "download_root",
    "on_error",
    "model",
}


@dataclass(frozen=True)
class ParquetRun:
    """What one :func:`predict_to_parquet` or :func:`embed_to_parquet` call did.

    Attributes
    ----------
    output : str
        The output folder.
    written : int
        Rows this call wrote.
    already : int
        Rows the output held before this call (inputs it did not score again).
    errors : list of (key, str)
        Key and reason of each row this call wrote for an unreadable image.
    shards : list of str
        The shard files this call wrote.
    """

    output: str
    written: int
    already: int
    errors: list = field(default_factory=list)
    shards: list = field(default_factory=list)


def _shard_files(output):
    return sorted(Path(output).glob(_SHARDS))


def _unreadable():
    import pyarrow as pa

    # What reading a damaged file raises: ArrowInvalid (not a Parquet file, bad
    # metadata), OSError (ArrowIOError: cut short), and a key column it lacks.
    return (pa.ArrowException, OSError, KeyError)


def _shard_keys(shard, key):
    import pyarrow.parquet as pq

    return pq.ParquetFile(shard).read(columns=[key]).column(key).to_pylist()


def _damaged(shard, output, exc):
    return ClipFerError(
        f"The shard {shard.name!r} of the output {os.fspath(output)!r} cannot be read "
        f"({type(exc).__name__}: {' '.join(str(exc).split())}); it was cut short or "
        "damaged outside clip-fer (a partial copy, a full disk). Run predict_to_parquet "
        "or embed_to_parquet again on this output: it sets the shard aside and scores "
        "its rows again. Or delete the shard."
    )


def written_keys(output, key="path"):
    """The ``key`` values of every row in the complete shards of ``output``.

    Parameters
    ----------
    output : str or path-like
        An output folder of :func:`predict_to_parquet` or :func:`embed_to_parquet`;
        a missing folder holds nothing.
    key : str, default="path"

    Returns
    -------
    keys : list
        In shard order; only this column is read.

    Raises
    ------
    ClipFerError
        When a shard cannot be read, naming it and the fix (a resumed run sets
        it aside and scores its rows again).
    """
    keys = []
    for shard in _shard_files(output):
        try:
            keys.extend(_shard_keys(shard, key))
        except _unreadable() as exc:
            raise _damaged(shard, output, exc) from exc
    return keys


def _resume_keys(output, key):
    """:func:`written_keys`, setting every unreadable shard aside with a warning."""
    keys = []
    for shard in _shard_files(output):
        try:
            keys.extend(_shard_keys(shard, key))
        except _unreadable() as exc:
            aside = shard.with_name(f"{_DAMAGED}{shard.name}")
            os.replace(shard, aside)
            warnings.warn(
                DamagedShardWarning(
                    f"The shard {shard.name!r} of {os.fspath(output)!r} cannot be read "
                    f"({type(exc).__name__}); it was set aside as {aside.name!r} and its rows "
                    "will be scored again."
                ),
                stacklevel=4,
            )
    return keys


def _zero_shot(estimator):
    """The zero-shot estimator whose model encodes (``estimator`` itself, or the innermost)."""
    return next(c for c in nested_estimators(estimator) if isinstance(c, ZeroShotEmotionClassifier))


def _stable_repr(value):
    """``repr(value)`` without what changes from one process to the next: a function by
    its module and name (its repr holds its address, and a resumed run would be refused,
    such as for a Pipeline's ``FunctionTransformer(func=...)``), an estimator inside a
    list (a Pipeline's ``steps``) by its type (its parameters are listed on their own)."""
    if isinstance(value, (list, tuple)):
        inner = [_stable_repr(v) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(inner)}]"
        return f"({inner[0]},)" if len(inner) == 1 else f"({', '.join(inner)})"
    if hasattr(value, "get_params"):
        return f"<{type(value).__name__}>"
    if callable(value) and hasattr(value, "__qualname__") and not isinstance(value, type):
        return f"<function {getattr(value, '__module__', None)}.{value.__qualname__}>"
    return repr(value)


def _settings(estimator, mode, column, key, k):
    params = estimator.get_params(deep=True)
    fixed = {
        name: _stable_repr(value)
        for name, value in sorted(params.items())
        if name not in _FREE and not hasattr(value, "get_params")  # components: by their params
    }
    zero_shot = _zero_shot(estimator)
    # What the model is, from its files' bytes (hashed once per process while unchanged).
    fixed["model_identity"] = model_identity(zero_shot.model, zero_shot.download_root)
    if not isinstance(estimator, ZeroShotEmotionClassifier):
        # What was learned (shots, temperature) is no parameter: the fit's own bytes.
        from ray import cloudpickle  # as Ray sends it: a Pipeline step's lambda pickles too

        fixed["fitted"] = hashlib.sha256(cloudpickle.dumps(estimator, protocol=4)).hexdigest()
    settings = {"clip_fer": mode, "column": column, "key": key, "estimator": fixed}
    if mode == "predict":  # outputs of 0.1 had bare class columns: not resumable into these
        settings["columns"] = "label, labels, proba_<class>, error"
    if mode == "predict":
        settings["k"] = k
    return settings


def _check_manifest(out, settings):
    """Raise unless ``out`` is new or holds results made with ``settings``; whether it
    has a manifest."""
    if out.exists() and not out.is_dir():
        raise ClipFerError(
            f"The output {str(out)!r} is a file; give a folder name such as OUT.parquet "
            "(shards are written inside it)."
        )
    manifest = out / MANIFEST
    if manifest.is_file():
        found = json.loads(manifest.read_text())
        if "model_identity" not in found.get("estimator", {}):
            raise ClipFerError(
                f"The output {str(out)!r} was written by an earlier clip-fer, which did not "
                "record the model's identity (a hash of its weights), so it cannot tell whether "
                "the model is the same; write to a new output."
            )
        if found != settings:
            changed = _differences(found, settings)
            raise ClipFerError(
                f"The output {str(out)!r} holds results made with other settings "
                f"(differing: {', '.join(changed)}). Resume it with the same settings, or "
                "write to a new output."
            )
        return True
    if out.is_dir() and any(out.iterdir()):
        raise ClipFerError(
            f"The output {str(out)!r} is a folder that clip-fer did not write (no "
            f"{MANIFEST}); give a new or empty folder."
        )
    return False


def check_resumable(output, estimator, *, column="path", key=None, k=3, abstain_below=None):
    """The keys :func:`predict_to_parquet` would skip, checked without starting Ray.

    Raises as :func:`predict_to_parquet` does when ``output`` holds results made
    with other settings (or is not clip-fer's), so that a caller can tell that
    nothing is left to score, and say so, before starting a cluster.

    Parameters
    ----------
    output : str or path-like
    estimator : ZeroShotEmotionClassifier
        Fitted, as :func:`predict_to_parquet` takes it.
    column, key, k, abstain_below
        As :func:`predict_to_parquet` takes them.

    Returns
    -------
    keys : list
        The ``key`` of every row written (empty for a new output).

    Raises
    ------
    ClipFerError
        The output holds other settings, is a file, or is a folder clip-fer did
        not write.
    """
    key = column if key is None else key
    out = Path(output)
    if not _check_manifest(out, _run_settings(estimator, "predict", column, key, k, abstain_below)):
        return []
    return written_keys(out, key)


def _run_settings(estimator, mode, column, key, k, abstain_below):
    """What a run's manifest holds: the estimator's settings, and the threshold when one
    was given (it changes the labels; absent, the manifest is as before)."""
    settings = _settings(estimator, mode, column, key, k)
    if abstain_below is not None:
        settings["abstain_below"] = float(abstain_below)
    return settings


def _prepare(output, settings):
    """Check ``output`` against ``settings``, write its manifest, drop partial shards."""
    out = Path(output)
    manifest = out / MANIFEST
    if not _check_manifest(out, settings):
        out.mkdir(parents=True, exist_ok=True)
        _replace_atomically(manifest, lambda tmp: tmp.write_text(strict_json(settings, indent=1)))
    for partial in out.glob(_PARTIAL):
        partial.unlink()  # a shard a stopped run was writing: its rows are not done
    return out


def _differences(found, settings):
    def flat(s):
        return {**{n: v for n, v in s.items() if n != "estimator"}, **s.get("estimator", {})}

    a, b = flat(found), flat(settings)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def _replace_atomically(path, write):
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_shard(table, path):
    import pyarrow.parquet as pq

    _replace_atomically(path, lambda tmp: pq.write_table(table, tmp))


def _drop_written(batch, key, written):
    import pyarrow as pa
    import pyarrow.compute as pc

    column = batch.column(key)
    if pa.types.is_null(column.type):  # a batch whose keys are all missing
        column = column.cast(pa.string())
    # Keys as the batch types them; a missing key (None) matches a written missing key.
    value_set = pa.array(written, type=column.type) if written else pa.array([], type=column.type)
    return batch.filter(pc.invert(pc.is_in(column, value_set=value_set, skip_nulls=False)))


def _typed_key(table, key):
    """A key column with no value in this shard is typed null by Arrow; it is written as
    strings, like the other shards' keys, so the output reads as one table."""
    import pyarrow as pa

    index = table.schema.get_field_index(key)
    if index >= 0 and pa.types.is_null(table.schema.field(index).type):
        table = table.set_column(index, key, table.column(key).cast(pa.string()))
    return table


def _check_model(estimator, owner):
    """A model object cannot reach Ray's actors; a fitted estimator's model must be the one
    it was fitted with."""
    estimator = _zero_shot(estimator)
    if isinstance(estimator.model, (LoadedModel, ModelReference)):
        raise InvalidParameterError(
            f"The estimator given to {owner} holds a model object ({estimator.model!r}); Ray's "
            "actors load the model in their own processes, and a model object travels without "
            "its weights. Give the estimator a model name or a checkpoint path."
        )
    fitted = getattr(estimator, "model_identity_", None)
    if fitted is not None and model_identity(estimator.model, estimator.download_root) != fitted:
        raise ModelChangedError(
            f"The model {os.fspath(estimator.model)!r} is no longer the one the estimator "
            f"given to {owner} was fitted with (its weights, config or tokenizer changed). Call "
            "fit() again to use the new model, or restore the old files."
        )


def _to_parquet(
    mode, dataset, estimator, output, *, column, key, k, rows_per_shard, progress, total, **options
):
    from tqdm.auto import tqdm

    import_ray()
    owner = f"{mode}_to_parquet"
    _check_estimator(estimator, owner, mode)
    rows_per_shard = check_int(rows_per_shard, "rows_per_shard", owner, 1)
    key = column if key is None else key
    if not isinstance(key, str):
        raise InvalidParameterError(
            f"The 'key' parameter of {owner} must be a column name. Got {key!r} instead."
        )
    _check_model(estimator, owner)
    settings = _run_settings(estimator, mode, column, key, k, options.get("abstain_below"))
    out = _prepare(output, settings)
    done = _resume_keys(out, key)
    if done:
        dataset = dataset.map_batches(
            _drop_written, batch_format="pyarrow", fn_kwargs={"key": key, "written": done}
        )
    if mode == "predict":
        results = predict_dataset(dataset, estimator, column=column, key=key, k=k, **options)
    else:
        results = embed_dataset(dataset, estimator, column=column, key=key, **options)
    if column != key:
        results = results.drop_columns([column])  # the images themselves stay where they are

    run = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    shards, errors, written = [], [], 0
    bar = tqdm(total=total, unit="img", desc="Scoring images", disable=not progress)
    with bar:
        batches = results.iter_batches(batch_size=rows_per_shard, batch_format="pyarrow")
        for table in batches:
            if table.num_rows == 0:
                continue
            table = _typed_key(table, key)
            path = out / f"part-{run}-{len(shards):06d}.parquet"
            _write_shard(table, path)
            shards.append(str(path))
            written += table.num_rows
            if table.column("error").null_count < table.num_rows:
                keys, reasons = table.column(key).to_pylist(), table.column("error").to_pylist()
                errors.extend((k_, r) for k_, r in zip(keys, reasons) if r is not None)
            bar.update(table.num_rows)
    return ParquetRun(str(out), written, len(done), errors, shards)


def predict_to_parquet(
    dataset,
    estimator,
    output,
    *,
    column="path",
    key=None,
    k=3,
    rows_per_shard=1024,
    progress=False,
    total=None,
    **options,
):
    """Classify a Ray Dataset into Parquet shards, resuming what a stopped run began.

    Parameters
    ----------
    dataset : ray.data.Dataset
        One row per image; the ``key`` values must be unique (file paths are).
    estimator : classifier of images
        As in :func:`predict_dataset`.
    output : str or path-like
        A folder (e.g. ``"predictions.parquet"``), created if needed. If it holds
        shards of an earlier run with the same settings, the inputs whose key is
        in them are not scored again. Settings that change results (model,
        precision, prompt bank, folder, decider, ``k``, ``abstain_below``, and for
        a classifier other than the zero-shot estimator what its fit learned,
        by the bytes of its pickle, ...) must match; device,
        batch sizes and ``on_error`` may change.
    column : str, default="path"
        The column holding the images (paths, or decoded images).
    key : str, default=None
        The column identifying an input across runs; None is ``column``, which
        must then hold paths. With decoded images, use their path column, e.g.
        ``ray.data.read_images(..., include_paths=True)`` with ``column="image",
        key="path"``; the image column is then left out of the output.
    k : int, default=3
        Classes in ``labels``.
    rows_per_shard : int, default=1024
        Rows per Parquet file; a shard is written as soon as it is complete.
    progress : bool, default=False
        Show a progress bar of the rows written.
    total : int, default=None
        The number of rows the progress bar counts to (those not written yet),
        when the caller knows it; None shows a count without a total.
    **options
        ``batch_size``, ``concurrency``, ``num_gpus``, ``num_cpus``,
        ``abstain_below`` of :func:`predict_dataset`.

    Returns
    -------
    run : ParquetRun
        How many rows were written, and which failed (with ``on_error="skip"``).

    Notes
    -----
    Two runs must not write to the same output at the same time. Rows of
    unreadable images are results too: a resumed run does not retry them.
    """
    return _to_parquet(
        "predict",
        dataset,
        estimator,
        output,
        column=column,
        key=key,
        k=k,
        rows_per_shard=rows_per_shard,
        progress=progress,
        total=total,
        **options,
    )


def embed_to_parquet(
    dataset,
    estimator,
    output,
    *,
    column="path",
    key=None,
    rows_per_shard=1024,
    progress=False,
    total=None,
    **options,
):
    """Image embeddings of a Ray Dataset into Parquet shards, resumably.

    As :func:`predict_to_parquet` (``total`` included), with the columns of
    :func:`embed_dataset` (``embedding``, ``error``). Read them back with
    :func:`read_embeddings`.
    """
    return _to_parquet(
        "embed",
        dataset,
        estimator,
        output,
        column=column,
        key=key,
        k=None,
        rows_per_shard=rows_per_shard,
        progress=progress,
        total=total,
        **options,
    )


def read_embeddings(output, *, key="path", column="embedding"):
    """The embeddings of an :func:`embed_to_parquet` output as arrays.

    Parameters
    ----------
    output : str or path-like
        The output folder (or a single Parquet file).
    key : str, default="path"
    column : str, default="embedding"

    Returns
    -------
    keys : ndarray of object, shape (n_rows,)
    embeddings : ndarray of float32, shape (n_rows, dim)
        Rows of skipped images are NaN. Accepted as ``X`` by an estimator with
        ``precomputed=True`` (and ``on_error="skip"`` when there are NaN rows).
    """
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(output, columns=[key, column])
    except _unreadable() as exc:
        for shard in _shard_files(output) if Path(output).is_dir() else []:
            try:
                pq.ParquetFile(shard).read(columns=[key, column])
            except _unreadable() as shard_exc:
                raise _damaged(shard, output, shard_exc) from exc
        raise
    vectors = table.column(column).combine_chunks()
    dim = vectors.type.list_size
    flat = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return np.asarray(table.column(key).to_pylist(), dtype=object), flat.reshape(-1, dim)
