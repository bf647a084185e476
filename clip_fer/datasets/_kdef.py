"""KDEF: session, gender, poser, expression and angle are written in each file's name (``AF01ANS.JPG``)."""

import re
from pathlib import Path

from ..exceptions import DatasetError
from ._common import ItemErrors, images_under, make_bunch, no_split, refuse_code

__all__ = ["KDEF_ANGLES", "KDEF_CODES", "load_kdef"]

#: KDEF's expression codes (``AF01ANS.JPG``, letters 5-6) -> clip-fer's classes.
KDEF_CODES = {
    "AF": "fear",
    "AN": "angry",
    "DI": "disgust",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sad",
    "SU": "surprise",
}
#: KDEF's angles: full left, half left, straight (frontal), half right, full right.
KDEF_ANGLES = ("FL", "HL", "S", "HR", "FR")
_KDEF_GENDERS = {"F": "female", "M": "male"}

# session (A/B), gender (F/M), id (2 digits), expression (2 letters), angle
_KDEF_NAME = re.compile(r"^([AB])([FM])(\d{2})([A-Z]{2})(FL|HL|HR|FR|S)\.jpe?g$", re.IGNORECASE)


def _check_angles(angles, owner):
    chosen = ("S",) if angles == "frontal" else KDEF_ANGLES if angles == "all" else angles
    chosen = (chosen,) if isinstance(chosen, str) else chosen
    if not isinstance(chosen, (list, tuple)) or not chosen or any(a not in KDEF_ANGLES for a in chosen):
        raise DatasetError(
            f"The 'angles' parameter of {owner} must be 'frontal', 'all' or a list of KDEF's angles "
            f"{list(KDEF_ANGLES)} (FL full left ... S straight ... FR full right). Got {angles!r} instead."
        )
    return set(chosen)


def load_kdef(path, split=None, *, on_error="raise", angles="frontal"):
    """KDEF: 70 posers, 7 expressions, 5 angles, 2 sessions; labelled by file name.

    Parameters
    ----------
    path : str or path-like
        The ``KDEF`` folder (``AF01/AF01ANS.JPG``: session A/B, gender F/M, id
        01-35, expression AF AN DI HA NE SA SU, angle FL HL S HR FR); subfolders
        are read.
    split : None
        KDEF has no published split.
    on_error : {"raise", "skip"}, default="raise"
        An image whose name does not follow KDEF's pattern or has an expression
        code outside the table: raise naming the file, or leave it out and count
        it in one warning.
    angles : "frontal", "all" or list of str, default="frontal"
        The angles to read; ``"frontal"`` is ``["S"]`` (straight).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (paths), ``target``, ``target_names``, ``filenames``,
        ``split`` (None), ``layout`` and ``groups`` (``gender``: female/male;
        ``subject``: ``"F01"``, ...; ``angle``).
    """
    owner = "load_dataset(layout='kdef')"
    chosen = _check_angles(angles, owner)
    no_split(split, owner, "KDEF")
    errors = ItemErrors(on_error, owner)
    paths, target, groups = [], [], {"gender": [], "subject": [], "angle": []}
    for image in images_under(Path(path), owner, "KDEF's folder of AF01ANS.JPG images"):
        match = _KDEF_NAME.match(image.name)
        if not match:
            errors.refuse(str(image), "the name does not follow KDEF's pattern 'AF01ANS.JPG'.")
            continue
        _session, gender, number, code, angle = (part.upper() for part in match.groups())
        if code not in KDEF_CODES:
            refuse_code(errors, str(image), code, "KDEF expression code in the name", KDEF_CODES)
            continue
        if angle not in chosen:
            continue
        paths.append(str(image))
        target.append(KDEF_CODES[code])
        groups["gender"].append(_KDEF_GENDERS[gender])
        groups["subject"].append(gender + number)
        groups["angle"].append(angle)
    errors.warn()
    return make_bunch(paths, target, sorted(KDEF_CODES.values()), paths, None, groups, layout="kdef")
