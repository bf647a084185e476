"""Saved classifiers, hostile round: files and paths nobody on the project made.

Each archive here is a real one, edited, with its manifest's hashes recomputed, so
that only the checks of what the values are can refuse it. The reference for
"refused" is a :class:`ClassifierFileError` naming the file (never a raw error at
load or a silently wrong probability later); for "taken" it is the saved object's
own ``predict_proba``. Cases and results: docs/bad-inputs.md, "Saved classifiers,
hostile round".
"""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from test_persistence import fitted_classifiers

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier, load_classifier, save_classifier
from clip_fer.exceptions import ClassifierFileError, InvalidParameterError


@pytest.fixture(scope="module")
def fitted(toy_checkpoint):
    """One of each savable kind (``test_persistence.fitted_classifiers``); tests must not change them."""
    return fitted_classifiers(toy_checkpoint)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members, compression=zipfile.ZIP_STORED):
    """Write ``members`` with a manifest whose hashes match them (a consistent forgery)."""
    manifest = json.loads(members["manifest.json"])
    manifest["members"] = {
        name: hashlib.sha256(data).hexdigest() for name, data in members.items() if name != "manifest.json"
    }
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _forged(fitted, tmp_path, name, edit):
    """The saved classifier ``name`` with ``edit(tree, members)`` applied and rehashed."""
    classifiers, _ = fitted
    path = save_classifier(classifiers[name], tmp_path / f"{name}.clipfer")
    members = _members(path)
    tree = json.loads(members["classifier.json"])
    tree = edit(tree, members) or tree
    members["classifier.json"] = json.dumps(tree).encode()
    return _write(path, members)


def _zero_shot(tree):
    return tree["fitted"]["estimator_"]


def _set_array(members, node, change):
    member = node["member"]
    members[member] = _npy(change(np.load(io.BytesIO(members[member]))))


def _set(where, key, value):
    def edit(tree, members):
        where(tree)[key] = value

    return edit


def _array(where, key, change):
    def edit(tree, members):
        _set_array(members, where(tree)[key], change)

    return edit


def _fitted(tree):
    return tree["fitted"]


def _zero_shot_fitted(tree):
    return _zero_shot(tree)["fitted"]


def _bank_fitted(tree):
    return _zero_shot_fitted(tree)["prompt_bank_"]["fitted"]


def _drop_temperature(tree, members):
    del tree["fitted"]["temperature_"]


def _reverse_classes(tree, members):
    tree["fitted"]["classes_"]["items"].reverse()


NAN = {"type": "float", "value": "nan"}


@pytest.mark.parametrize(
    "name, edit, message",
    [
        ("tip", _array(_zero_shot_fitted, "text_features_", lambda a: np.full_like(a, np.nan)), "NaN"),
        ("tip", _array(_zero_shot_fitted, "text_features_", lambda a: a[:3]), "3 rows for 63 sentences"),
        ("tip", _array(_zero_shot_fitted, "text_features_", np.ravel), "not a 2-D array of floats"),
        ("tip", _array(_zero_shot_fitted, "text_features_", lambda a: a > 0), "not a 2-D array of floats"),
        ("tip", _array(_fitted, "shot_embeddings_", lambda a: a[:, :5]), "width 5, the text features 32"),
        ("tip", _array(_fitted, "shot_labels_", lambda a: a + 7), "not class indices"),
        ("tip", _set(_fitted, "temperature_", -1.0), r"temperature_ is -1\.0, not > 0"),
        ("tip", _set(_fitted, "temperature_", 0), "temperature_ is 0, not > 0"),
        ("tip", _set(_fitted, "temperature_", NAN), "temperature_ is nan"),
        ("tip", _set(_fitted, "temperature_", "hot"), "temperature_ is 'hot'"),
        ("tip", _set(_fitted, "alpha_", -5.0), r"alpha_ is -5\.0"),
        ("tip", _set(lambda t: t["params"], "alpha", -5.0), "'alpha' parameter"),
        ("tip", _set(lambda t: _zero_shot(t)["params"], "precomputed", "yes"), "'precomputed' parameter"),
        ("tip", _set(_zero_shot_fitted, "model_identity_", 5), "model_identity_ is 5"),
        ("tip", _reverse_classes, r"classes_ \['surprise'"),
        ("tip", _set(_zero_shot_fitted, "synonym_folder_", None), "synonym_folder_ is a NoneType"),
        (
            "tip",
            _array(_bank_fitted, "word_class_", np.zeros_like),
            r"Classes \[1, 2, 3, 4, 5, 6\] have no words",
        ),
        ("tip", _set(_fitted, "classes_", ["a", "b", "c"]), "differ from the estimator's"),
        ("tip", _drop_temperature, r"partly fitted: it lacks \['temperature_'\]"),
        ("probe", _array(lambda t: t["fitted"]["probe_"]["fitted"], "coef_", lambda a: a[:, :4]), "coef_"),
        (
            "calibrated",
            _set(
                lambda t: t["fitted"]["calibrated_classifiers_"][0]["params"]["calibrators"][0]["fitted"],
                "beta_",
                -3.0,
            ),
            r"beta_ \(inverse temperature\) is -3\.0",
        ),
        ("tip", lambda t, m: t["fitted"]["estimator_"]["fitted"]["prompt_bank_"], "holds a PromptBank"),
        ("tip", lambda t, m: {**t, "fitted": {}}, "holds a FewShotEmotionClassifier not fitted"),
        (
            "tip",
            lambda t, m: {
                "type": "object",
                "class": "sklearn.linear_model._logistic.LogisticRegression",
                "params": {},
                "fitted": {},
            },
            "holds a LogisticRegression",
        ),
        ("tip", lambda t, m: [1, 2], "holds a list"),
        (
            "tip",
            _set(
                _fitted,
                "classes_",
                {"type": "text_array", "dtype": "<U99999999999", "shape": [1], "items": ["a"]},
            ),
            "dtype",
        ),
    ],
)
def test_a_rehashed_file_with_values_no_fit_makes_is_refused_at_load(fitted, tmp_path, name, edit, message):
    path = _forged(fitted, tmp_path, name, edit)
    with pytest.raises(ClassifierFileError, match=message) as caught:
        load_classifier(path)
    assert repr(str(path)) in str(caught.value)


def test_what_a_file_may_hold_loads_with_the_saved_probabilities(fitted, tmp_path):
    """The edits that keep the values (Fortran order, big-endian floats, extra manifest keys) load."""
    classifiers, X = fitted

    def same_values(tree, members):
        _set_array(
            members, _zero_shot_fitted(tree)["text_features_"], lambda a: np.asfortranarray(a).astype(">f4")
        )
        manifest = json.loads(members["manifest.json"])
        manifest["comment"] = {"exec": "rm -rf /"}
        members["manifest.json"] = json.dumps(manifest).encode()

    path = _forged(fitted, tmp_path, "tip", same_values)
    np.testing.assert_array_equal(load_classifier(path).predict_proba(X), classifiers["tip"].predict_proba(X))


@pytest.mark.parametrize("member", ["../../evil", "/tmp/evil", "arrays/../x.npy", "arrays/01.npy"])
def test_a_member_name_outside_the_format_is_refused(fitted, tmp_path, member):
    path = _forged(fitted, tmp_path, "tip", lambda tree, members: members.__setitem__(member, b"x"))
    with pytest.raises(ClassifierFileError, match="lists members the format has not"):
        load_classifier(path)


@pytest.mark.parametrize("depth", [500, 5000])
def test_deep_nesting_is_refused_not_a_recursion_error(fitted, tmp_path, depth):
    def nest(tree, members):
        tree["params"]["nested"] = "PLACEHOLDER"

    path = _forged(fitted, tmp_path, "tip", nest)
    members = _members(path)
    text = members["classifier.json"].decode().replace('"PLACEHOLDER"', "[" * depth + "]" * depth)
    members["classifier.json"] = text.encode()
    _write(path, members)
    with pytest.raises(ClassifierFileError, match="nests values over 100 deep|not valid JSON"):
        load_classifier(path)


def test_a_zip_bomb_member_is_refused_before_it_is_read(fitted, tmp_path, monkeypatch):
    classifiers, _ = fitted
    path = save_classifier(classifiers["tip"], tmp_path / "bomb.clipfer")
    members = _members(path)
    members["arrays/99.npy"] = bytes(65 << 20)  # 65 MiB of zeros pack to about 65 KiB
    _write(path, members, compression=zipfile.ZIP_DEFLATED)
    reads = []
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, name: reads.append(name))
    with pytest.raises(ClassifierFileError, match=r"'arrays/99\.npy' unpacks to over 100 times"):
        load_classifier(path)
    assert reads == []


def test_saving_to_a_folder_or_under_a_file_is_named(fitted, tmp_path):
    classifiers, _ = fitted
    with pytest.raises(InvalidParameterError, match="it is a folder"):
        save_classifier(classifiers["tip"], tmp_path)
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(InvalidParameterError, match=r"'.*plain' is a file, not a folder"):
        save_classifier(classifiers["tip"], tmp_path / "plain" / "x.clipfer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]  # nothing left behind


def test_an_unfitted_classifier_is_named_at_save(tmp_path):
    for clf in (ZeroShotEmotionClassifier(), FewShotEmotionClassifier()):
        with pytest.raises(NotFittedError, match="save_classifier writes fitted classifiers"):
            save_classifier(clf, tmp_path / "x.clipfer")


def test_a_failed_write_keeps_the_old_file(fitted, tmp_path, monkeypatch):
    """A read-only folder, as this suite often runs as root: the temporary file cannot be made."""
    import tempfile

    classifiers, X = fitted
    path = save_classifier(classifiers["tip"], tmp_path / "x.clipfer")
    before = path.read_bytes()

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError):
        save_classifier(classifiers["probe"], path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


# The command line ------------------------------------------------------------------------


def _faces(folder, classes, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in classes:
        (folder / c).mkdir(parents=True)
        face = np.kron(rng.integers(0, 256, size=(6, 6)), np.ones((8, 8))).astype(np.uint8)
        Image.fromarray(face).save(folder / c / f"{c}.png")
    return folder


def test_evaluate_names_the_labels_a_saved_classifier_lacks(toy_checkpoint, tmp_path, capsys):
    from clip_fer.cli import main

    path = save_classifier(ZeroShotEmotionClassifier(model=toy_checkpoint).fit(), tmp_path / "z.clipfer")
    data = _faces(tmp_path / "data", ["happy", "contempt"])
    assert main(["evaluate", "--data", str(data), "--classifier", str(path)]) != 0
    error = capsys.readouterr().err
    assert "the data have labels ['contempt'] that the classifier" in error and str(path) in error


def test_adapt_checks_its_out_path_before_the_fit(toy_checkpoint, tmp_path, capsys, monkeypatch):
    """A folder is refused before the fit; a missing parent folder is made (as evaluate's --out)."""
    from clip_fer.cli import main

    shots = _faces(tmp_path / "shots", ["happy", "sad"])
    with monkeypatch.context() as patched:
        patched.setattr(FewShotEmotionClassifier, "fit", lambda *a, **k: pytest.fail("fitted before --out"))
        assert main(["adapt", str(shots), "--model", toy_checkpoint, "--out", str(tmp_path)]) != 0
        assert "it is a folder" in capsys.readouterr().err
    out = tmp_path / "absent" / "x.clipfer"
    assert main(["adapt", str(shots), "--model", toy_checkpoint, "--out", str(out)]) == 0
    assert type(load_classifier(out)) is FewShotEmotionClassifier


def test_a_folder_given_as_classifier_is_named(tmp_path):
    with pytest.raises(ClassifierFileError, match="it is a folder"):
        load_classifier(tmp_path)


def test_an_encrypted_member_is_refused(fitted, tmp_path):
    classifiers, _ = fitted
    path = save_classifier(classifiers["tip"], tmp_path / "x.clipfer")
    data = bytearray(path.read_bytes())
    data[data.find(b"PK\x03\x04") + 6] |= 1  # the "encrypted" flag of the first member
    data[data.find(b"PK\x01\x02") + 8] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ClassifierFileError, match="encrypted"):
        load_classifier(path)


@pytest.mark.parametrize("path", [None, b"x.clipfer", 3])
def test_a_path_that_is_no_path_is_named(fitted, path):
    classifiers, _ = fitted
    with pytest.raises(InvalidParameterError, match="The 'path' of load_classifier must be"):
        load_classifier(path)
    with pytest.raises(InvalidParameterError, match="The 'path' of save_classifier must be"):
        save_classifier(classifiers["tip"], path)
