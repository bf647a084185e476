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

import inspect
from pathlib import Path

from ..exceptions import DatasetError
from ._affectnet import load_affectnet
from ._ckplus import load_ckplus
from ._common import FaceCrops, split_name
from ._expw import load_expw
from ._fer2013 import FER2013_SIDE, Fer2013CsvImages, load_fer2013_csv
from ._ferplus import ferplus_majority, load_ferplus
from ._folders import load_image_folder
from ._jaffe import load_jaffe
from ._kdef import load_kdef
from ._rafdb import load_rafdb
from ._sampling import sample_k_shot
from ._sfew import load_sfew

__all__ = [
    "FER2013_SIDE",
    "LAYOUTS",
    "FaceCrops",
    "Fer2013CsvImages",
    "check_bank_classes",
    "detect_layout",
    "ferplus_majority",
    "load_dataset",
    "load_fer2013_csv",
    "load_image_folder",
    "sample_k_shot",
    "split_name",
]


def _fer2013(path, split=None, *, on_error="raise"):
    return load_fer2013_csv(path, split)


def _folder(path, split=None, *, on_error="raise"):
    return load_image_folder(path, split)


#: Layout name -> (loader, the options it presets). ``load_dataset(layout=...)`` reads them.
LAYOUTS = {
    "fer2013": (_fer2013, {}),
    "folder": (_folder, {}),
    "rafdb": (load_rafdb, {}),
    "affectnet": (load_affectnet, {}),
    "affectnet-7": (load_affectnet, {"classes": 7}),
    "affectnet-8": (load_affectnet, {"classes": 8}),
    "ferplus": (load_ferplus, {}),
    "expw": (load_expw, {}),
    "ckplus": (load_ckplus, {}),
    "jaffe": (load_jaffe, {}),
    "kdef": (load_kdef, {}),
    "sfew": (load_sfew, {}),
}

# Files that only one layout has: (layout, paths under the folder, all of them needed).
_SIGNATURES = (
    ("rafdb", ("EmoLabel/list_patition_label.txt",)),
    ("affectnet", ("Manually_Annotated_file_lists",)),
    ("ferplus", ("fer2013new.csv",)),
    ("ferplus", ("FER2013Train/label.csv",)),
    ("ferplus", ("FER2013Valid/label.csv",)),
    ("ferplus", ("FER2013Test/label.csv",)),
    ("expw", ("label/label.lst",)),
    ("ckplus", ("Emotion", "cohn-kanade-images")),
)


def detect_layout(path):
    """The layout whose own files ``path`` holds, or None when they leave a doubt.

    RAF-DB, AffectNet, FERPlus, ExpW and CK+ are known by their label files and
    folders; a file named ``fer2013new.csv`` is FERPlus. JAFFE, KDEF and SFEW
    are folders of images that only their names tell apart: name them with
    ``layout=``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    layout : str or None
    """
    source = Path(path)
    if source.is_file():
        return "ferplus" if source.name.lower() == "fer2013new.csv" else None
    found = {layout for layout, marks in _SIGNATURES if all((source / mark).exists() for mark in marks)}
    return found.pop() if len(found) == 1 else None


def load_dataset(path, split=None, layout=None, on_error="raise", **options):
    """Load labelled faces: a FER2013 CSV, an image folder, or a benchmark in its own layout.

    Parameters
    ----------
    path : str or path-like
        With ``layout=None``: a data set whose files name its layout (see
        :func:`detect_layout`); else a file is read by :func:`load_fer2013_csv`
        and a folder (``class/*.jpg`` or ``split/class/*.jpg``) by
        :func:`load_image_folder`.
    split : str or list of str, default=None
        The split(s) to keep, by the data set's own names (see
        ``docs/datasets.md``); None keeps all.
    layout : str, default=None
        One of :data:`LAYOUTS`: ``"rafdb"``, ``"affectnet"`` (8 classes),
        ``"affectnet-7"``, ``"ferplus"``, ``"expw"``, ``"ckplus"``, ``"jaffe"``,
        ``"kdef"``, ``"sfew"``, or ``"fer2013"`` (the CSV) and ``"folder"``.
        None detects it.
    on_error : {"raise", "skip"}, default="raise"
        An item the layout's files cannot label (a code outside its table, a
        listed image that is missing, a face box outside its image): raise a
        :class:`~clip_fer.exceptions.DatasetError` naming the file and line, or
        leave it out and count it in one
        :class:`~clip_fer.exceptions.SkippedItemsWarning`.
    **options
        The layout's own options: ``classes`` (affectnet: 7 or 8), ``images``
        (rafdb: ``"aligned"`` or ``"original"``), ``peak_frames`` and
        ``first_as_neutral`` (ckplus), ``angles`` (kdef).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``, ``target`` (clip-fer's class names), ``target_names``,
        ``filenames``, ``split`` and ``groups`` (group name -> per-image
        labels; empty when the data set gives none); a layout's loader adds
        ``layout``, and ``boxes`` (face boxes) or ``target_votes`` (FERPlus)
        where it has them.

    Examples
    --------
    >>> data = load_dataset("RAF-DB/basic", split="test", layout="rafdb")   # doctest: +SKIP
    >>> sorted(data.groups)                                                   # doctest: +SKIP
    ['age', 'gender', 'race']
    """
    source = Path(path)
    if layout is None:
        layout = detect_layout(source)
    if layout is None:
        if options:
            raise DatasetError(
                f"Options {sorted(options)} belong to a layout; name it with layout= ({', '.join(LAYOUTS)})."
            )
        layout = "fer2013" if source.is_file() else "folder" if source.is_dir() else None
    if layout is None:
        raise DatasetError(
            f"No file or folder {str(path)!r}; give a FER2013 CSV, a folder of "
            "class/*.jpg or split/class/*.jpg, or a data set in its published layout."
        )
    if layout not in LAYOUTS:
        raise DatasetError(f"Unknown layout {layout!r}; the layouts are {', '.join(LAYOUTS)}.")
    loader, preset = LAYOUTS[layout]
    clash = sorted(set(preset) & set(options))
    if clash:
        raise DatasetError(
            f"layout={layout!r} sets {clash} itself; use layout='{layout.split('-')[0]}' to choose."
        )
    known = [
        name for name in inspect.signature(loader).parameters if name not in ("path", "split", "on_error")
    ]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DatasetError(
            f"layout={layout!r} has no option {unknown}; its options are {known or 'none'} "
            "(see docs/datasets.md)."
        )
    return loader(source, split, on_error=on_error, **preset, **options)


def check_bank_classes(bank_classes, data_classes, dataset="the data set"):
    """Refuse a prompt bank whose classes are not the data set's, saying what to add or drop.

    Parameters
    ----------
    bank_classes, data_classes : sequence of str
        The bank's classes (``classes_``) and the data set's (``target_names``).
    dataset : str, default="the data set"
        Its name in the message.

    Raises
    ------
    DatasetError
        When the two differ: it names the classes the bank lacks (add them, or
        drop those images) and those it has beyond the data set (drop them from
        the bank), and the built-in eight-class banks where contempt is at issue.
    """
    bank, data = set(bank_classes), set(data_classes)
    if bank == data:
        return
    lacks, extra = sorted(data - bank), sorted(bank - data)
    advice = []
    if lacks:
        advice.append(f"the bank lacks {lacks}: add them to its synonyms, or leave those images out")
    if extra:
        advice.append(f"the bank has {extra} that {dataset} never has: drop them from its synonyms")
    if "contempt" in lacks:
        advice.append("the built-in banks 'default-8' and 'baseline-8' have contempt")
    if "contempt" in extra:
        advice.append("the built-in 'default' and 'baseline' banks are the seven without contempt")
    raise DatasetError(
        f"The prompt bank does not score the classes of {dataset}: "
        + "; ".join(advice)
        + f". (The bank's classes: {sorted(bank)}; {dataset}'s: {sorted(data)}.)"
    )
