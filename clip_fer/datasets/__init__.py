"""Loaders for FER2013, for folders of labelled faces, and for the field's benchmarks.

Every loader returns a :class:`sklearn.utils.Bunch` whose ``images`` can be
passed straight to :class:`~clip_fer.ZeroShotEmotionClassifier` and whose
``target`` holds class names (str) in clip-fer's spelling (``angry``,
``disgust``, ``fear``, ``happy``, ``neutral``, ``sad``, ``surprise``, and
``contempt`` where a data set has it). Images are never all held in memory:
files give paths, the Kaggle CSV a :class:`Fer2013CsvImages` that decodes a row
when it is indexed, and face boxes a :class:`FaceCrops` that crops when indexed.
``groups`` maps a group name (``"gender"``, ``"subject"``, ...) to each image's
group, where the data set gives them (an empty dict where it does not).

Sources
-------
- :func:`load_fer2013_csv`: Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``).
- :func:`load_image_folder`: ``class/*.jpg``, or ``split/class/*.jpg`` as in the
  JPEG export of FER2013 (``train/angry/Training_10118481.jpg``).
- :func:`load_dataset`: either of them by what the path is, or a benchmark in
  its published layout (``layout="rafdb"``, ``"affectnet"``, ``"ferplus"``,
  ``"expw"``, ``"ckplus"``, ``"jaffe"``, ``"kdef"``, ``"sfew"``); see
  ``docs/datasets.md`` for each layout's files, class table and licence.

:func:`sample_k_shot` draws ``k`` labelled examples per class (seeded) for
few-shot adaptation, and returns the rest for evaluation.

Splits are named as the JPEG export names its folders (``train``,
``public_test``, ``private_test``); the CSV's ``Usage`` values (``Training``,
``PublicTest``, ``PrivateTest``) are accepted as the same names.
"""

from pathlib import Path

from ..exceptions import DatasetError
from ._common import FaceCrops, split_name
from ._fer2013 import FER2013_SIDE, Fer2013CsvImages, load_fer2013_csv
from ._folders import load_image_folder
from ._sampling import sample_k_shot

__all__ = [
    "FER2013_SIDE",
    "FaceCrops",
    "Fer2013CsvImages",
    "load_dataset",
    "load_fer2013_csv",
    "load_image_folder",
    "sample_k_shot",
    "split_name",
]


def load_dataset(path, split=None):
    """Load labelled faces from a FER2013 CSV or an image folder, by what ``path`` is.

    Parameters
    ----------
    path : str or path-like
        A file is read by :func:`load_fer2013_csv`; a folder (``class/*.jpg`` or
        ``split/class/*.jpg``) by :func:`load_image_folder`.
    split : str or list of str, default=None
        The split(s) to keep; see those functions.

    Returns
    -------
    data : sklearn.utils.Bunch
        As the loader returns it: ``images``, ``target``, ``target_names``,
        ``filenames``, ``split``, ``groups``.
    """
    source = Path(path)
    if source.is_file():
        return load_fer2013_csv(source, split)
    if source.is_dir():
        return load_image_folder(source, split)
    raise DatasetError(
        f"No file or folder {str(path)!r}; give a FER2013 CSV, a folder of "
        "class/*.jpg or a folder of split/class/*.jpg."
    )
