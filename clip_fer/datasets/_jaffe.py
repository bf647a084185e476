"""JAFFE: the expression and the poser are written in each file's name (``KA.AN1.39.tiff``)."""

import re
from pathlib import Path

from ._common import ItemErrors, images_under, make_bunch, no_split, refuse_code

__all__ = ["JAFFE_CODES", "load_jaffe"]

#: JAFFE's expression codes (``KA.AN1.39.tiff``) -> clip-fer's classes.
JAFFE_CODES = {
    "AN": "angry",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happy",
    "NE": "neutral",
    "SA": "sad",
    "SU": "surprise",
}
# poser . expression code + number . picture number . tif(f)
_JAFFE_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})\d*\.\d+\.tiff?$", re.IGNORECASE)


def load_jaffe(path, split=None, *, on_error="raise"):
    """JAFFE: 213 images of 10 Japanese female posers, labelled by file name.

    Parameters
    ----------
    path : str or path-like
        The folder of ``KA.AN1.39.tiff`` files (poser, expression code and
        number, picture number); subfolders are read too.
    split : None
        JAFFE has no published split; papers cross-validate by poser.
    on_error : {"raise", "skip"}, default="raise"
        An image whose name does not follow JAFFE's pattern or has a code
        outside AN DI FE HA NE SA SU: raise naming the file, or leave it out and
        count it in one warning.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (paths), ``target``, ``target_names``, ``filenames``,
        ``split`` (None), ``layout`` and ``groups`` (``subject``: the poser's initials).
    """
    owner = "load_dataset(layout='jaffe')"
    no_split(split, owner, "JAFFE")
    errors = ItemErrors(on_error, owner)
    paths, target, subjects = [], [], []
    for image in images_under(Path(path), owner, "JAFFE's folder of .tiff images"):
        match = _JAFFE_NAME.match(image.name)
        if not match:
            errors.refuse(str(image), "the name does not follow JAFFE's pattern 'KA.AN1.39.tiff'.")
            continue
        poser, code = match.group(1).upper(), match.group(2).upper()
        if code not in JAFFE_CODES:
            refuse_code(errors, str(image), code, "JAFFE expression code in the name", JAFFE_CODES)
            continue
        paths.append(str(image))
        target.append(JAFFE_CODES[code])
        subjects.append(poser)
    errors.warn()
    return make_bunch(
        paths, target, sorted(JAFFE_CODES.values()), paths, None, {"subject": subjects}, layout="jaffe"
    )
