"""``predict_dataset`` and ``embed_dataset``: a classifier mapped over a Ray Dataset."""

import numbers
import warnings

from .._abstention import check_threshold
from .._classifier import ZeroShotEmotionClassifier, fitted_component
from .._front import classifier_front
from .._prompt_bank import PromptBank
from ..exceptions import InvalidParameterError
from ..utils._param_validation import check_int
from ..utils._ray import import_ray

__all__ = ["classes_of", "embed_dataset", "import_ray", "predict_dataset"]


def classes_of(estimator):
    """The classes an estimator predicts, without loading its model when it is not fitted.

    Parameters
    ----------
    estimator : classifier of images
        A fitted one (any :func:`predict_dataset` takes), or a
        ``ZeroShotEmotionClassifier`` not fitted.

    Returns
    -------
    classes : list
        ``classes_`` of the estimator, or of its prompt bank fitted on its own
        (the default bank's for ``prompt_bank=None``).
    """
    if hasattr(estimator, "classes_"):
        return list(estimator.classes_)
    return list(fitted_component(estimator.prompt_bank, PromptBank).classes_)


def _check_estimator(estimator, owner, mode="predict"):
    """A zero-shot estimator (fitted or not), or, for ``"predict"``, any fitted classifier
    of images (:func:`~clip_fer._front.classifier_front` checks it)."""
    if isinstance(estimator, ZeroShotEmotionClassifier):
        if estimator.precomputed:
            raise InvalidParameterError(
                f"{owner} scores images; the estimator has precomputed=True. Pass one with "
                "precomputed=False (a precomputed estimator needs no cluster: call its "
                "predict_proba on the embeddings directly)."
            )
        return
    if mode != "predict":
        raise InvalidParameterError(
            f"The 'estimator' parameter of {owner} must be a ZeroShotEmotionClassifier (its "
            f"embed gives the embeddings). Got {type(estimator).__name__} instead."
        )
    front = classifier_front(estimator, owner=owner)
    if front.zero_shot is None:
        raise InvalidParameterError(
            f"{owner} needs a classifier over a clip-fer estimator (its model is what the actors "
            f"load); {type(estimator).__name__} wraps none."
        )


def _compute(concurrency, owner):
    """``concurrency`` (an int, or a (min, max) pair for an autoscaling pool) as a strategy."""
    ray = import_ray()
    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        low = check_int(concurrency[0], "concurrency", owner, 1)
        high = check_int(concurrency[1], "concurrency", owner, low)
        return ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    if not isinstance(concurrency, numbers.Integral) or isinstance(concurrency, bool) or concurrency < 1:
        raise InvalidParameterError(
            f"The 'concurrency' parameter of {owner} must be an int >= 1 or a (min, max) "
            f"pair of them. Got {concurrency!r} instead."
        )
    return ray.data.ActorPoolStrategy(size=int(concurrency))


def _resources(num_gpus, num_cpus, owner):
    resources = {}
    for name, value in (("num_gpus", num_gpus), ("num_cpus", num_cpus)):
        if value is None:
            continue
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0:
            raise InvalidParameterError(
                f"The '{name}' parameter of {owner} must be a number >= 0. Got {value!r} instead."
            )
        resources[name] = value
    return resources


def _map(dataset, mode, estimator, args, *, column, key, batch_size, concurrency, num_gpus, num_cpus, owner):
    import_ray()
    from ._actors import Embedder, Predictor  # pyarrow, only with Ray

    actor = Predictor if mode == "predict" else Embedder
    if not isinstance(column, str):
        raise InvalidParameterError(
            f"The 'column' parameter of {owner} must be a column name. Got {column!r} instead."
        )
    key = column if key is None else key
    batch_size = check_int(batch_size, "batch_size", owner, 1)
    with warnings.catch_warnings():
        # Ray 2.60 names no parameter for max_restarts: it goes through the
        # deprecated **ray_remote_args, whose warning is Ray's business, not the user's.
        warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated")
        return dataset.map_batches(
            actor,
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=_compute(concurrency, owner),
            fn_constructor_args=(estimator, column, key, *args),
            # Ray Data always hands its actors their transform through the object store
            # and restarts them forever by default, which makes Ray's core worker log an
            # error per actor (restarts could not get those arguments back once freed).
            # An actor that dies fails the run instead: rerun it (the Parquet writers
            # resume from what was written).
            max_restarts=0,
            **_resources(num_gpus, num_cpus, owner),
        )


def predict_dataset(
    dataset,
    estimator,
    *,
    column="path",
    key=None,
    k=3,
    batch_size=256,
    concurrency=1,
    num_gpus=None,
    num_cpus=None,
    abstain_below=None,
):
    """Classify the images of a Ray Dataset on a pool of actors.

    Each actor loads the model once (the process-wide cache), fits the
    estimator's prompts once if it is not fitted (a fitted estimator travels with
    its text features and without weights), and scores batches with the
    estimator's ``decide``: the same encoding loop as a local ``predict``.

    Parameters
    ----------
    dataset : ray.data.Dataset
        One row per image.
    estimator : classifier of images
        A :class:`ZeroShotEmotionClassifier`, fitted or not, with
        ``precomputed=False``; or any fitted classifier :func:`predict_faces`
        takes (a :class:`FewShotEmotionClassifier`, a temperature-calibrated
        ``CalibratedClassifierCV`` over one), pickled to each actor. Its model
        (the innermost zero-shot estimator's) must be a CLIP name or a checkpoint
        path readable on every node. Its (innermost clip-fer estimator's)
        ``on_error`` decides what an unreadable image does: ``"raise"`` stops the run with an
        :class:`ImageInputError` naming the image; ``"skip"`` gives it a row with
        a null ``label`` and ``labels``, NaN probabilities and its reason in
        ``error``, and costs no other row.
    column : str, default="path"
        The column holding the images: file paths (str), or decoded images as from
        ``ray.data.read_images`` (``column="image"``).
    key : str, default=None
        The column that names a row in error messages; None is ``column``.
    k : int, default=3
        Classes in ``labels``, in [1, n_classes].
    batch_size : int, default=256
        Rows handed to an actor per call. The estimator's own ``batch_size``
        still sets the images per forward pass.
    concurrency : int or (int, int), default=1
        Actors: a fixed number, or (min, max) for a pool that Ray grows with the load.
    num_gpus : float, default=None
        GPUs reserved per actor (e.g. 1); the estimator's ``device="auto"`` then
        uses CUDA, with fp16 under ``precision="auto"``.
    num_cpus : float, default=None
        CPUs reserved per actor; None is Ray's default (1). Ray sets each actor's
        torch threads to it.
    abstain_below : float in [0, 1], default=None
        ``label`` and ``labels`` are ``"unsure"`` where the top probability (of
        the estimator's ``predict_proba``, the calibrated one for a calibration
        wrapper) is below it; None takes the outermost clip-fer estimator's
        ``abstain_below``, compared with the same probabilities.

    Returns
    -------
    dataset : ray.data.Dataset
        Lazy; every input column, then ``label`` (str), ``labels`` (list of str,
        best first), one float64 column ``proba_<class>`` per class in
        ``classes_`` order (as ``predict_proba``: rows sum to 1) and ``error``
        (str, null when the image was read). Row order is not preserved across
        blocks.

    Notes
    -----
    Actors keep no in-memory embedding cache (each image is seen once) unless
    the estimator has a ``cache_dir``, which they then share on disk.
    An actor that dies (a crash, out of memory) is not restarted: the run fails
    with Ray's error; :func:`predict_to_parquet` resumes it from what was written.

    Examples
    --------
    >>> import ray                                                      # doctest: +SKIP
    >>> paths = ray.data.from_items([{"path": p} for p in image_paths])  # doctest: +SKIP
    >>> clf = ZeroShotEmotionClassifier("ViT-B/32", on_error="skip")     # doctest: +SKIP
    >>> predict_dataset(paths, clf, concurrency=4, num_gpus=1).write_parquet("out/")  # doctest: +SKIP
    """
    owner = "predict_dataset"
    _check_estimator(estimator, owner)
    k = check_int(k, "k", owner, 1, len(classes_of(estimator)))
    abstain_below = check_threshold(abstain_below, owner)
    return _map(
        dataset,
        "predict",
        estimator,
        (k, abstain_below),
        column=column,
        key=key,
        batch_size=batch_size,
        concurrency=concurrency,
        num_gpus=num_gpus,
        num_cpus=num_cpus,
        owner=owner,
    )


def embed_dataset(
    dataset,
    estimator,
    *,
    column="path",
    key=None,
    batch_size=256,
    concurrency=1,
    num_gpus=None,
    num_cpus=None,
):
    """Image embeddings of a Ray Dataset, on a pool of actors.

    The embeddings are ``estimator.embed``'s: L2-normalised, float32, what an
    estimator with ``precomputed=True`` takes as ``X``. Written to Parquet (see
    :func:`embed_to_parquet`), they let ``GridSearchCV`` search prompt banks
    without touching the images again.

    Parameters
    ----------
    dataset, estimator, column, key, batch_size, concurrency, num_gpus, num_cpus
        As in :func:`predict_dataset`; the estimator need not be fitted (only its
        model, device, precision, batch and error settings are used, but an
        unfitted one is fitted once per actor).

    Returns
    -------
    dataset : ray.data.Dataset
        Lazy; every input column, then ``embedding`` (a fixed-size list of
        float32; NaN for a skipped image) and ``error`` (str, null when read).
    """
    owner = "embed_dataset"
    _check_estimator(estimator, owner, "embed")
    return _map(
        dataset,
        "embed",
        estimator,
        (),
        column=column,
        key=key,
        batch_size=batch_size,
        concurrency=concurrency,
        num_gpus=num_gpus,
        num_cpus=num_cpus,
        owner=owner,
    )
