"""clip-fer: zero-shot facial emotion recognition with OpenAI's CLIP.

The estimator :class:`ZeroShotEmotionClassifier` scores images against sentences
made from templates x synonyms (:class:`PromptBank`), folds synonym scores into
classes (:class:`SynonymFolder`) and decides a ranking by per-rank vote across
templates (:class:`RankVoteDecider`) or by averaging (:class:`MeanProbaDecider`).
For photos of people, :func:`predict_faces` finds each face (:class:`FaceCropper`,
:class:`BlazeFaceDetector`) and classifies it; :func:`draw_faces` draws the result.
"""

from ._bank_io import BUILTIN_BANKS, load_prompt_bank, save_prompt_bank
from ._classifier import ZeroShotEmotionClassifier
from ._deciders import Decision, MeanProbaDecider, RankVoteDecider
from ._detectors import BlazeFaceDetector
from ._drawing import draw_faces
from ._experiment import report_experiment_banks, sample_prompt_banks
from ._faces import FaceCropper, faces_to_frame, predict_faces
from ._folding import SynonymFolder
from ._model import clear_model_cache, load_model
from ._prompt_bank import PromptBank
from ._vocabularies import FER2013_CLASSES

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_BANKS",
    "BlazeFaceDetector",
    "Decision",
    "FER2013_CLASSES",
    "FaceCropper",
    "MeanProbaDecider",
    "PromptBank",
    "RankVoteDecider",
    "SynonymFolder",
    "ZeroShotEmotionClassifier",
    "clear_model_cache",
    "draw_faces",
    "faces_to_frame",
    "load_model",
    "load_prompt_bank",
    "predict_faces",
    "report_experiment_banks",
    "sample_prompt_banks",
    "save_prompt_bank",
]
