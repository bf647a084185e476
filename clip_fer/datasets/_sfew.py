"""SFEW 2.0: ``Train/Angry/*.png``-style class folders, names matched without case."""

import numpy as np

from ._common import ItemErrors, make_bunch
from ._folders import load_image_folder

__all__ = ["SFEW_CLASSES", "load_sfew"]

#: SFEW's class folders (``Angry``, ``Disgust``, ...), lower-cased -> clip-fer's classes.
SFEW_CLASSES = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprise",
}
_OWNER = "load_dataset(layout='sfew')"


def load_sfew(path, split=None, *, on_error="raise"):
    """SFEW 2.0 (Static Facial Expressions in the Wild), from its class folders.

    Parameters
    ----------
    path : str or path-like
        The folder of split folders (``Train``, ``Val``) of class folders
        (``Angry``, ``Disgust``, ``Fear``, ``Happy``, ``Neutral``, ``Sad``,
        ``Surprise``), or one split's folder of class folders. Class names are
        matched to clip-fer's without case.
    split : str or list of str, default=None
        ``"Train"`` or ``"Val"`` (the test split of the literature: SFEW's
        test labels are not public); None reads all.
    on_error : {"raise", "skip"}, default="raise"
        A class folder outside SFEW's seven: raise naming it, or leave its
        images out and count them in one warning.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (paths), ``target``, ``target_names``, ``filenames``,
        ``split``, ``layout`` and ``groups`` (empty).
    """
    data = load_image_folder(path, split)
    errors = ItemErrors(on_error, _OWNER)
    keep = np.ones(len(data.target), dtype=bool)
    for folder in np.unique(data.target):
        if folder.lower() not in SFEW_CLASSES:
            members = np.flatnonzero(data.target == folder)
            for i in members:
                errors.refuse(
                    data.filenames[i],
                    f"the folder {folder!r} is not one of SFEW's, in any case ({', '.join(SFEW_CLASSES)}).",
                )
            keep[members] = False
    errors.warn()
    return make_bunch(
        [data.images[i] for i in np.flatnonzero(keep)],
        [SFEW_CLASSES[folder.lower()] for folder in data.target[keep]],
        sorted(SFEW_CLASSES.values()),
        data.filenames[keep],
        None if data.split is None else data.split[keep],
        layout="sfew",
    )
