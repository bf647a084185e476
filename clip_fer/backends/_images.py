"""Turning the many things users call an image into RGB PIL images."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..exceptions import ImageInputError

__all__ = ["IMAGE_SUFFIXES", "check_image_sequence", "to_rgb_image"]

#: File suffixes (lower case) that folder walks treat as images.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def check_image_sequence(X):
    """Return ``X`` as a sequence of images, or raise a clear error.

    A single path, image or array is refused rather than iterated by accident.
    """
    if isinstance(X, (str, bytes, os.PathLike, Image.Image)):
        raise ImageInputError(
            0,
            f"X must be a sequence of images; got a single {type(X).__name__}. "
            "Wrap it in a list: predict([image]).",
        )
    if isinstance(X, np.ndarray) or _is_tensor(X):
        if X.ndim not in (3, 4):
            raise ImageInputError(
                0,
                f"an array X of shape {tuple(X.shape)} is not a stack of images; give "
                "(N, H, W) or (N, H, W, C) arrays, (N, C, H, W) tensors, or a list. "
                "For precomputed embeddings, set precomputed=True.",
            )
        return X  # a stack of images along the first axis
    if not isinstance(X, Sequence):
        if not hasattr(X, "__iter__"):
            raise ImageInputError(0, f"X must be a list of images; got {type(X).__name__}.")
        X = list(X)  # pandas Series, generators, ...
    if len(X) == 0:
        raise ImageInputError(0, "X is empty; give at least one image.")
    return X


def _is_tensor(obj):
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach")


def _open_path(path, index):
    path = Path(path)
    if not path.is_file():
        raise ImageInputError(index, f"file {str(path)!r} does not exist.")
    if path.stat().st_size == 0:
        raise ImageInputError(index, f"file {str(path)!r} is empty (0 bytes).")
    try:
        with Image.open(path) as image:
            image.load()
            return _to_rgb(image, index)
    except Image.DecompressionBombError as exc:
        raise ImageInputError(
            index,
            f"file {str(path)!r} is too large to decode safely ({exc}). If you trust "
            "it, raise PIL.Image.MAX_IMAGE_PIXELS, or shrink the image first.",
        ) from None
    except UnidentifiedImageError:
        raise ImageInputError(
            index, f"file {str(path)!r} is not an image format Pillow can read."
        ) from None
    except (OSError, SyntaxError) as exc:
        raise ImageInputError(
            index, f"file {str(path)!r} is truncated or corrupt ({exc})."
        ) from None


def _to_rgb(image, index):
    if image.width < 1 or image.height < 1:
        raise ImageInputError(index, f"image has size {image.size}; it is empty.")
    if image.mode == "RGB":
        return image.copy()
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(array.max(), 1.0)
        return _array_to_rgb((array / top), index)
    return image.convert("RGB")


def _array_to_rgb(array, index):
    shape = array.shape
    if array.ndim == 3 and shape[-1] in (1, 3, 4):
        array = array[..., 0] if shape[-1] == 1 else array[..., :3]  # alpha dropped
    if array.size == 0 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ImageInputError(
            index,
            f"array of shape {shape} is not an image; give (H, W) grayscale "
            "or (H, W, 1|3|4) channels-last.",
        )
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageInputError(index, "float array contains NaN or infinity.")
        if array.min() < 0 or array.max() > 1:
            raise ImageInputError(
                index,
                f"float array has values in [{array.min():g}, {array.max():g}]; "
                "float images must be in [0, 1] (or pass uint8 in [0, 255]).",
            )
        pixels = np.round(array * 255).astype(np.uint8)
    else:
        raise ImageInputError(
            index,
            f"array of dtype {array.dtype} is not supported; give uint8 in [0, 255] "
            "or float in [0, 1].",
        )
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return image.convert("RGB")


def _tensor_to_array(tensor):
    array = tensor.detach().cpu().numpy()
    if array.ndim == 3 and array.shape[0] in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # torch images are (C, H, W)
    return array


def to_rgb_image(item, index):
    """Convert one input item to an RGB ``PIL.Image``.

    Parameters
    ----------
    item : str, Path, PIL.Image, ndarray or torch.Tensor
        A file path; a PIL image in any mode; an array of shape (H, W) or
        (H, W, 1|3|4), uint8 in [0, 255] or float in [0, 1]; or a tensor of
        shape (H, W) or (C, H, W) with the same value ranges.
    index : int
        The item's position, named in any error.

    Returns
    -------
    image : PIL.Image in mode "RGB"
    """
    if isinstance(item, (str, os.PathLike)):
        return _open_path(item, index)
    if isinstance(item, Image.Image):
        return _to_rgb(item, index)
    if isinstance(item, np.ndarray):
        return _array_to_rgb(item, index)
    if _is_tensor(item):
        return _array_to_rgb(_tensor_to_array(item), index)
    raise ImageInputError(
        index,
        f"items of type {type(item).__name__} are not images; give a file path, a "
        "PIL image, a numpy array or a torch tensor.",
    )
