"""Every exception clip-fer raises on purpose.

Each one subclasses the built-in type a caller would already catch (``ValueError``
for bad input, ``RuntimeError`` for a model that cannot be loaded), so code written
against plain Python keeps working.
"""

from sklearn.utils._param_validation import InvalidParameterError as _SklearnInvalidParameterError

__all__ = [
    "ClipFerError",
    "InvalidParameterError",
    "PromptBankError",
    "ImageInputError",
    "ModelLoadError",
    "ModelChangedError",
    "DamagedShardWarning",
    "DatasetError",
    "SkippedImagesWarning",
    "SkippedItemsWarning",
    "ClipFerDeprecationWarning",
    "MissingDependencyError",
    "CacheWriteWarning",
    "MultiFrameWarning",
    "DuplicateShotsWarning",
    "ComponentContractError",
    "ClassifierFileError",
]


class ClipFerError(Exception):
    """Base class of the errors raised by clip-fer."""


class InvalidParameterError(ClipFerError, _SklearnInvalidParameterError):
    """A constructor parameter has a value outside what is allowed.

    Raised by ``fit`` (never by ``__init__``), so that ``clone`` and ``set_params``
    keep working on any value. It subclasses scikit-learn's
    ``InvalidParameterError`` (itself a ``ValueError`` and a ``TypeError``), so
    code and checks written against scikit-learn catch it too.
    """


class PromptBankError(ClipFerError, ValueError):
    """A prompt bank's templates or synonyms are malformed."""


class ImageInputError(ClipFerError, ValueError):
    """One input image cannot be read or converted.

    Attributes
    ----------
    index : int
        Position of the offending item in the input sequence.
    """

    def __init__(self, index, reason):
        self.index = index
        self.reason = reason
        super().__init__(f"Image at index {index}: {reason}")


class VideoInputError(ClipFerError, ValueError):
    """A video file, camera or stream cannot be opened or decoded."""


class ModelLoadError(ClipFerError, RuntimeError):
    """A CLIP model name or checkpoint path cannot be loaded."""


class ModelChangedError(ClipFerError, RuntimeError):
    """The model a fitted estimator names is no longer the one it was fitted with.

    A checkpoint, config or folder was replaced under the same name (a training
    loop rewriting ``best.pt``, a copy restored with ``rsync -t``), or a pickled
    estimator meets other weights in a new process. Its text features belong to
    the old model; refit the estimator (``fit()``) to use the new one.
    """


class ClassifierFileError(ClipFerError, ValueError):
    """A file given to :func:`clip_fer.load_classifier` is not a classifier it can load.

    A pickle (never opened: it can run code), another kind of file, an archive
    altered after it was written (a member's hash differs from its manifest),
    one written by a newer clip-fer, or one holding a type clip-fer does not
    load. Also raised by :func:`clip_fer.save_classifier` for a classifier it
    cannot write whole. Nothing in the file is executed before this is raised.
    """


class DatasetError(ClipFerError, ValueError):
    """A data set path, layout, split or CSV file cannot be read as asked."""


class SkippedImagesWarning(UserWarning):
    """Some inputs could not be read and were skipped (``on_error="skip"``).

    Attributes
    ----------
    errors : list of (int, str)
        Index and reason of every skipped input.
    """

    def __init__(self, message, errors=()):
        super().__init__(message)
        self.errors = list(errors)


class SkippedItemsWarning(UserWarning):
    """A data set loader left out items it could not label (``on_error="skip"``).

    One warning per load counts them. A label code outside the data set's table,
    a listed image that is missing and a face box outside its image are such items.

    Attributes
    ----------
    skipped : list of str
        Where and why each item was left out (``"file, line n: reason"``).
    """

    def __init__(self, message, skipped=()):
        super().__init__(message)
        self.skipped = list(skipped)


class ClipFerDeprecationWarning(FutureWarning):
    """A clip-fer name that still works but will be removed (a ``FutureWarning``, so
    it is shown by default). ``warnings.simplefilter("error", ClipFerDeprecationWarning)``
    makes code fail on clip-fer's own deprecations only, as the docs tests do."""


class MissingDependencyError(ClipFerError, ImportError):
    """An optional dependency that a feature needs is not installed.

    The message names the ``pip install`` command that adds it.
    """


class CacheWriteWarning(UserWarning):
    """Embeddings could not be written to ``cache_dir``; results are unaffected.

    Issued once per call; the images are encoded again by the next process.
    """


class MultiFrameWarning(UserWarning):
    """An animated GIF or multi-page TIFF was read at its first frame only."""


class DuplicateShotsWarning(UserWarning):
    """Shots that are copies of another shot of the same class were left out of a few-shot fit.

    A copy would vouch for its twin when the shots are held out one at a time
    (FER2013 itself holds the same image more than once). Filter it by class where
    repeated shots are expected.
    """


class DamagedShardWarning(UserWarning):
    """A Parquet shard of an output could not be read (e.g. truncated by a crash).

    A resumed run moves it aside (renamed ``.damaged-<name>``, which Parquet readers
    skip) and scores its rows again.
    """


class ComponentContractError(ClipFerError, ValueError):
    """A component (folder, decider) returned something its protocol rules out.

    Raised by the scoring core (:mod:`clip_fer.scoring`) instead of passing a
    wrong answer on: the message names the component and the rule it broke.

    Attributes
    ----------
    role : str
        The slot of the component: ``"synonym_folder"``, ``"decider"`` or
        ``"logit_scale"``.
    rule : str
        The rule that was broken.
    """

    def __init__(self, message, role=None, rule=None):
        self.role = role
        self.rule = rule
        super().__init__(message)
