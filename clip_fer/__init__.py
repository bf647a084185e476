"""clip-fer: zero-shot facial emotion recognition with CLIP-family models.

The estimator :class:`ZeroShotEmotionClassifier` scores images against sentences
made from templates x synonyms (:class:`PromptBank`), folds synonym scores into
classes (:class:`SynonymFolder`) and decides a ranking by per-rank vote across
templates (:class:`RankVoteDecider`) or by averaging (:class:`MeanProbaDecider`).

The package is laid out by what each part does:

- the estimator core (this package): the classifier, prompt banks, folding,
  deciders, :mod:`clip_fer.scoring` (the scoring core every prediction goes
  through), :mod:`clip_fer.datasets`, :mod:`clip_fer.metrics` and
  :mod:`clip_fer.plotting` (figures for notebooks);
- :mod:`clip_fer.backends`: loading models, reading images, the encoding loop,
  quantisation and the embedding caches;
- :mod:`clip_fer.faces`: face detection, cropping and drawing (the ``faces`` extra);
- :mod:`clip_fer.experiments`: the report's experiment, benchmarks of models x banks x
  data sets, and their tables and figures;
- :mod:`clip_fer.distributed`: scoring on Ray Data across machines (the ``ray`` extra);
- :mod:`clip_fer.cli`: the ``clip-fer`` command, one module per command.

Names are imported on first use (PEP 562), so ``import clip_fer`` is fast and
does not import torch until a model is needed.
"""

import importlib

from .utils import _fork  # noqa: F401  (registers the fork guard: a forked child runs torch on one thread)

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "BUILTIN_BANKS": "._bank_io",
    "load_prompt_bank": "._bank_io",
    "save_prompt_bank": "._bank_io",
    "load_classifier": "._persistence",
    "save_classifier": "._persistence",
    "ZeroShotEmotionClassifier": "._classifier",
    "FewShotEmotionClassifier": "._few_shot",
    "Decision": "._deciders",
    "MeanProbaDecider": "._deciders",
    "RankVoteDecider": "._deciders",
    "SynonymFolder": "._folding",
    "ScoringCore": ".scoring",
    "PromptBank": "._prompt_bank",
    "PredictionRecord": "._records",
    "FER2013_CLASSES": "._vocabularies",
    "CacheInfo": ".backends._cache",
    "EmbeddingCache": ".backends._cache",
    "clear_embedding_cache": ".backends._cache",
    "embedding_cache": ".backends._cache",
    "clear_model_cache": ".backends._loading",
    "load_model": ".backends._loading",
    "register_family": ".backends._families",
    "BlazeFaceDetector": ".faces._detectors",
    "FaceCropper": ".faces._cropping",
    "faces_to_frame": ".faces._cropping",
    "predict_faces": ".faces._cropping",
    "analyze": ".faces._analyze",
    "draw_faces": ".faces._drawing",
    "EmotionSmoother": ".video._smoothing",
    "IoUTracker": ".video._tracking",
    "iter_video_faces": ".video._predict",
    "predict_video": ".video._predict",
    "read_frames": ".video._reader",
    "BenchmarkResult": ".experiments._benchmark",
    "ExperimentResult": ".experiments._experiment",
    "report_experiment_banks": ".experiments._experiment",
    "report_experiment_configurations": ".experiments._experiment",
    "run_benchmark": ".experiments._benchmark",
    "run_experiment": ".experiments._experiment",
    "sample_prompt_banks": ".experiments._experiment",
    "search_results_frame": ".experiments._search",
    "search_scoring": ".experiments._search",
    "CacheWriteWarning": ".exceptions",
    "ClassifierFileError": ".exceptions",
    "ClipFerDeprecationWarning": ".exceptions",
    "ClipFerError": ".exceptions",
    "ComponentContractError": ".exceptions",
    "DatasetError": ".exceptions",
    "ImageInputError": ".exceptions",
    "InvalidParameterError": ".exceptions",
    "MissingDependencyError": ".exceptions",
    "ModelLoadError": ".exceptions",
    "ModelChangedError": ".exceptions",
    "DamagedShardWarning": ".exceptions",
    "MultiFrameWarning": ".exceptions",
    "PromptBankError": ".exceptions",
    "SkippedImagesWarning": ".exceptions",
    "VideoInputError": ".exceptions",
}
_SUBMODULES = (
    "backends",
    "cli",
    "datasets",
    "distributed",
    "exceptions",
    "experiments",
    "faces",
    "metrics",
    "plotting",
    "scoring",
    "video",
)

__all__ = sorted([*_EXPORTS, "datasets", "metrics", "plotting", "scoring"])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})
