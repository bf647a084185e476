"""Scale out on Ray Data: classify or embed millions of images across machines.

:func:`predict_dataset` maps a :class:`~clip_fer.ZeroShotEmotionClassifier`, a
:class:`~clip_fer.FewShotEmotionClassifier` or a calibrated classifier over one, and
:func:`embed_dataset` the zero-shot estimator's ``embed``, over a ``ray.data.Dataset`` on a
pool of actors (one model per actor, GPUs when asked for), with the same
encoding loop and results as a local ``predict``. :func:`predict_to_parquet` and
:func:`embed_to_parquet` write the results as Parquet shards as they finish,
and a run started again on the same output skips what was written.

Needs the ``ray`` extra (``pip install 'clip-fer[ray]'``); Ray is imported on
first use, never by ``import clip_fer``. See ``docs/distributed.md``.
"""

from ._datasets import classes_of, embed_dataset, predict_dataset
from ._parquet import (
    ParquetRun,
    check_resumable,
    embed_to_parquet,
    predict_to_parquet,
    read_embeddings,
    written_keys,
)

__all__ = [
    "ParquetRun",
    "check_resumable",
    "classes_of",
    "embed_dataset",
    "embed_to_parquet",
    "predict_dataset",
    "predict_to_parquet",
    "read_embeddings",
    "written_keys",
]
