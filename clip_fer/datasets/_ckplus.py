"""CK+ (Extended Cohn-Kanade): ``Emotion/Sxxx/nnn/*_emotion.txt`` label the peak of a sequence."""

from numbers import Integral
from pathlib import Path

from ..exceptions import DatasetError
from ._common import ItemErrors, image_files, make_bunch, no_split, refuse_code

__all__ = ["CKPLUS_CODES", "load_ckplus"]

#: The emotion codes of ``*_emotion.txt`` -> clip-fer's classes.
CKPLUS_CODES = {
    0: "neutral",
    1: "angry",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happy",
    6: "sad",
    7: "surprise",
}
_OWNER = "load_dataset(layout='ckplus')"


def _code(label_file, errors):
    """The file's emotion code (written as a float, e.g. ``3.0000000e+00``); None when refused."""
    text = label_file.read_text(encoding="utf-8-sig", errors="replace").split()
    try:
        value = float(text[0]) if len(text) == 1 else None
    except ValueError:
        value = None
    if value is None or not value.is_integer() or int(value) not in CKPLUS_CODES:
        refuse_code(errors, f"{label_file}, line 1", " ".join(text), "CK+ emotion code", CKPLUS_CODES)
        return None
    return int(value)


def load_ckplus(path, split=None, *, on_error="raise", peak_frames=3, first_as_neutral=False):
    """CK+'s labelled sequences: the last frames of each as its emotion, subjects as groups.

    Each ``Emotion/S005/001/S005_001_00000011_emotion.txt`` names the
    sequence's labelled (last, peak) frame, ``cohn-kanade-images/S005/001/
    S005_001_00000011.png``; that frame and the ``peak_frames - 1`` frames
    before it get the label. Sequences without an emotion file (unlabelled)
    are not read.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``Emotion/`` and ``cohn-kanade-images/``.
    split : None
        CK+ has no published split; papers cross-validate by subject
        (``data.groups["subject"]`` with :class:`sklearn.model_selection.GroupKFold`).
    on_error : {"raise", "skip"}, default="raise"
        A code outside 0..7, or a labelled frame that is missing: raise naming
        the file, or leave the sequence out and count it in one warning.
    peak_frames : int, default=3
        How many frames, ending at the labelled one, are read as its emotion
        (the usual choice is the last three).
    first_as_neutral : bool, default=False
        Also read the first frame of each labelled sequence as ``neutral``
        (CK+'s sequences start from a neutral face).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (paths), ``target``, ``target_names`` (eight classes, with
        contempt), ``filenames``, ``split`` (None), ``layout`` and ``groups``
        (``subject``: ``"S005"``, ...).
    """
    if isinstance(peak_frames, bool) or not isinstance(peak_frames, Integral) or peak_frames < 1:
        raise DatasetError(
            f"The 'peak_frames' parameter of {_OWNER} must be an int >= 1. Got {peak_frames!r}."
        )
    root = Path(path)
    labels, frames_root = root / "Emotion", root / "cohn-kanade-images"
    for folder in (labels, frames_root):
        if not folder.is_dir():
            raise DatasetError(
                f"No folder {str(folder)!r}; {_OWNER} needs CK+'s Emotion/ and cohn-kanade-images/."
            )
    no_split(split, _OWNER, "CK+")
    errors = ItemErrors(on_error, _OWNER)
    paths, target, subjects = [], [], []
    for label_file in sorted(labels.glob("*/*/*_emotion.txt")):
        code = _code(label_file, errors)
        if code is None:
            continue
        subject, sequence = label_file.parent.parent.name, label_file.parent.name
        frames = (
            image_files(frames_root / subject / sequence)
            if (frames_root / subject / sequence).is_dir()
            else []
        )
        peak = frames_root / subject / sequence / (label_file.name[: -len("_emotion.txt")] + ".png")
        names = [frame.name for frame in frames]
        if peak.name not in names:
            errors.refuse(f"{label_file}, line 1", f"its labelled frame {str(peak)!r} is missing.")
            continue
        end = names.index(peak.name) + 1
        chosen = [(frame, CKPLUS_CODES[code]) for frame in frames[max(0, end - peak_frames) : end]]
        if first_as_neutral and end - peak_frames > 0:
            chosen.insert(0, (frames[0], "neutral"))
        for frame, label in chosen:
            paths.append(str(frame))
            target.append(label)
            subjects.append(subject)
    errors.warn()
    return make_bunch(
        paths, target, sorted(CKPLUS_CODES.values()), paths, None, {"subject": subjects}, layout="ckplus"
    )
