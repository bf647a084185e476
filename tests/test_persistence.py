"""save_classifier / load_classifier: a pickle-free archive, checked before anything is used."""

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_FER_CLIP, Payload, build_toy_clip, needs_fer2013, needs_tiny_fer_clip
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

from clip_fer import (
    FewShotEmotionClassifier,
    MeanProbaDecider,
    PromptBank,
    ZeroShotEmotionClassifier,
    load_classifier,
    load_model,
    save_classifier,
)
from clip_fer._persistence import FORMAT_VERSION, public_fitted_attributes, trusted_types
from clip_fer.exceptions import ClassifierFileError, InvalidParameterError, ModelChangedError, ModelLoadError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkpoint(tmp_path):
    """A toy checkpoint of this test's own, so that tests may replace it."""
    path = tmp_path / "models" / "toy.pt"
    path.parent.mkdir()
    torch.save(build_toy_clip().state_dict(), path)
    return str(path)


def clustered(width, n_per_class, classes, seed=0):
    """Unit embeddings in one cluster per class: a probe learns them, the prompts do not."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(size=(len(classes), width))
    X = np.concatenate([c + 0.6 * rng.normal(size=(n_per_class, width)) for c in centres])
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.repeat(
        np.asarray(classes, dtype=object), n_per_class
    )


def fitted_classifiers(model):
    """One of each savable kind over embeddings, and the inputs to compare them on."""
    zero_shot = ZeroShotEmotionClassifier(model=model, precomputed=True).fit()
    X, y = clustered(zero_shot.text_features_.shape[1], 8, zero_shot.classes_)
    tip = FewShotEmotionClassifier(zero_shot, significance=1.0).fit(X, y)
    probe = FewShotEmotionClassifier(zero_shot, method="interpolation", alpha=0.6, abstain_below=0.3).fit(
        X, y
    )
    calibrated = CalibratedClassifierCV(FrozenEstimator(probe), method="temperature").fit(X, y)
    mean = clone(zero_shot).set_params(decider=MeanProbaDecider(), abstain_below=0.2).fit()
    calibrated_zero_shot = CalibratedClassifierCV(FrozenEstimator(mean), method="temperature").fit(X, y)
    X_new, _ = clustered(zero_shot.text_features_.shape[1], 3, zero_shot.classes_, seed=1)
    classifiers = {
        "zero_shot": zero_shot,
        "tip": tip,
        "probe": probe,
        "calibrated": calibrated,
        "calibrated_zero_shot": calibrated_zero_shot,
    }
    return classifiers, X_new


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """``fitted_classifiers`` over a checkpoint no test replaces; tests must not change them."""
    path = tmp_path_factory.mktemp("models") / "toy.pt"
    torch.save(build_toy_clip().state_dict(), path)
    return fitted_classifiers(str(path))


def test_the_fits_exercise_every_fitted_value(fitted):
    classifiers, _ = fitted
    assert classifiers["tip"].alpha_ > 0 and classifiers["tip"].shot_embeddings_ is not None
    assert classifiers["probe"].probe_ is not None


_LOAD_IN_A_NEW_PROCESS = """
import sys
import numpy as np
from clip_fer import load_classifier
X = np.load(sys.argv[1])
for path in sys.argv[2:]:
    clf = load_classifier(path)
    np.save(path + ".proba.npy", clf.predict_proba(X))
    np.save(path + ".labels.npy", np.asarray(clf.predict(X), dtype=str))
"""


def run_python(code, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_a_new_process_gives_the_saved_probabilities(fitted, tmp_path):
    classifiers, X_new = fitted
    np.save(tmp_path / "X.npy", X_new)
    paths = [save_classifier(clf, tmp_path / f"{name}.clipfer") for name, clf in classifiers.items()]
    run_python(_LOAD_IN_A_NEW_PROCESS, tmp_path / "X.npy", *paths)
    for path, clf in zip(paths, classifiers.values()):
        np.testing.assert_allclose(np.load(f"{path}.proba.npy"), clf.predict_proba(X_new), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(
            np.load(f"{path}.labels.npy"), np.asarray(clf.predict(X_new), dtype=str)
        )


def test_round_trip_keeps_parameters_and_fitted_values(fitted, tmp_path):
    classifiers, X_new = fitted
    for name, clf in classifiers.items():
        loaded = load_classifier(save_classifier(clf, tmp_path / f"{name}.clipfer"))
        assert type(loaded) is type(clf)
        assert loaded.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
        np.testing.assert_array_equal(loaded.predict_proba(X_new), clf.predict_proba(X_new))
    probe = load_classifier(tmp_path / "probe.clipfer")
    assert (
        probe.alpha_ == classifiers["probe"].alpha_
        and probe.temperature_ == classifiers["probe"].temperature_
    )
    np.testing.assert_array_equal(probe.probe_.coef_, classifiers["probe"].probe_.coef_)
    assert probe.abstain_below == 0.3
    with zipfile.ZipFile(tmp_path / "probe.clipfer") as archive:  # strict JSON (RFC 8259), no NaN
        json.loads(archive.read("classifier.json"), parse_constant=lambda name: pytest.fail(name))
    calibrated = load_classifier(tmp_path / "calibrated.clipfer")
    assert calibrated.calibrated_classifiers_[0].estimator is calibrated.estimator  # shared, as fitted


def test_settings_change_how_images_are_read_not_what_was_learned(fitted, tmp_path):
    classifiers, X_new = fitted
    path = save_classifier(classifiers["calibrated"], tmp_path / "c.clipfer")
    loaded = load_classifier(path, batch_size=3, on_error="skip", device="cpu")
    inner = loaded.estimator.estimator
    assert (inner.estimator_.batch_size, inner.estimator_.on_error, inner.estimator.device) == (
        3,
        "skip",
        "cpu",
    )
    np.testing.assert_array_equal(loaded.predict_proba(X_new), classifiers["calibrated"].predict_proba(X_new))
    with pytest.raises(InvalidParameterError, match=r"load_classifier got \['prompt_bank'\]; it sets only"):
        load_classifier(path, prompt_bank=PromptBank())


def test_images_round_trip(checkpoint, tmp_path, face_arrays):
    zero_shot = ZeroShotEmotionClassifier(model=checkpoint).fit()
    labels = np.asarray(zero_shot.classes_)[np.arange(len(face_arrays)) % len(zero_shot.classes_)]
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.5).fit(face_arrays, labels)
    for clf in (zero_shot, few_shot):
        loaded = load_classifier(save_classifier(clf, tmp_path / "c.clipfer"))
        np.testing.assert_allclose(
            loaded.predict_proba(face_arrays[:4]), clf.predict_proba(face_arrays[:4]), atol=1e-6
        )


# Every fitted attribute is saved -------------------------------------------------


def _objects(value):
    """Every trusted object reachable from a classifier, through parameters and fitted values."""
    types = {cls for cls, _ in trusted_types().values()}
    if type(value) in types:
        yield value
        children = list(vars(value).values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    elif isinstance(value, dict):
        children = list(value.values())
    else:
        return
    for child in children:
        yield from _objects(child)


def test_registry_lists_exactly_the_fitted_attributes_of_each_class(fitted):
    classifiers, _ = fitted
    seen = {}
    for clf in classifiers.values():
        for obj in _objects(clf):
            seen.setdefault(type(obj), set()).update(public_fitted_attributes(obj))
    kinds = dict(trusted_types().values())
    assert set(seen) == set(kinds)  # every trusted type occurs in these fits
    for cls, attributes in seen.items():
        listed = set(kinds[cls].fitted) | set(kinds[cls].optional)
        assert attributes <= listed, f"{cls.__name__} has fitted attributes the registry does not save"
        assert set(kinds[cls].fitted) <= attributes, (
            f"{cls.__name__}: the registry lists attributes no fit sets"
        )


def test_an_unknown_fitted_attribute_is_an_error_not_a_loss(fitted, tmp_path):
    classifiers, _ = fitted
    classifiers["tip"].estimator_.new_thing_ = 1.0
    try:
        with pytest.raises(
            ClassifierFileError, match=r"does not know the fitted attribute\(s\) \['new_thing_'\]"
        ):
            save_classifier(classifiers["tip"], tmp_path / "c.clipfer")
    finally:
        del classifiers["tip"].estimator_.new_thing_
    assert not (tmp_path / "c.clipfer").exists()


# What cannot be saved --------------------------------------------------------------


def test_refuses_what_it_cannot_write(checkpoint, tmp_path):
    with pytest.raises(NotFittedError):
        save_classifier(ZeroShotEmotionClassifier(model=checkpoint), tmp_path / "c.clipfer")
    with pytest.raises(InvalidParameterError, match="got PromptBank"):
        save_classifier(PromptBank().fit(), tmp_path / "c.clipfer")

    class OwnBank(PromptBank):
        pass

    with pytest.raises(InvalidParameterError, match=r"cannot write the classifier\.prompt_bank.*OwnBank"):
        save_classifier(
            ZeroShotEmotionClassifier(model=checkpoint, prompt_bank=OwnBank()).fit(), tmp_path / "c"
        )
    zero_shot = ZeroShotEmotionClassifier(model=checkpoint, precomputed=True).fit()
    X, y = clustered(32, 8, zero_shot.classes_)
    sigmoid = CalibratedClassifierCV(FrozenEstimator(zero_shot), method="sigmoid").fit(X, y)
    with pytest.raises(InvalidParameterError, match="method='temperature' only; got method='sigmoid'"):
        save_classifier(sigmoid, tmp_path / "c.clipfer")
    assert sorted(os.listdir(tmp_path)) == ["models"]  # nothing written, no temporary file left


def test_write_is_atomic(fitted, tmp_path, monkeypatch):
    classifiers, X_new = fitted
    path = save_classifier(classifiers["zero_shot"], tmp_path / "c.clipfer")
    before = path.read_bytes()

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save_classifier(classifiers["probe"], path)
    assert path.read_bytes() == before  # the old file is whole
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # the mode of any new file, not mkstemp's 0o600
    assert os.listdir(tmp_path) == ["c.clipfer"]  # the temporary file is gone


# The model's identity -----------------------------------------------------------------


def test_a_replaced_checkpoint_is_refused(checkpoint, tmp_path):
    classifiers, X_new = fitted_classifiers(checkpoint)
    path = save_classifier(classifiers["tip"], tmp_path / "c.clipfer")
    original = tmp_path / "kept.pt"
    shutil.copy(checkpoint, original)
    torch.save(build_toy_clip(seed=1).state_dict(), checkpoint)  # another model under the same name
    with pytest.raises(ModelChangedError, match=r"fitted with another model than '.*toy\.pt' is here"):
        load_classifier(path)
    os.remove(checkpoint)
    with pytest.raises(ModelChangedError, match=r"replaced, or is missing on this machine"):
        load_classifier(path)
    # The original model found elsewhere: model= names it.
    moved = load_classifier(path, model=str(original))
    assert moved.estimator_.model == str(original)
    np.testing.assert_array_equal(moved.predict_proba(X_new), classifiers["tip"].predict_proba(X_new))


def test_a_model_object_is_saved_by_identity_and_given_back(checkpoint, tmp_path):
    model = load_model(checkpoint)
    zero_shot = ZeroShotEmotionClassifier(model=model, precomputed=True).fit()
    X, y = clustered(zero_shot.text_features_.shape[1], 6, zero_shot.classes_)
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.5).fit(X, y)
    path = save_classifier(few_shot, tmp_path / "c.clipfer")
    assert b"state_dict" not in path.read_bytes()
    with pytest.raises(
        ModelLoadError,
        match=r"saved from a classifier given a model object .*load_classifier\(path, model=\.\.\.\)",
    ):
        load_classifier(path)
    for given in (model, checkpoint):  # the object, or the checkpoint it was loaded from
        np.testing.assert_array_equal(
            load_classifier(path, model=given).predict_proba(X), few_shot.predict_proba(X)
        )
    other = tmp_path / "other.pt"
    torch.save(build_toy_clip(seed=2).state_dict(), other)
    with pytest.raises(ModelChangedError):
        load_classifier(path, model=str(other))


# Files that are not a saved classifier ------------------------------------------------


def test_a_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"clf{protocol}.pkl"
        path.write_bytes(pickle.dumps(Payload(marker), protocol=protocol))
        with pytest.raises(ClassifierFileError, match="looks like a pickle"):
            load_classifier(path)
    assert not marker.exists()


def _rewrite(path, change, rehash=True):
    """Rewrite an archive with ``change(members)`` applied, the manifest's hashes updated or not."""
    import hashlib

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    manifest = json.loads(members["manifest.json"])
    if rehash:
        manifest["members"] = {
            name: hashlib.sha256(data).hexdigest()
            for name, data in members.items()
            if name != "manifest.json"
        }
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture
def saved(fitted, tmp_path):
    classifiers, _ = fitted
    return save_classifier(classifiers["calibrated"], tmp_path / "c.clipfer")


def _tree(members):
    return json.loads(members["classifier.json"])


def _set_tree(members, tree):
    members["classifier.json"] = json.dumps(tree).encode()


def _edit_a_class_name(members):
    tree = _tree(members)
    tree["fitted"]["classes_"]["items"][0] = "joy"
    _set_tree(members, tree)


def _flip_a_bit_of_an_array(members):
    data = bytearray(members["arrays/0.npy"])
    data[-1] ^= 1
    members["arrays/0.npy"] = bytes(data)


def _add_a_member(members):
    members["payload.pkl"] = pickle.dumps(1)


def _raise_the_version(members):
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = FORMAT_VERSION + 1
    members["manifest.json"] = json.dumps(manifest).encode()


def _store_an_object_array(members):
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload("x")], dtype=object), allow_pickle=True)
    members["arrays/0.npy"] = buffer.getvalue()


@pytest.mark.parametrize(
    "edit, rehash, message",
    [
        (_edit_a_class_name, False, r"'classifier\.json' does not match the hash in its manifest"),
        (_flip_a_bit_of_an_array, False, r"'arrays/0\.npy' does not match the hash"),
        (_add_a_member, False, r"members differ from its manifest \(extra \['payload\.pkl'\]"),
        (_raise_the_version, True, rf"format version {FORMAT_VERSION + 1} by a newer clip-fer.*Upgrade"),
        (_store_an_object_array, True, r"'arrays/0\.npy' cannot be read without pickle"),
    ],
)
def test_an_altered_archive_is_refused(saved, edit, rehash, message):
    _rewrite(saved, edit, rehash=rehash)
    with pytest.raises(ClassifierFileError, match=message):
        load_classifier(saved)


def test_a_consistent_archive_naming_other_code_runs_nothing(saved, tmp_path):
    """Even with hashes recomputed, a file can only name trusted types and plain arrays."""
    marker = tmp_path / "pwned"

    def other_class(members):
        tree = _tree(members)
        tree["class"] = "builtins.open"
        tree["params"] = {"file": str(marker), "mode": "w"}
        _set_tree(members, tree)

    _rewrite(saved, other_class)
    with pytest.raises(
        ClassifierFileError, match=r"holds a 'builtins\.open', which is not a type clip-fer loads"
    ):
        load_classifier(saved)
    assert not marker.exists()


def test_a_damaged_archive_is_refused(saved):
    data = bytearray(saved.read_bytes())
    data[50] ^= 0xFF  # inside the first member's compressed bytes (its header is 43 bytes)
    saved.write_bytes(bytes(data))
    with pytest.raises(ClassifierFileError, match="the archive is damaged"):
        load_classifier(saved)


def test_other_files_are_refused(checkpoint, tmp_path):
    with pytest.raises(ClassifierFileError, match="zip archive without manifest.json"):
        load_classifier(checkpoint)  # torch.save writes a zip
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ClassifierFileError, match="not a zip archive"):
        load_classifier(text)
    with pytest.raises(ClassifierFileError, match="there is no such file"):
        load_classifier(tmp_path / "absent.clipfer")


def test_loading_never_unpickles(fitted, tmp_path, monkeypatch):
    classifiers, X_new = fitted
    paths = {name: save_classifier(clf, tmp_path / f"{name}.clipfer") for name, clf in classifiers.items()}

    def forbidden(*args, **kwargs):
        raise AssertionError("load_classifier unpickled")

    original_torch_load = torch.load

    def torch_load(*args, weights_only=None, **kwargs):
        if weights_only is not True:
            raise AssertionError("load_classifier called torch.load without weights_only=True")
        return original_torch_load(*args, weights_only=True, **kwargs)

    original_np_load = np.load

    def np_load(*args, allow_pickle=False, **kwargs):
        if allow_pickle:
            raise AssertionError("load_classifier called np.load(allow_pickle=True)")
        return original_np_load(*args, allow_pickle=False, **kwargs)

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", torch_load)
    monkeypatch.setattr(np, "load", np_load)
    for name, path in paths.items():
        loaded = load_classifier(path)
        np.testing.assert_array_equal(loaded.predict_proba(X_new), classifiers[name].predict_proba(X_new))


# With the real checkpoint -------------------------------------------------------------


@needs_tiny_fer_clip
@needs_fer2013
@pytest.mark.slow
def test_few_shot_on_real_faces_in_a_new_process(tmp_path):
    from clip_fer.datasets import load_image_folder, sample_k_shot

    data = load_image_folder(TINY_FER_CLIP.parents[1] / "data" / "fer2013", split="public_test")
    shots_X, rest_X, shots_y, _ = sample_k_shot(data.images, data.target, k=4, random_state=0)
    zero_shot = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP))
    few_shot = FewShotEmotionClassifier(zero_shot, method="interpolation", alpha=0.5).fit(shots_X, shots_y)
    test = [str(p) for p in rest_X[:10]]
    np.save(tmp_path / "X.npy", np.array(test))
    path = save_classifier(few_shot, tmp_path / "few.clipfer")
    run_python(
        _LOAD_IN_A_NEW_PROCESS.replace("np.load(sys.argv[1])", "np.load(sys.argv[1]).tolist()"),
        tmp_path / "X.npy",
        path,
    )
    np.testing.assert_allclose(np.load(f"{path}.proba.npy"), few_shot.predict_proba(test), rtol=0, atol=1e-6)


def test_save_makes_missing_parent_folders(toy_checkpoint, tmp_path):
    """`clip-fer adapt --out out/adapted.clipfer` in a fresh clone (no out/) failed with a
    raw FileNotFoundError naming the temporary file."""
    from clip_fer import ZeroShotEmotionClassifier, load_classifier, save_classifier

    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    path = save_classifier(clf, tmp_path / "new" / "deeper" / "clf.clipfer")
    assert path.is_file()
    np.testing.assert_array_equal(load_classifier(path).text_features_, clf.text_features_)


def test_a_path_under_home_is_the_home_folders(toy_checkpoint, tmp_path, monkeypatch):
    """'~/x.clipfer' is written in the home folder, not in a new folder named '~'."""
    from clip_fer import ZeroShotEmotionClassifier, load_classifier, save_classifier

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    assert save_classifier(clf, "~/clf.clipfer") == tmp_path / "home" / "clf.clipfer"
    assert not (tmp_path / "~").exists()
    np.testing.assert_array_equal(load_classifier("~/clf.clipfer").text_features_, clf.text_features_)
