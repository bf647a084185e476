"""Turning the many things users call an image into RGB PIL images.

The rules (also in ``docs/bad-inputs.md``):

- Files and PIL images are turned upright by their EXIF ``Orientation`` tag, as
  every photo viewer shows them; boxes from :func:`~clip_fer.predict_faces` are
  in that upright frame.
- Animated GIFs and multi-page TIFFs are read at their first frame, with a
  :class:`~clip_fer.exceptions.MultiFrameWarning`.
- PIL modes: ``F`` (float) must hold values in [0, 1] and is scaled by 255, as
  float arrays are; ``I;16*`` (16-bit) is divided by 65535; ``I`` (32-bit int)
  must hold values in [0, 65535] and is divided by 65535 when any value exceeds
  255, else read as 8-bit (Pillow's own scale for ``I``). Anything else is refused.
- An image whose sides differ by more than :data:`MAX_ASPECT_RATIO` is refused:
  resizing it to the model's square input would take gigabytes.
"""

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..exceptions import ImageInputError, MultiFrameWarning

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_ASPECT_RATIO",
    "UnreadableImage",
    "check_image_path",
    "check_image_sequence",
    "exif_orientation",
    "one_image",
    "to_rgb_image",
]

#: File suffixes (lower case) that folder walks treat as images.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

#: Longest side / shortest side above which an image is refused. The model's
#: preprocessing resizes the shortest side to its input size (224 for ViT-B/32),
#: so a 20000x1 image would become 4,480,000x224 pixels (3 GB) before the crop.
#: At 100:1 the resize holds at most 100 input-sized squares (15 MB at 224).
MAX_ASPECT_RATIO = 100

_EXIF_ORIENTATION = 0x0112
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class UnreadableImage:
    """A stand-in for an input that an earlier step could not read.

    :class:`~clip_fer.FaceCropper` passes one on for an image it cannot read,
    so that the classifier after it in a Pipeline applies its own ``on_error``
    to that item, with this reason.
    """

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f"UnreadableImage({self.reason!r})"


def _is_tensor(obj):
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach")


def _looks_like_one_image(shape):
    """A 3-D shape with 1, 3 or 4 along its first or last axis may be one image:
    (H, W, C) channels-last or (C, H, W) channels-first."""
    return len(shape) == 3 and (shape[0] in (1, 3, 4) or shape[-1] in (1, 3, 4))


def check_image_sequence(X):
    """Return ``X`` as a sequence of images, or raise a clear error.

    A single path, image or array is refused rather than iterated by accident:
    a 2-D array, and a 3-D array or tensor with 1, 3 or 4 along its first or
    last axis, may be one image, so they must come wrapped in a list. A stack
    of images is a 4-D array ``(N, H, W, C)`` or tensor ``(N, C, H, W)``, or a
    3-D one ``(N, H, W)`` of grayscale images with ``N, W`` not 1, 3 or 4.
    Sets (no order) and DataFrames (they iterate their column names) are
    refused too.
    """
    if isinstance(X, (str, bytes, os.PathLike, Image.Image)):
        raise ImageInputError(
            0,
            f"X must be a sequence of images; got a single {type(X).__name__}. "
            "Wrap it in a list: predict([image]).",
        )
    if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "OUS":
        X = X.tolist()  # paths or images in a 1-D array, as MAPIE and pandas hand them over
    elif isinstance(X, np.ndarray) or _is_tensor(X):
        shape = tuple(X.shape)
        kind = "tensor" if _is_tensor(X) else "array"
        if len(shape) == 2:
            raise ImageInputError(
                0,
                f"an {kind} X of shape {shape} is not a stack of images: if it is one "
                "grayscale image, wrap it in a list: predict([image]); if it holds "
                "precomputed embeddings, set precomputed=True.",
            )
        if _looks_like_one_image(shape):
            raise ImageInputError(
                0,
                f"an {kind} X of shape {shape} may be one image (H, W, C) or (C, H, W) as "
                "much as a stack of images, so it is not read as either. Wrap one image in "
                "a list: predict([image]). For a stack of N images give a 4-D array "
                "(N, H, W, C) or tensor (N, C, H, W), or a list.",
            )
        if len(shape) not in (3, 4):
            raise ImageInputError(
                0,
                f"an {kind} X of shape {shape} is not a stack of images; give "
                "(N, H, W) or (N, H, W, C) arrays, (N, C, H, W) tensors, or a list. "
                "For precomputed embeddings, set precomputed=True.",
            )
        if shape[0] == 0:
            raise ImageInputError(0, f"X is empty (an {kind} of shape {shape}); give at least one image.")
        return X  # a stack of images along the first axis
    if isinstance(X, (AbstractSet, Mapping)):
        what = "a set" if isinstance(X, AbstractSet) else "a mapping"
        raise ImageInputError(
            0,
            f"X is {what} ({type(X).__name__}), whose order is not the order you gave; "
            "give a list, so that results line up with the inputs.",
        )
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        raise ImageInputError(
            0,
            f"X is a DataFrame; iterating it gives its column names, not images. Give "
            f"the column that holds the images, e.g. X=frame[{_first_column(X)!r}].",
        )
    if not isinstance(X, Sequence):
        if not hasattr(X, "__iter__"):
            raise ImageInputError(0, f"X must be a list of images; got {type(X).__name__}.")
        X = list(X)  # pandas Series, generators, ...
    if len(X) == 0:
        raise ImageInputError(0, "X is empty; give at least one image.")
    return X


def _first_column(frame):
    try:
        return str(list(frame.columns)[0])
    except (AttributeError, IndexError, TypeError):  # no columns, or not a frame after all
        return "path"


def exif_orientation(image):
    """The EXIF ``Orientation`` (1..8) of a PIL image; 1 (upright) when absent or unreadable."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # broad on purpose: Pillow parsing damaged metadata raises many types
        return 1


def _upright(image):
    """``image`` turned by its EXIF orientation (a no-op for orientation 1)."""
    if exif_orientation(image) == 1:
        return image
    return ImageOps.exif_transpose(image)


def _check_aspect(size, index, what="image"):
    width, height = size
    if width < 1 or height < 1:
        raise ImageInputError(index, f"{what} has size {width}x{height}; it is empty.")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageInputError(
            index,
            f"{what} is {width}x{height} pixels, an aspect ratio over {MAX_ASPECT_RATIO}:1; "
            "resizing it to the model's square input would need gigabytes. Crop it to the "
            "part that matters first (or raise clip_fer.backends._images.MAX_ASPECT_RATIO).",
        )


def one_image(X):
    """Whether ``X`` is one image rather than a sequence of them: a path, a PIL image,
    a 2-D array or tensor, or a 3-D one with 1, 3 or 4 along its first or last axis."""
    if isinstance(X, (str, bytes, os.PathLike, Image.Image)):
        return True
    if isinstance(X, np.ndarray) or _is_tensor(X):
        shape = tuple(X.shape)
        return len(shape) == 2 or _looks_like_one_image(shape)
    return False


def check_image_path(path, index):
    """Raise :class:`ImageInputError` naming ``path`` as given (a URL's ``//`` intact)
    if it is a URL, a folder, missing or not a regular file; return its size in bytes."""
    given = os.fspath(path)
    name = repr(given)
    path = Path(path)
    try:
        if path.is_dir():
            raise ImageInputError(index, f"{name} is a folder, not an image file.")
        if not path.is_file():
            if path.exists():
                raise ImageInputError(
                    index,
                    f"{name} is not a regular file (a device, pipe or socket); save the image to a file.",
                )
            if isinstance(given, str) and _URL.match(given):
                raise ImageInputError(
                    index,
                    f"{name} is a URL; clip-fer reads local files only. Download it first, "
                    "e.g. urllib.request.urlretrieve(url, 'photo.jpg').",
                )
            raise ImageInputError(index, f"file {name} does not exist.")
        return path.stat().st_size
    except OSError as exc:  # a name too long, a permission, a broken mount ...
        raise ImageInputError(index, f"file {name} cannot be read ({exc.strerror or exc}).") from None


def _open_path(path, index):
    name = repr(os.fspath(path))
    size = check_image_path(path, index)
    path = Path(path)
    if size == 0:
        raise ImageInputError(index, f"file {name} is empty (0 bytes).")
    try:
        with Image.open(path) as image:
            _check_aspect(image.size, index, f"file {name}")
            frames = getattr(image, "n_frames", 1)
            image.load()
            if frames > 1:
                warnings.warn(
                    MultiFrameWarning(
                        f"Image at index {index}: file {name} has {frames} frames; only the first is used."
                    ),
                    stacklevel=2,
                )
            return _to_rgb(image, index)
    except Image.DecompressionBombError as exc:
        raise ImageInputError(
            index,
            f"file {name} is too large to decode safely ({exc}). If you trust "
            "it, raise PIL.Image.MAX_IMAGE_PIXELS, or shrink the image first.",
        ) from None
    except UnidentifiedImageError:
        raise ImageInputError(index, f"file {name} is not an image format Pillow can read.") from None
    except ImageInputError:
        raise
    except (OSError, SyntaxError, EOFError) as exc:
        raise ImageInputError(index, f"file {name} is truncated or corrupt ({exc}).") from None


def _to_rgb(image, index):
    try:
        image = _upright(image)
        image.load()
    except ValueError as exc:  # "Operation on closed image"
        raise ImageInputError(index, f"PIL image cannot be read ({exc}); is it closed?") from None
    _check_aspect(image.size, index)
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode.startswith("I;16"):
        return _array_to_rgb(np.asarray(image, dtype=np.float64) / 65535.0, index)
    if mode == "I":
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 65535:
            raise ImageInputError(
                index,
                f"mode I image has values in [{low:g}, {high:g}]; clip-fer reads mode I as "
                "8-bit ([0, 255]) or 16-bit ([0, 65535]). Rescale it first, e.g. pass "
                "np.asarray(image) scaled to [0, 1] as a float array.",
            )
        return _array_to_rgb(array / (65535.0 if high > 255 else 255.0), index)
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            finite = array[np.isfinite(array)]
            span = f"[{finite.min():g}, {finite.max():g}]" if finite.size else "no finite values"
            raise ImageInputError(
                index,
                f"mode F (float) image has values in {span}"
                f"{' and NaN or infinity' if finite.size < array.size else ''}; float images "
                "must be in [0, 1]. Rescale it to [0, 1] first.",
            )
        return _array_to_rgb(array, index)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "La":
        image = image.convert("LA")  # premultiplied alpha: Pillow converts it only to LA
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageInputError(
            index, f"a PIL image of mode {mode!r} cannot be converted to RGB ({exc})."
        ) from None


def _array_to_rgb(array, index):
    shape = array.shape
    if array.ndim == 3 and shape[-1] in (1, 3, 4):
        array = array[..., 0] if shape[-1] == 1 else array[..., :3]  # alpha dropped
    if array.size == 0 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ImageInputError(
            index,
            f"array of shape {shape} is not an image; give (H, W) grayscale or (H, W, 1|3|4) channels-last.",
        )
    _check_aspect((array.shape[1], array.shape[0]), index, f"array of shape {shape}")
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
            f"array of dtype {array.dtype} is not supported; give uint8 in [0, 255] or float in [0, 1].",
        )
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return image.convert("RGB")


def tensor_to_array(tensor):
    """A tensor's values as a numpy array, channels-last for a (C, H, W) image.

    Floating dtypes numpy lacks (bfloat16, float8) become float32 first.
    """
    import torch

    tensor = tensor.detach().cpu()
    if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
        tensor = tensor.float()
    array = tensor.numpy()
    if array.ndim == 3 and array.shape[0] in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # torch images are (C, H, W)
    return array


def _convert(item, index):
    if isinstance(item, UnreadableImage):
        raise ImageInputError(index, item.reason)
    if isinstance(item, (str, os.PathLike)):
        return _open_path(item, index)
    if isinstance(item, Image.Image):
        return _to_rgb(item, index)
    if isinstance(item, np.ndarray):
        return _array_to_rgb(item, index)
    if _is_tensor(item):
        try:
            array = tensor_to_array(item)
        except (TypeError, RuntimeError) as exc:
            raise ImageInputError(
                index, f"tensor of dtype {item.dtype} cannot be read as an image ({exc})."
            ) from None
        return _array_to_rgb(array, index)
    raise ImageInputError(
        index,
        f"items of type {type(item).__name__} are not images; give a file path, a "
        "PIL image, a numpy array or a torch tensor.",
    )


def to_rgb_image(item, index):
    """Convert one input item to an upright RGB ``PIL.Image``.

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

    Raises
    ------
    ImageInputError
        For any failure that belongs to this item (a file that cannot be read,
        a value, mode, dtype or shape that is not an image, a closed image,
        memory exhausted by this image), naming ``index`` and the reason.
    """
    try:
        return _convert(item, index)
    except ImageInputError:
        raise
    except MemoryError:
        raise ImageInputError(index, "reading it ran out of memory.") from None
    except Exception as exc:
        raise ImageInputError(
            index, f"it cannot be read as an image ({type(exc).__name__}: {exc})."
        ) from None
