"""The one image-encoding loop: a DataLoader that decodes and preprocesses while
the model encodes, fixed-size batches, results moved to the CPU per batch."""

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from ._cache import content_key, embedding_cache
from ._images import to_rgb_image
from ._base import normalized
from ..exceptions import ImageInputError

__all__ = ["embed_images", "iter_image_embeddings", "resolve_num_workers"]


class _Images(Dataset):
    """The selected items of ``images``, as preprocessed tensors or error reasons."""

    def __init__(self, images, indices, preprocess):
        self.images, self.indices, self.preprocess = images, indices, preprocess

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, position):
        index = self.indices[position]
        try:
            return index, self.preprocess(to_rgb_image(self.images[index], index)), None
        except ImageInputError as exc:
            # Returned, not raised: an exception raised in a worker loses its type.
            return index, None, exc.reason


def _collate(items):
    good = [(index, tensor) for index, tensor, _ in items if tensor is not None]
    errors = [(index, reason) for index, _, reason in items if reason is not None]
    # Tensors stack; a processor's dict of tensors (e.g. Siglip2's) stacks per key.
    pixels = default_collate([tensor for _, tensor in good]) if good else None
    return [index for index, _ in good], pixels, errors


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
                embeddings = normalized(loaded.encode_image(pixels))
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
    embeddings = np.full((len(images), loaded.embed_dim), np.nan, dtype=np.float32)
    keys, missing = [None] * len(images), list(range(len(images)))
    if cache:
        keys = [content_key(item) for item in images]
        missing = []
        for i, key in enumerate(keys):
            found = None if key is None else embedding_cache.get(loaded.identity, key, cache_dir)
            if found is None:
                missing.append(i)
            else:
                embeddings[i] = found
    workers = resolve_num_workers(num_workers, loaded.device)
    errors = []
    batches = iter_image_embeddings(loaded, images, missing, batch_size, workers, verbose, skip_errors)
    for good, batch, batch_errors in batches:
        errors.extend(batch_errors)
        embeddings[good] = batch
        for i, row in zip(good, batch):
            if keys[i] is not None:
                embedding_cache.put(loaded.identity, keys[i], row, cache_dir)
    return embeddings, sorted(errors)
