"""clip-fer: zero-shot facial emotion recognition with OpenAI's CLIP.

The estimator :class:`ZeroShotEmotionClassifier` scores images against sentences
made from templates x synonyms (:class:`PromptBank`), folds synonym scores into
classes (:class:`SynonymFolder`) and decides a ranking by per-rank vote across
templates (:class:`RankVoteDecider`) or by averaging (:class:`MeanProbaDecider`).

:mod:`clip_fer.datasets` loads FER2013 (Kaggle CSV or image folders) and folders of
labelled faces; :mod:`clip_fer.metrics` scores ranked predictions;
:func:`run_experiment` compares prompt configurations as the report did.
For photos of people, :func:`predict_faces` finds each face (:class:`FaceCropper`,
:class:`BlazeFaceDetector`) and classifies it; :func:`draw_faces` draws the result.
"""

from . import datasets, metrics
from ._cache import CacheInfo, EmbeddingCache, clear_embedding_cache, embedding_cache
from ._bank_io import BUILTIN_BANKS, load_prompt_bank, save_prompt_bank
from ._classifier import ZeroShotEmotionClassifier
from ._deciders import Decision, MeanProbaDecider, RankVoteDecider
from ._detectors import BlazeFaceDetector
from ._drawing import draw_faces
from ._experiment import (
    ExperimentResult,
    report_experiment_banks,
    report_experiment_configurations,
    run_experiment,
    sample_prompt_banks,
)
from ._faces import FaceCropper, faces_to_frame, predict_faces
from ._folding import SynonymFolder
from ._model import clear_model_cache, load_model
from ._prompt_bank import PromptBank
from ._vocabularies import FER2013_CLASSES

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_BANKS",
    "BlazeFaceDetector",
    "CacheInfo",
    "EmbeddingCache",
    "clear_embedding_cache",
    "embedding_cache",
    "Decision",
    "ExperimentResult",
    "FER2013_CLASSES",
    "FaceCropper",
    "MeanProbaDecider",
    "PromptBank",
    "RankVoteDecider",
    "SynonymFolder",
    "ZeroShotEmotionClassifier",
    "clear_model_cache",
    "datasets",
    "draw_faces",
    "faces_to_frame",
    "load_model",
    "load_prompt_bank",
    "metrics",
    "predict_faces",
    "report_experiment_banks",
    "report_experiment_configurations",
    "run_experiment",
    "sample_prompt_banks",
    "save_prompt_bank",
]
