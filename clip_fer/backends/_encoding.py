"""The one image-encoding loop: a DataLoader that decodes and preprocesses while
the model encodes, fixed-size batches, results moved to the CPU per batch."""

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from ..exceptions import ComponentContractError, ImageInputError
from ._base import normalized
from ._cache import content_key, embedding_cache, warn_cache_write
from ._images import to_rgb_image

__all__ = ["encode_checked", "embed_images", "iter_image_embeddings", "resolve_num_workers"]


class _Images(Dataset):
    """The selected items of ``images``, as preprocessed tensors or error reasons."""

    def __init__(self, images, indices, preprocess):
        self.images, self.indices, self.preprocess = images, indices, preprocess

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, position):
        index = self.indices[position]
        # Errors are returned, not raised: an exception raised in a worker loses its type.
        try:
            item = self.images[index]
            return index, self.preprocess(to_rgb_image(item, index)), None
        except ImageInputError as exc:
            return index, None, exc.reason
        except MemoryError:
            return index, None, "preprocessing it ran out of memory."
        except Exception as exc:
            return index, None, f"it could not be read or preprocessed ({type(exc).__name__}: {exc})."


def _collate(items):
    good = [(index, tensor) for index, tensor, _ in items if tensor is not None]
    errors = [(index, reason) for index, _, reason in items if reason is not None]
    # Tensors stack; a processor's dict of tensors (e.g. Siglip2's) stacks per key.
    pixels = default_collate([tensor for _, tensor in good]) if good else None
    return [index for index, _ in good], pixels, errors


_NOT_FINITE = "the model gave an embedding holding NaN or infinity for it."


def encode_checked(loaded, tower, inputs, n_rows):
    """``loaded.<tower>(inputs)`` normalised (:func:`normalized`), checked to be a tensor of
    one row per input and ``loaded.embed_dim`` columns.

    Image and text embeddings meet in one cosine, so both towers must return the
    model's ``embed_dim``; a registered family whose image tower skips its projection
    would otherwise fail in a numpy broadcast that names neither.

    Parameters
    ----------
    loaded : LoadedModel
    tower : {"encode_image", "encode_text"}
    inputs : object
        A preprocessed batch of pixels, or a list of sentences.
    n_rows : int
        How many inputs ``inputs`` holds.

    Returns
    -------
    features : ndarray of float32, shape (n_rows, loaded.embed_dim)
    """
    features = getattr(loaded, tower)(inputs)
    name = f"{type(loaded).__name__}.{tower}"
    if not isinstance(features, torch.Tensor):
        problem = f"{name} returned {type(features).__name__}, not a torch.Tensor"
    else:
        features = normalized(features)
        if features.shape == (n_rows, loaded.embed_dim):
            return features
        if features.ndim == 2 and features.shape[1] == loaded.embed_dim:
            problem = f"{name} returned {features.shape[0]} rows for {n_rows} inputs"
        else:
            problem = f"{name} returned {features.shape[-1]} columns (shape {tuple(features.shape)})"
    other = "encode_text" if tower == "encode_image" else "encode_image"
    raise ComponentContractError(
        f"The model family {loaded.family!r} broke its contract: {problem}, but its embed_dim, "
        f"the width of {other}'s embeddings, is {loaded.embed_dim}. Image and text embeddings "
        f"meet in one cosine, so both towers must return a tensor of shape (n_inputs, embed_dim): "
        f"make {tower} return (n, {loaded.embed_dim}) (apply that tower's projection into the "
        "shared embedding space), or set embed_dim to the width both towers return.",
        role="model family",
        rule="one embedding width",
    )


def resolve_num_workers(num_workers, device):
    """``"auto"``: no worker processes on CPU (the model needs the cores), up to 4 on CUDA."""
    if num_workers == "auto":
        return min(4, os.cpu_count() or 1) if device.type == "cuda" else 0
    return num_workers


def iter_image_embeddings(
    loaded, images, indices, batch_size, num_workers=0, verbose=False, skip_errors=False
):
    """Yield ``(indices, embeddings, errors)`` per batch for ``images[i]``, ``i`` in ``indices``.

    ``embeddings`` are L2-normalised float32 rows of the readable items, in the
    order of ``indices``; ``errors`` lists ``(index, reason)`` of the others. An
    unreadable item raises :class:`ImageInputError` naming its index unless
    ``skip_errors``; either way it never takes the rest of its batch with it.
    Memory holds one batch of pixels (per worker) at a time.
    """
    loader = DataLoader(
        _Images(images, indices, loaded.preprocess),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_collate,
        pin_memory=loaded.device.type == "cuda",
    )
    progress = tqdm(total=len(indices), unit="img", desc="Encoding images", disable=not verbose)
    with progress, torch.inference_mode(), loaded.autocast():
        for good, pixels, errors in loader:
            if errors and not skip_errors:
                raise ImageInputError(*errors[0])
            embeddings = np.empty((0, loaded.embed_dim), dtype=np.float32)
            if pixels is not None:
                embeddings = encode_checked(loaded, "encode_image", pixels, len(good))
                finite = np.isfinite(embeddings).all(axis=1)
                if not finite.all():  # e.g. an fp16 overflow: that image's failure, not a result
                    bad = [i for i, ok in zip(good, finite) if not ok]
                    errors = sorted(errors + [(i, _NOT_FINITE) for i in bad])
                    if not skip_errors:
                        raise ImageInputError(*errors[0])
                    good, embeddings = [i for i, ok in zip(good, finite) if ok], embeddings[finite]
            yield good, embeddings, errors
            progress.update(len(good) + len(errors))


def embed_images(loaded, images, *, batch_size, num_workers, cache, cache_dir, verbose, skip_errors):
    """Embeddings of ``images`` through the embedding cache, encoding only misses.

    Returns
    -------
    embeddings : ndarray of float32, shape (n_images, dim)
        Rows of unreadable items (with ``skip_errors``) are NaN.
    errors : list of (int, str)
        Index and reason of each unreadable item, in index order.
    """
    width, identity = loaded.embed_dim, loaded.identity  # the identity once: it may hash weights
    embeddings = np.full((len(images), width), np.nan, dtype=np.float32)
    keys, missing = [None] * len(images), list(range(len(images)))
    if cache:
        keys = [content_key(item) for item in images]
        missing = []
        for i, key in enumerate(keys):
            found = None if key is None else embedding_cache.get(identity, key, cache_dir, width)
            if found is None:
                missing.append(i)
            else:
                embeddings[i] = found
    workers = resolve_num_workers(num_workers, loaded.device)
    errors, write_error = [], None
    batches = iter_image_embeddings(loaded, images, missing, batch_size, workers, verbose, skip_errors)
    for good, batch, batch_errors in batches:
        errors.extend(batch_errors)
        embeddings[good] = batch
        for i, row in zip(good, batch):
            if keys[i] is None or (
                isinstance(images[i], (str, os.PathLike)) and content_key(images[i]) != keys[i]
            ):
                continue  # a file replaced since it was keyed: its embedding is not the key's
            embedding_cache.put(identity, keys[i], row)
            if cache_dir is not None and write_error is None:
                try:
                    embedding_cache.save(identity, keys[i], row, cache_dir)
                except OSError as exc:  # results stand; only the next process re-encodes
                    write_error = exc
    if write_error is not None:
        warn_cache_write(write_error, cache_dir, "Embeddings", stacklevel=3)
    return embeddings, sorted(errors)
