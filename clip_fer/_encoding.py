"""The one image-encoding loop: a DataLoader that decodes and preprocesses while
the model encodes, fixed-size batches, results moved to the CPU per batch."""

import os

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ._images import to_rgb_image
from ._model import normalized
from .exceptions import ImageInputError

__all__ = ["iter_image_embeddings", "resolve_num_workers"]


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
    indices = [index for index, _, _ in items]
    tensors = [tensor for _, tensor, _ in items if tensor is not None]
    errors = [(index, reason) for index, _, reason in items if reason is not None]
    return indices, torch.stack(tensors) if tensors else None, errors


def resolve_num_workers(num_workers, device):
    """``"auto"``: no worker processes on CPU (the model needs the cores), up to 4 on CUDA."""
    if num_workers == "auto":
        return min(4, os.cpu_count() or 1) if device.type == "cuda" else 0
    return num_workers


def iter_image_embeddings(loaded, images, indices, batch_size, num_workers=0, verbose=False):
    """Yield ``(indices, embeddings)`` per batch for ``images[i]``, ``i`` in ``indices``.

    Embeddings are L2-normalised float32 numpy arrays. The first unreadable item
    raises :class:`ImageInputError` naming its index; memory holds one batch of
    pixels (per worker) at a time.
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
        for batch_indices, pixels, errors in loader:
            if errors:
                index, reason = errors[0]
                raise ImageInputError(index, reason)
            pixels = pixels.to(loaded.device, dtype=loaded.input_dtype, non_blocking=True)
            yield batch_indices, normalized(loaded.model.encode_image(pixels))
            progress.update(len(batch_indices))
