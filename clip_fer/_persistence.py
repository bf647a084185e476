"""Saving and loading fitted classifiers without pickle: JSON and ``.npy`` in one zip archive.

An archive holds three kinds of member:

- ``manifest.json``: the format's name and version, the versions that wrote it,
  the model's name and identity, and a SHA-256 hash of every other member;
- ``classifier.json``: the classifier as a tree of plain values (numbers,
  strings, lists, dicts) and tagged nodes: an estimator of a trusted type (its
  class, its ``get_params(deep=False)`` and its fitted attributes), a tuple, a
  path, a numeric array (a reference to a member) or an array of strings;
- ``arrays/N.npy``: the numeric arrays, read with ``np.load(allow_pickle=False)``.

Reading never unpickles and never imports a name from the file: a class is
looked up in :func:`trusted_types`, a fixed table, and built from its
parameters; its fitted attributes must be the ones the table lists, so a fitted
attribute that this module does not know (a new one added to an estimator) is
an error at save time rather than a silent loss.
"""

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePath

import numpy as np

from .exceptions import ClassifierFileError, InvalidParameterError, ModelChangedError, ModelLoadError

__all__ = ["FORMAT", "FORMAT_VERSION", "load_classifier", "save_classifier", "trusted_types"]

#: The ``format`` field of every archive's manifest.
FORMAT = "clip-fer-classifier"
#: The version this clip-fer writes and the newest it reads.
FORMAT_VERSION = 1

# Settings of the zero-shot estimators that load_classifier may change: where and how
# images are encoded, never what the text features or shots mean.
SETTINGS = (
    "device",
    "batch_size",
    "num_workers",
    "cache",
    "cache_dir",
    "on_error",
    "verbose",
    "download_root",
)
_TOP_LEVEL = ("ZeroShotEmotionClassifier", "FewShotEmotionClassifier", "CalibratedClassifierCV")
_ZERO_SHOT = "clip_fer.ZeroShotEmotionClassifier"
_MANIFEST = "manifest.json"
_ARRAY_NAME = re.compile(r"arrays/(0|[1-9][0-9]{0,8})\.npy")
_TREE = "classifier.json"
_MAX_MEMBER_BYTES = 4 << 30  # no text features or shots come near; a bigger member is not ours
_BOMB_BYTES, _BOMB_RATIO = 64 << 20, 100  # a member over 64 MiB packed over 100 times is not ours
_MAX_DEPTH = 100  # nesting of classifier.json: a saved classifier needs about 20
_NUMERIC_KINDS = "biuf"
_NON_FINITE = (
    "nan",
    "inf",
    "-inf",
)  # bool, signed and unsigned integers, floats: what .npy stores without pickle
_PICKLE_MAGIC = (b"\x80", b"(", b"c", b"]", b"}")  # protocol 2+ opcode, and protocol 0/1's usual first bytes


class _Kind:
    """How one trusted type is written and rebuilt.

    Parameters
    ----------
    fitted : tuple of str
        Fitted attributes, all present in a fitted object.
    optional : tuple of str
        Fitted attributes that only some fits set.
    params : callable, default=None
        The constructor's keyword arguments of an object; None is
        ``get_params(deep=False)``.
    check : callable, default=None
        Checks a loaded, fitted object's values (see :mod:`clip_fer._restore_checks`);
        raises ``ValueError`` naming the rule broken.
    """

    def __init__(self, fitted=(), optional=(), params=None, check=None):
        self.fitted = tuple(fitted)
        self.optional = tuple(optional)
        self.params = params
        self.check = check


def _calibrated_pipeline_params(pipeline):
    return {
        "estimator": pipeline.estimator,
        "calibrators": pipeline.calibrators,
        "classes": pipeline.classes,
        "method": pipeline.method,
    }


def _trusted_types():
    """Qualified class name -> (class, kind). Built on first use (it imports scikit-learn)."""
    from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _TemperatureScaling
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from ._classifier import ZeroShotEmotionClassifier
    from ._deciders import MeanProbaDecider, RankVoteDecider
    from ._few_shot import FewShotEmotionClassifier
    from ._folding import SynonymFolder
    from ._prompt_bank import PromptBank
    from ._restore_checks import check_calibrated, check_few_shot, check_temperature_scaling, check_zero_shot

    kinds = {
        ZeroShotEmotionClassifier: _Kind(
            fitted=(
                "prompt_bank_",
                "synonym_folder_",
                "decider_",
                "classes_",
                "text_features_",
                "logit_scale_",
                "logit_bias_",
                "model_identity_",
            ),
            optional=("n_features_in_",),
            check=check_zero_shot,
        ),
        FewShotEmotionClassifier: _Kind(
            fitted=(
                "estimator_",
                "classes_",
                "temperature_",
                "alpha_",
                "beta_",
                "shot_embeddings_",
                "shot_labels_",
                "probe_",
                "selection_",
            ),
            optional=("n_features_in_",),
            check=check_few_shot,
        ),
        PromptBank: _Kind(
            fitted=(
                "templates_",
                "classes_",
                "words_",
                "word_class_",
                "sentences_",
                "sentence_template_",
                "sentence_word_",
            )
        ),
        SynonymFolder: _Kind(),
        RankVoteDecider: _Kind(),
        MeanProbaDecider: _Kind(),
        LogisticRegression: _Kind(fitted=("classes_", "coef_", "intercept_", "n_iter_", "n_features_in_")),
        CalibratedClassifierCV: _Kind(
            fitted=("classes_", "calibrated_classifiers_"),
            optional=("n_features_in_", "feature_names_in_"),
            check=check_calibrated,
        ),
        FrozenEstimator: _Kind(),
        _CalibratedClassifier: _Kind(params=_calibrated_pipeline_params),
        _TemperatureScaling: _Kind(fitted=("beta_",), check=check_temperature_scaling),
    }
    return {_qualified(cls): (cls, kind) for cls, kind in kinds.items()}


def _qualified(cls):
    """A class's name in an archive: clip-fer's by their public name (so moving a class
    between private modules keeps files readable), others by module and name."""
    if cls.__module__.split(".")[0] == "clip_fer":
        return f"clip_fer.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


_TYPES = None


def trusted_types():
    """The table of the types an archive may hold: qualified name -> (class, kind)."""
    global _TYPES
    if _TYPES is None:
        _TYPES = _trusted_types()
    return _TYPES


def public_fitted_attributes(obj):
    """scikit-learn's rule for fitted attributes: public names ending in ``_``."""
    return sorted(k for k in vars(obj) if k.endswith("_") and not k.startswith("_"))


# Writing ------------------------------------------------------------------------


class _Writer:
    """Turns a classifier into a JSON tree and a list of numeric arrays."""

    def __init__(self):
        self.arrays = []
        self.seen = {}  # id(estimator) -> its number: an object shared in the tree is written once
        self.models = []  # the zero-shot estimators' (model, identity)

    def encode(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)  # NaN and infinities as tagged strings: the JSON stays strict
            return value if np.isfinite(value) else {"type": "float", "value": repr(value)}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"type": "tuple", "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise InvalidParameterError(
                    f"save_classifier cannot write {where}: its key {bad[0]!r} is not a string."
                )
            return {"type": "dict", "items": {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
        if isinstance(value, PurePath):
            return {"type": "path", "value": str(value)}
        if isinstance(value, np.ndarray):
            return self.encode_array(value, where)
        from .backends._base import LoadedModel, ModelReference

        if isinstance(value, (LoadedModel, ModelReference)):
            return {"type": "model_object", "identity": value.weights_identity, "description": repr(value)}
        if type(value) in {cls for cls, _ in trusted_types().values()}:
            return self.encode_object(value, where)
        raise InvalidParameterError(
            f"save_classifier cannot write {where}, a {type(value).__module__}.{type(value).__qualname__}: "
            "an archive holds plain values, arrays and the types clip-fer trusts "
            f"({', '.join(sorted(name.rsplit('.', 1)[1] for name in trusted_types()))}). Use clip-fer's "
            "own components (PromptBank, SynonymFolder, RankVoteDecider, MeanProbaDecider)."
        )

    def encode_array(self, array, where):
        if array.dtype.kind in _NUMERIC_KINDS:
            self.arrays.append(np.ascontiguousarray(array))
            return {"type": "array", "member": f"arrays/{len(self.arrays) - 1}.npy"}
        if array.dtype.kind in "OU":
            items = array.tolist()
            for item in array.ravel().tolist():
                if not (item is None or isinstance(item, (str, bool, int, float))):
                    raise InvalidParameterError(
                        f"save_classifier cannot write {where}: it holds a {type(item).__name__}; "
                        "arrays of objects may hold strings and numbers only."
                    )
            return {
                "type": "text_array",
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "items": items,
            }
        raise InvalidParameterError(
            f"save_classifier cannot write {where}: arrays of {array.dtype} are not supported."
        )

    def encode_object(self, obj, where):
        name = _qualified(type(obj))
        if id(obj) in self.seen:
            return {"type": "ref", "id": self.seen[id(obj)]}
        self.seen[id(obj)] = number = len(self.seen)
        kind = trusted_types()[name][1]
        params = kind.params(obj) if kind.params else obj.get_params(deep=False)
        present = set(public_fitted_attributes(obj))
        unknown = sorted(present - set(kind.fitted) - set(kind.optional))
        if unknown:
            raise ClassifierFileError(
                f"save_classifier does not know the fitted attribute(s) {unknown} of {where} "
                f"({type(obj).__name__}); it would leave them out of the archive. This is a bug "
                "in clip-fer: report it (clip_fer/_persistence.py lists what each type saves)."
            )
        missing = [a for a in kind.fitted if a not in present]
        if missing and len(missing) < len(kind.fitted):
            raise ClassifierFileError(
                f"{where} ({type(obj).__name__}) is partly fitted: it lacks {missing}. Fit it again."
            )
        node = {
            "type": "object",
            "class": name,
            "id": number,
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in sorted(params.items())},
            "fitted": {
                k: self.encode(getattr(obj, k), f"{where}.{k}")
                for k in (*kind.fitted, *kind.optional)
                if k in present
            },
        }
        if "model_identity_" in node["fitted"]:
            self.models.append((obj.model, obj.model_identity_))
        return node


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _model_summary(models):
    """The model named in the manifest: the first zero-shot estimator's (all share it)."""
    if not models:
        return None
    model, identity = models[0]
    from .backends._base import LoadedModel, ModelReference

    name = None if isinstance(model, (LoadedModel, ModelReference)) else os.fspath(model)
    return {"name": name, "description": repr(model), "identity": identity}


def save_classifier(classifier, path):
    """Write a fitted classifier to one file that :func:`load_classifier` reads without pickle.

    The file is a zip archive of JSON (the parameters, fitted values and
    manifest) and ``.npy`` arrays (text features, shots' embeddings, probe
    weights). It holds no code and no model weights: the model is recorded by
    its name and content identity, and must be at hand where the file is
    loaded. The write is atomic: the file is complete or not there (an
    existing file is replaced only once the new one is written).

    Parameters
    ----------
    classifier : estimator
        A fitted :class:`ZeroShotEmotionClassifier`, a fitted
        :class:`FewShotEmotionClassifier`, or scikit-learn's
        ``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")``
        fitted over either. Components must be clip-fer's own (``PromptBank``,
        ``SynonymFolder``, ``RankVoteDecider``, ``MeanProbaDecider``).
    path : str or path-like
        The file to write (``.clipfer`` by convention); replaced if it exists.
        Missing parent folders are made.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    InvalidParameterError
        A part of the classifier is not of a type the format holds (a custom
        component, a calibration method other than temperature), or ``path``
        is a folder or lies under a file.
    NotFittedError
        The classifier is not fitted.
    ClassifierFileError
        The classifier holds a fitted attribute this version does not know how
        to save.

    Notes
    -----
    A classifier whose model was given as an object (``model=load_model(...)``
    or a family class) is saved with that model's identity only; loading it
    needs ``load_classifier(path, model=...)``. See ``docs/saving.md``.
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    if type(classifier).__name__ not in _TOP_LEVEL or _qualified(type(classifier)) not in trusted_types():
        raise InvalidParameterError(
            "save_classifier writes clip-fer's classifiers (ZeroShotEmotionClassifier, "
            "FewShotEmotionClassifier) and scikit-learn's CalibratedClassifierCV(method='temperature') "
            f"over them; got {type(classifier).__name__}."
        )
    if type(classifier).__name__ == "CalibratedClassifierCV" and classifier.method != "temperature":
        raise InvalidParameterError(
            f"save_classifier writes CalibratedClassifierCV with method='temperature' only; got "
            f"method={classifier.method!r}. Calibrate with method='temperature' to save it."
        )
    check_is_fitted(
        classifier,
        msg="save_classifier writes fitted classifiers; this %(name)s is not fitted. Call fit first.",
    )
    path = check_output_path(path)
    writer = _Writer()
    tree = writer.encode(classifier, "the classifier")
    members = {_TREE: json.dumps(tree, allow_nan=False, sort_keys=True).encode()}
    for i, array in enumerate(writer.arrays):
        members[f"arrays/{i}.npy"] = _npy_bytes(array)
    import sklearn

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "classifier": type(classifier).__name__,
        "model": _model_summary(writer.models),
        "written_by": {"clip_fer": __version__, "scikit_learn": sklearn.__version__, "numpy": np.__version__},
        "members": {name: _sha256(data) for name, data in members.items()},
    }
    _write_atomically(
        path, {_MANIFEST: json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False).encode(), **members}
    )
    return path


def _as_path(path, owner):
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise InvalidParameterError(
            f"The 'path' of {owner} must be a str or a path-like object naming a file. Got {path!r} instead."
        )
    return Path(path).expanduser()  # "~/x.clipfer" is the home folder's, not a folder named "~"


def check_output_path(path, owner="save_classifier"):
    """``path`` as a Path, if a classifier can be written there: not a folder, nor under a file
    (missing folders are made when it is written).

    Parameters
    ----------
    path : str or path-like
    owner : str, default="save_classifier"
        Who writes it, for the message.

    Returns
    -------
    path : pathlib.Path
    """
    path = _as_path(path, owner)
    existing = next(parent for parent in path.parents if parent.exists())  # made when missing
    if path.is_dir() or not existing.is_dir():
        raise InvalidParameterError(
            f"{owner} cannot write {os.fspath(path)!r}: "
            + ("it is a folder" if path.is_dir() else f"{os.fspath(existing)!r} is a file, not a folder")
            + ". Give the path of a file (e.g. 'out/adapted.clipfer')."
        )
    return path


def _write_atomically(path, members):
    """Write the archive beside ``path`` under a temporary name, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)  # as every --out of the CLI
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, data in members.items():
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same bytes each time
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; give it a new file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Reading ------------------------------------------------------------------------


def _refuse(path, why, fix="Load only files written by clip_fer.save_classifier."):
    return ClassifierFileError(f"{os.fspath(path)!r} cannot be loaded as a clip-fer classifier: {why}. {fix}")


def _read_members(path):
    """The archive's members, checked against the manifest's hashes; nothing is interpreted yet."""
    path = _as_path(path, "load_classifier")
    if path.is_dir():
        raise _refuse(path, "it is a folder", "Give the path of the file clip_fer.save_classifier wrote.")
    if not path.is_file():
        raise _refuse(path, "there is no such file", "Check the path.")
    with open(path, "rb") as file:
        head = file.read(4)
    if not zipfile.is_zipfile(path):
        if head[:1] in _PICKLE_MAGIC:
            raise _refuse(
                path,
                "it looks like a pickle, which can run code when loaded, so load_classifier never opens one",
                "Ask for the classifier saved with clip_fer.save_classifier, or, if you trust its "
                "author and the file, unpickle it yourself and save it with save_classifier.",
            )
        raise _refuse(path, "it is not a zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            return _checked_members(archive, path)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: zipfile's "is encrypted, password required" (save_classifier never encrypts)
        raise _refuse(path, f"the archive is damaged ({exc})") from None


def _checked_members(archive, path):
    """The members of an open archive, checked against its manifest."""
    infos = archive.infolist()
    too_big = [i.filename for i in infos if i.file_size > _MAX_MEMBER_BYTES]
    if too_big:
        raise _refuse(path, f"its member {too_big[0]!r} says it is over {_MAX_MEMBER_BYTES >> 30} GiB")
    bombs = [
        i.filename for i in infos if i.file_size > _BOMB_BYTES and i.file_size > _BOMB_RATIO * i.compress_size
    ]
    if bombs:  # arrays of features compress little; this is a "zip bomb", read it would fill memory
        raise _refuse(
            path, f"its member {bombs[0]!r} unpacks to over {_BOMB_RATIO} times its packed size (a zip bomb?)"
        )
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise _refuse(path, "it holds two members of the same name (the file was altered)")
    if _MANIFEST not in names:
        raise _refuse(path, "it is a zip archive without manifest.json (a torch or other archive?)")
    manifest = _json(archive.read(_MANIFEST), path, _MANIFEST)
    _check_manifest(manifest, path)
    listed = manifest["members"]
    odd = sorted(name for name in listed if name != _TREE and not _ARRAY_NAME.fullmatch(name))
    if odd:  # nothing is extracted, but a name like '../x' or '/x' is no part of the format
        raise _refuse(path, f"its manifest lists members the format has not ({odd[:3]})")
    extra, absent = sorted(set(names) - set(listed) - {_MANIFEST}), sorted(set(listed) - set(names))
    if extra or absent:
        raise _refuse(path, f"its members differ from its manifest (extra {extra}, missing {absent})")
    members = {}
    for name, expected in listed.items():
        data = archive.read(name)
        if _sha256(data) != expected:
            raise _refuse(
                path, f"the member {name!r} does not match the hash in its manifest (it was altered)"
            )
        members[name] = data
    return manifest, members


def _json(data, path, member):
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refuse(path, f"its {member} is not valid JSON ({type(exc).__name__}: {exc})") from None


def _no_constant(name):
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _check_manifest(manifest, path):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(path, f"its manifest does not name the format {FORMAT!r}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refuse(path, f"its manifest's format_version is {version!r}, not a version number")
    if version > FORMAT_VERSION:
        raise _refuse(
            path,
            f"it was written in format version {version} by a newer clip-fer; this one reads up to "
            f"version {FORMAT_VERSION}",
            "Upgrade clip-fer (pip install -U clip-fer).",
        )
    members = manifest.get("members")
    if (
        not isinstance(members, dict)
        or _TREE not in members
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in members.items())
    ):
        raise _refuse(path, "its manifest does not list its members and their hashes")


def _check_params(estimator):
    """Check an estimator's parameters against its declared constraints, as its ``fit``
    does, through scikit-learn's ``_validate_params`` protocol (a BaseEstimator method
    that clip-fer's classes override for their messages); a class without declared
    constraints has nothing to check."""
    validate = getattr(estimator, "_validate_params", None)  # scikit-learn's, not clip-fer's privacy
    if validate is not None and hasattr(estimator, "_parameter_constraints"):
        validate()


class _Reader:
    """Rebuilds a classifier from the tree, trusting only :func:`trusted_types`."""

    def __init__(self, path, members, model, settings):
        self.path, self.members, self.model, self.settings = path, members, model, settings
        self.objects = {}
        self.types = trusted_types()

    def bad(self, why):
        return _refuse(self.path, f"{why} (the file was altered or is damaged)")

    def decode(self, node, depth=0):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if depth > _MAX_DEPTH:  # before Python's recursion limit turns it into a RecursionError
            raise self.bad(f"classifier.json nests values over {_MAX_DEPTH} deep")
        depth += 1
        if isinstance(node, list):
            return [self.decode(v, depth) for v in node]
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.bad(f"classifier.json holds an untagged value {str(node)[:60]!r}")
        kind = node["type"]
        if kind == "tuple":
            return tuple(self.decode(v, depth) for v in self._field(node, "items", list))
        if kind == "dict":
            return {k: self.decode(v, depth) for k, v in self._field(node, "items", dict).items()}
        if kind == "float":
            value = self._field(node, "value", str)
            if value not in _NON_FINITE:
                raise self.bad(f"a float node holds {value[:20]!r}")
            return float(value)
        if kind == "path":
            return Path(self._field(node, "value", str))
        if kind == "array":
            return self.array(self._field(node, "member", str))
        if kind == "text_array":
            return self.text_array(node)
        if kind == "model_object":
            return self.model_object(node)
        if kind == "ref":
            found = self.objects.get(node.get("id"))
            if found is None:
                raise self.bad(f"classifier.json refers to object {node.get('id')!r} before defining it")
            return found
        if kind == "object":
            return self.object(node, depth)
        raise self.bad(f"classifier.json holds a node of unknown type {kind!r}")

    def _field(self, node, key, kind):
        value = node.get(key)
        if not isinstance(value, kind):
            raise self.bad(f"a {node.get('type')!r} node lacks its {key!r}")
        return value

    def array(self, member):
        if not member.startswith("arrays/") or member not in self.members:
            raise self.bad(f"classifier.json names an array member {member!r} that the archive lacks")
        try:
            array = np.load(io.BytesIO(self.members[member]), allow_pickle=False)
        except ValueError as exc:  # an object array (it would need pickle) or a malformed header
            raise self.bad(f"the array {member!r} cannot be read without pickle ({exc})") from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise self.bad(f"the array {member!r} is of dtype {array.dtype}, not numeric")
        return array

    def text_array(self, node):
        dtype, shape = self._field(node, "dtype", str), self._field(node, "shape", list)
        if dtype != "|O" and not (
            dtype[:2] in ("<U", ">U") and dtype[2:].isdigit() and int(dtype[2:]) < 1 << 16
        ):
            raise self.bad(f"a text array has dtype {dtype!r}")
        items = self._field(node, "items", list)
        array = np.empty(len(items), dtype=object) if len(shape) == 1 else None
        if array is not None:
            array[:] = items
        else:
            array = np.array(items, dtype=object)
        if list(array.shape) != shape or not all(
            v is None or isinstance(v, (str, bool, int, float)) for v in array.ravel().tolist()
        ):
            raise self.bad(
                "a text array's items do not match its shape or hold other than strings and numbers"
            )
        return array.astype(np.dtype(dtype)) if dtype != "|O" else array

    def model_object(self, node):
        self._field(node, "identity", str)  # checked against the model by check_model
        if self.model is None:
            raise ModelLoadError(
                f"{os.fspath(self.path)!r} was saved from a classifier given a model object "
                f"({node.get('description')}); a model object is saved by its identity, not its "
                "weights. Give the model back: load_classifier(path, model=...) with that model "
                "object or the path of its checkpoint."
            )
        return self.model

    def object(self, node, depth):
        name = self._field(node, "class", str)
        if name not in self.types:
            raise _refuse(
                self.path,
                f"it holds a {name!r}, which is not a type clip-fer loads",
                f"This clip-fer loads {', '.join(sorted(n.rsplit('.', 1)[1] for n in self.types))}.",
            )
        cls, kind = self.types[name]
        params = {k: self.decode(v, depth) for k, v in self._field(node, "params", dict).items()}
        fitted = {k: self.decode(v, depth) for k, v in self._field(node, "fitted", dict).items()}
        allowed = set(kind.fitted) | set(kind.optional)
        if set(fitted) - allowed:
            raise self.bad(
                f"a {cls.__name__} has fitted attributes {sorted(set(fitted) - allowed)} it cannot have"
            )
        missing = [a for a in kind.fitted if a not in fitted]
        if fitted and missing:
            raise self.bad(f"a {cls.__name__} is partly fitted: it lacks {missing}")
        try:
            obj = cls(**params)
        except TypeError as exc:  # a parameter this version of the class does not take
            raise _refuse(
                self.path,
                f"its {cls.__name__} has parameters this version does not take ({exc})",
                "Load it with the clip-fer and scikit-learn versions named in its manifest.",
            ) from None
        self.check_values(obj, lambda: _check_params(obj), "parameters")
        if _qualified(cls) == _ZERO_SHOT:  # the caller's settings: their errors are the caller's
            obj.set_params(**self.settings, **({} if self.model is None else {"model": self.model}))
            _check_params(obj)
        for key, value in fitted.items():
            setattr(obj, key, value)
        if fitted and kind.check is not None:
            self.check_values(obj, lambda: kind.check(obj), "fitted values")
        if "model_identity_" in fitted:
            self.check_model(obj)
        number = node.get("id")
        if number is not None:
            self.objects[number] = obj
        return obj

    def check_values(self, obj, check, what):
        """Run ``check``; a value it refuses makes the file one this version cannot load."""
        from .exceptions import ClipFerError

        if check is None:
            return
        try:
            check()
        except (ClipFerError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise self.bad(
                f"its {type(obj).__name__} has {what} that save_classifier never writes: {exc}"
            ) from None

    def check_model(self, estimator):
        from .backends._base import LoadedModel
        from .backends._loading import model_identity

        saved = estimator.model_identity_
        found = model_identity(estimator.model, estimator.download_root)
        if found != saved:
            model = estimator.model
            name = repr(model) if isinstance(model, LoadedModel) else repr(os.fspath(model))
            raise ModelChangedError(
                f"{os.fspath(self.path)!r} was fitted with another model than {name} is here "
                f"(identity {found[:12]} here, {saved[:12]} in the file): its text features belong "
                "to that model. The file at that name was replaced, or is missing on this machine. "
                "Give the original model with load_classifier(path, model=...)."
            )


def load_classifier(path, *, model=None, **settings):
    """Read a classifier written by :func:`save_classifier`; nothing in the file is executed.

    The archive is checked before anything in it is used: its format and
    version, the SHA-256 hash of every member against its manifest, and the
    type of every object against a fixed list. Arrays are read with
    ``np.load(allow_pickle=False)``; no code path calls ``pickle`` or
    ``torch.load``. Then the model's identity is checked: the model must be
    the one the classifier was fitted with (the same weights, config and
    tokenizer). The model itself is loaded on the first prediction.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_classifier`.
    model : str, path-like or LoadedModel, default=None
        The model to use in place of the saved name: the checkpoint's path on
        this machine, or a model object. Required when the classifier was
        saved with a model object. Its identity must match the saved one.
    **settings
        Parameters to set on the zero-shot estimator(s) inside: how images
        are read and encoded (``device``, ``batch_size``, ``num_workers``,
        ``cache``, ``cache_dir``, ``on_error``, ``verbose``,
        ``download_root``), never what the fit learned. Saved values
        otherwise.

    Returns
    -------
    classifier : estimator
        The fitted classifier, of the type saved; its probabilities are the
        saved object's.

    Raises
    ------
    ClassifierFileError
        The file is not an archive this version reads: a pickle, another zip
        file, an archive altered after it was written (a member's hash
        differs), or one written by a newer clip-fer.
    ModelChangedError
        The model at the saved name (or ``model``) is not the one the
        classifier was fitted with.
    ModelLoadError
        The classifier was saved with a model object and ``model`` is None.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InvalidParameterError(
            f"load_classifier got {unknown}; it sets only {list(SETTINGS)} on a saved classifier "
            "(the rest is what the fit learned). Change other parameters with set_params after loading."
        )
    manifest, members = _read_members(path)
    tree = _json(members[_TREE], path, _TREE)
    classifier = _Reader(path, members, model, settings).decode(tree)
    if type(classifier).__name__ not in _TOP_LEVEL or not hasattr(classifier, "classes_"):
        state = "" if hasattr(classifier, "classes_") else " not fitted"
        raise _refuse(
            path,
            f"it holds a {type(classifier).__name__}{state}, not a fitted classifier save_classifier "
            "writes (the file was altered or is damaged)",
        )
    return classifier
