"""``clip-fer adapt`` and ``--classifier FILE`` on predict, evaluate and video."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import build_toy_clip
from PIL import Image
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from clip_fer import (
    FewShotEmotionClassifier,
    ZeroShotEmotionClassifier,
    load_classifier,
    save_classifier,
)
from clip_fer.cli import main
from clip_fer.datasets import load_image_folder
from tests.conftest import TwoFaces, adapted_classifiers

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def _lay_out(folder, per_class, seed):
    """``folder/class/*.png``: smooth random 48x48 gray faces, ``per_class`` each."""
    rng = np.random.default_rng(seed)
    for c in CLASSES:
        (folder / c).mkdir(parents=True)
        for i in range(per_class):
            face = np.kron(rng.integers(0, 256, size=(6, 6)), np.ones((8, 8))).astype(np.uint8)
            Image.fromarray(face).save(folder / c / f"{c}{i}.png")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("faces")
    return _lay_out(base / "shots", 3, 0), _lay_out(base / "cal", 2, 1), _lay_out(base / "test", 1, 2)


def _reference(model, shots, calibrate=None, method="tip"):
    """The same classifiers fitted in this process, from the same folders."""
    data = load_image_folder(shots)
    few_shot = FewShotEmotionClassifier(ZeroShotEmotionClassifier(model=model), method=method)
    few_shot.fit(data.images, data.target)
    if calibrate is None:
        return few_shot
    cal = load_image_folder(calibrate)
    calibrated = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature", cv=2)
    return calibrated.fit(cal.images, cal.target)


def _json_proba(capsys, classes):
    rows = json.loads(capsys.readouterr().out)
    return [r["image"] for r in rows], np.array([[r["probabilities"][c] for c in classes] for r in rows])


@pytest.mark.parametrize("calibrate", [False, True])
def test_adapt_then_predict_gives_the_in_process_probabilities(
    toy_checkpoint, folders, tmp_path, capsys, calibrate
):
    shots, cal, test = folders
    out = tmp_path / "adapted.clipfer"
    command = ["adapt", str(shots), "--model", toy_checkpoint, "--out", str(out), "--method", "interpolation"]
    assert main(command + (["--calibrate", str(cal)] if calibrate else [])) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "21 shots" in printed
    assert ("calibrated on 14 faces" in printed) == calibrate
    reference = _reference(toy_checkpoint, shots, cal if calibrate else None, method="interpolation")
    assert type(load_classifier(out)) is type(reference)

    assert main(["predict", str(test), "--classifier", str(out), "--format", "json", "--top-k", "7"]) == 0
    images, proba = _json_proba(capsys, reference.classes_)
    np.testing.assert_allclose(proba, reference.predict_proba(images), atol=1e-6)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint).fit().predict_proba(images)
    assert np.abs(proba - zero_shot).max() > 1e-3  # the adapted classifier, not the zero-shot one


def test_adapt_draws_k_per_class(toy_checkpoint, folders, tmp_path, capsys):
    shots, _, _ = folders
    out = tmp_path / "k.clipfer"
    assert (
        main(["adapt", str(shots), "--k", "2", "--seed", "3", "--model", toy_checkpoint, "--out", str(out)])
        == 0
    )
    assert "14 shots" in capsys.readouterr().out
    assert len(load_classifier(out).shot_labels_) == 14


def test_adapt_calibrates_on_the_faces_k_did_not_draw(toy_checkpoint, folders, tmp_path, capsys):
    from clip_fer.datasets import sample_k_shot

    shots, _, test = folders
    out = tmp_path / "rest.clipfer"
    command = [
        "adapt",
        str(shots),
        "--k",
        "1",
        "--calibrate",
        "rest",
        "--model",
        toy_checkpoint,
        "--out",
        str(out),
    ]
    assert main(command) == 0
    assert "calibrated on 14 faces from rest" in capsys.readouterr().out
    data = load_image_folder(shots)
    drawn, left, y_drawn, y_left = sample_k_shot(data.images, data.target, 1, random_state=0)
    few_shot = FewShotEmotionClassifier(ZeroShotEmotionClassifier(model=toy_checkpoint)).fit(drawn, y_drawn)
    reference = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature", cv=2).fit(
        left, y_left
    )
    images = sorted(str(p) for p in test.rglob("*.png"))
    np.testing.assert_allclose(
        load_classifier(out).predict_proba(images), reference.predict_proba(images), atol=1e-6
    )
    without_k = ["adapt", str(shots), "--calibrate", "rest", "--model", toy_checkpoint, "--out", str(out)]
    assert main(without_k) == 1
    assert "--calibrate rest calibrates on the faces --k did not draw; give --k" in capsys.readouterr().err


def test_evaluate_with_a_saved_classifier(toy_checkpoint, folders, tmp_path, capsys):
    shots, cal, test = folders
    out = tmp_path / "adapted.clipfer"
    reference = _reference(toy_checkpoint, shots, cal)
    save_classifier(reference, out)
    assert (
        main(["evaluate", "--data", str(test), "--classifier", str(out), "--out", str(tmp_path / "ev")]) == 0
    )
    assert f"classifier {out}" in capsys.readouterr().out
    import pandas as pd

    predictions = pd.read_csv(tmp_path / "ev" / "predictions.csv")
    expected = reference.predict_proba(predictions.path.tolist())
    got = predictions[[f"proba_{c}" for c in reference.classes_]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    accuracy = np.mean(reference.classes_[expected.argmax(axis=1)] == predictions.true_label.to_numpy())
    assert metrics["top1_accuracy"] == pytest.approx(accuracy)
    assert metrics["run"]["classifier"] == str(out)


def test_abstain_below_acts_on_calibrated_probabilities(toy_checkpoint, folders, tmp_path, capsys):
    shots, cal, test = folders
    out = tmp_path / "adapted.clipfer"
    reference = _reference(toy_checkpoint, shots, cal)
    save_classifier(reference, out)
    images = sorted(str(p) for p in test.rglob("*.png"))
    top = reference.predict_proba(images).max(axis=1)
    threshold = float(np.median(top))  # a row's own value sits on the edge: not below it, so answered
    command = [
        "predict",
        *images,
        "--classifier",
        str(out),
        "--format",
        "json",
        "--abstain-below",
        str(threshold),
    ]
    assert main(command) == 0
    rows = json.loads(capsys.readouterr().out)
    unsure = [r["labels"] == ["unsure"] for r in rows]
    assert unsure == (top < threshold).tolist() and 0 < sum(unsure) < len(rows)


def test_saved_zero_shot_with_faces_equals_the_built_one(toy_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("clip_fer.faces._cropping.BlazeFaceDetector", TwoFaces)
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, size=(80, 120, 3), dtype=np.uint8)).save(photo)
    saved = save_classifier(ZeroShotEmotionClassifier(model=toy_checkpoint).fit(), tmp_path / "zs.clipfer")
    command = ["predict", str(photo), "--faces", "--format", "json", "--abstain-below", "0.2"]
    assert main([*command, "--model", toy_checkpoint]) == 0
    built = json.loads(capsys.readouterr().out)
    assert main([*command, "--classifier", str(saved)]) == 0
    assert json.loads(capsys.readouterr().out) == built and len(built) == 2


def test_options_a_saved_classifier_already_holds_are_refused(toy_checkpoint, folders, tmp_path, capsys):
    _, _, test = folders
    saved = save_classifier(ZeroShotEmotionClassifier(model=toy_checkpoint).fit(), tmp_path / "zs.clipfer")
    assert (
        main(["predict", str(test), "--classifier", str(saved), "--bank", "openai", "--decider", "mean"]) == 1
    )
    err = capsys.readouterr().err
    assert "clip-fer: error: --bank, --decider cannot be used with --classifier" in err


@pytest.mark.parametrize("kind", ["few_shot", "calibrated"])
def test_faces_with_an_adapted_classifier_equal_predict_faces(
    toy_checkpoint, tmp_path, monkeypatch, capsys, kind
):
    from clip_fer import predict_faces

    monkeypatch.setattr("clip_fer.faces._cropping.BlazeFaceDetector", TwoFaces)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, size=(80, 120, 3), dtype=np.uint8)).save(photo)
    clf = adapted_classifiers(toy_checkpoint)[kind]
    saved = save_classifier(clf, tmp_path / "c.clipfer")
    expected = predict_faces(clf, [str(photo)], top_k=7)
    columns = [f"proba_{c}" for c in clf.classes_]
    top = expected[columns].to_numpy().max(axis=1)
    threshold = float(top.max())  # the other face is below it: one "unsure", one answer
    command = ["predict", str(photo), "--faces", "--format", "json", "--top-k", "7"]
    assert main([*command, "--classifier", str(saved), "--abstain-below", str(threshold)]) == 0
    rows = json.loads(capsys.readouterr().out)
    got = np.array([[r["probabilities"][c] for c in clf.classes_] for r in rows])
    np.testing.assert_allclose(got, expected[columns].to_numpy(), atol=1e-6)
    unsure = [r["labels"] == ["unsure"] for r in rows]
    assert unsure == (top < threshold).tolist() and sum(unsure) == 1  # on the edge: answered


def test_adapt_refuses_calibration_faces_that_are_shots(toy_checkpoint, folders, tmp_path, capsys):
    shots, _, _ = folders
    command = [
        "adapt",
        str(shots),
        "--calibrate",
        str(shots),
        "--model",
        toy_checkpoint,
        "--out",
        str(tmp_path / "x"),
    ]
    assert main(command) == 1
    assert "holds 21 of the shots" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_model_is_checked_and_can_be_found_elsewhere(folders, tmp_path, capsys):
    _, _, test = folders
    checkpoint = tmp_path / "m.pt"
    torch.save(build_toy_clip().state_dict(), checkpoint)
    saved = save_classifier(ZeroShotEmotionClassifier(model=str(checkpoint)).fit(), tmp_path / "zs.clipfer")
    shutil.move(checkpoint, tmp_path / "moved.pt")
    torch.save(build_toy_clip(seed=1).state_dict(), checkpoint)  # another model at the saved path
    assert main(["predict", str(test), "--classifier", str(saved)]) == 1
    assert "fitted with another model than" in capsys.readouterr().err
    assert (
        main(["predict", str(test), "--classifier", str(saved), "--model", str(tmp_path / "moved.pt")]) == 0
    )
