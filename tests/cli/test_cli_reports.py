"""`clip-fer evaluate` and `clip-fer experiment` end to end on the toy CLIP and a few faces."""

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_datasets import face, write_csv

from clip_fer import PromptBank, ZeroShotEmotionClassifier, report_experiment_configurations
from clip_fer.cli import main
from clip_fer.metrics import summarize

CLASSES = ["angry", "happy", "sad", "surprise"]


@pytest.fixture
def faces(tmp_path, face_arrays):
    """Eight faces in a split/class/ tree: 4 in train, 4 in public_test, one per class each."""
    root = tmp_path / "fer"
    for i, face_array in enumerate(face_arrays[:8]):
        folder = root / ("train" if i < 4 else "public_test") / CLASSES[i % 4]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(face_array).save(folder / f"face{i}.png")
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_writes_what_the_estimator_predicts(toy_checkpoint, faces, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, _ = run(
        capsys,
        "evaluate",
        "--data",
        faces,
        "--split",
        "public_test",
        "--model",
        toy_checkpoint,
        "--out",
        out_dir,
    )
    assert code == 0
    paths = sorted(str(p) for p in (faces / "public_test").glob("*/*.png"))
    y = [p.split("/")[-2] for p in paths]
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    ranked = clf.predict_topk(paths, k=3)
    expected = summarize(y, ranked, k=3)

    metrics = json.loads((out_dir / "metrics.json").read_text())
    for key in ("n_images", "top1_accuracy", "top3_accuracy", "macro_f1", "uar", "top3_macro_f1"):
        assert isinstance(metrics[key], (int, float)) and metrics[key] == pytest.approx(expected[key])
    assert metrics["n_images"] == 4
    assert metrics["confusion_matrix"]["labels"] == list(clf.classes_)
    assert np.sum(metrics["confusion_matrix"]["counts"]) == 4
    assert metrics["run"]["split"] == ["public_test"] and metrics["run"]["bank"] == "default"

    predictions = pd.read_csv(out_dir / "predictions.csv")
    assert list(predictions.columns) == [
        "path",
        "true_label",
        "label_1",
        "label_2",
        "label_3",
        *[f"proba_{c}" for c in clf.classes_],
        "error",
    ]
    assert predictions["path"].tolist() == paths and predictions["true_label"].tolist() == y
    assert predictions[["label_1", "label_2", "label_3"]].to_numpy().tolist() == ranked.tolist()
    np.testing.assert_allclose(predictions.filter(like="proba_").sum(axis=1), 1, atol=1e-4)

    report = (out_dir / "classification_report.txt").read_text()
    assert report.startswith("Top-1 predictions") and "The report's top-3 rule" in report
    assert (out_dir / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert f"| top-1 accuracy | {expected['top1_accuracy']:.3f} |" in out
    assert f"| top-3 accuracy | {expected['top3_accuracy']:.3f} |" in out
    assert "wrote metrics.json, predictions.csv, classification_report.txt, confusion_matrix.png" in out


def test_evaluate_a_csv_with_a_bank_and_no_out(toy_checkpoint, tmp_path, capsys):
    csv_path = write_csv(tmp_path / "fer2013.csv")
    code, out, _ = run(
        capsys,
        "evaluate",
        "--data",
        csv_path,
        "--split",
        "PublicTest",
        "--model",
        toy_checkpoint,
        "--bank",
        "openai",
        "--decider",
        "mean",
        "--reduce",
        "sum",
    )
    assert code == 0
    assert "clip-fer evaluate: 2 images from" in out and "bank openai (decider mean, reduce sum)" in out
    assert "wrote" not in out and not list(tmp_path.glob("*.json"))
    from clip_fer import MeanProbaDecider, SynonymFolder

    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint,
        prompt_bank=PromptBank.openai_fer2013(),
        decider=MeanProbaDecider(),
        synonym_folder=SynonymFolder("sum"),
    ).fit()
    expected = summarize(["sad", "neutral"], clf.predict_topk([face(1), face(2)], k=3), k=3)
    assert f"| macro F1 | {expected['macro_f1']:.3f} |" in out


def test_evaluate_without_matplotlib_skips_the_figure(toy_checkpoint, faces, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, _ = run(
        capsys, "evaluate", "--data", faces / "train", "--model", toy_checkpoint, "--out", tmp_path / "out"
    )
    assert code == 0
    assert "note: matplotlib is not installed, so confusion_matrix.png was skipped" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "classification_report.txt",
        "metrics.json",
        "predictions.csv",
    ]


def test_experiment_end_to_end(toy_checkpoint, faces, tmp_path, capsys):
    out_dir = tmp_path / "exp"
    code, out, _ = run(
        capsys,
        "experiment",
        "--data",
        faces,
        "--model",
        toy_checkpoint,
        "--out",
        out_dir,
        "--n-best",
        "2",
        "--rank-by",
        "uar",
    )
    assert code == 0
    results = pd.read_csv(out_dir / "results.csv")
    assert sorted(results["configuration"]) == sorted(report_experiment_configurations())
    assert (np.diff(results["uar"]) <= 0).all()
    assert results.columns.tolist() == [
        "rank",
        "configuration",
        "templates",
        "words",
        "top1_accuracy",
        "top3_accuracy",
        "macro_f1",
        "uar",
        "top3_macro_f1",
    ]
    markdown = (out_dir / "results.md").read_text()
    assert markdown.startswith("8 images from ") and "random state 0, ranked by uar" in markdown
    assert len(pd.read_csv(out_dir / "per_class.csv")) == 7 * len(results)
    assert len(json.loads((out_dir / "configurations.json").read_text())) == len(results)
    for name in ("per_class_top1_f1.png", "per_class_top3_f1.png"):
        assert (out_dir / name).read_bytes()[:4] == b"\x89PNG"
    assert "| configuration" in out and "wrote results.csv, results.md" in out

    # The best row is what evaluate reports for that bank alone.
    best = results.iloc[0]
    bank = report_experiment_configurations()[best["configuration"]]
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=bank).fit()
    paths = sorted(str(p) for p in faces.glob("*/*/*.png"))
    expected = summarize([p.split("/")[-2] for p in paths], clf.predict_topk(paths, k=3), k=3)
    assert best["uar"] == pytest.approx(expected["uar"])


def test_experiment_passes_the_random_state(toy_checkpoint, faces, tmp_path, capsys, monkeypatch):
    seeds = []

    def two_draws(random_state):  # the full set runs in test_experiment_end_to_end
        seeds.append(random_state)
        drawn = report_experiment_configurations(random_state=random_state)
        return {
            name: drawn[name] for name in ("draw: 3 templates 3 labels 2", "draw: 2 templates 2 labels 1")
        }

    monkeypatch.setattr("clip_fer.experiments._experiment.report_experiment_configurations", two_draws)
    code, _, _ = run(
        capsys,
        "experiment",
        "--data",
        faces / "train",
        "--model",
        toy_checkpoint,
        "--out",
        tmp_path / "exp",
        "--random-state",
        "5",
    )
    assert code == 0 and seeds == [5]
    saved = json.loads((tmp_path / "exp" / "configurations.json").read_text())
    drawn = report_experiment_configurations(random_state=5)["draw: 3 templates 3 labels 2"]
    assert saved["draw: 3 templates 3 labels 2"] == {
        "templates": drawn.templates,
        "synonyms": drawn.synonyms,
        "name": "3 templates 3 labels 2",
    }
    assert drawn.synonyms != report_experiment_configurations()["draw: 3 templates 3 labels 2"].synonyms


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["evaluate", "--data", "{tmp}/nowhere"], r"No file or folder '.*nowhere'; give a FER2013 CSV"),
        (
            ["evaluate", "--data", "{faces}", "--split", "val"],
            r"has no split 'val'; its splits are \['public_test', 'train'\]",
        ),
        (
            ["evaluate", "--data", "{faces}", "--bank", "missing"],
            r"No prompt bank 'missing': it is neither a built-in name",
        ),
        (
            ["evaluate", "--data", "{faces}", "--bank", "gender", "--decider", "mean"],
            r"y has labels \['angry', 'happy', 'sad', 'surprise'\] that the prompt bank does not know",
        ),
        (
            ["experiment", "--data", "{faces}", "--model", "{tmp}/none.pt", "--out", "{tmp}/x"],
            r"The model '.*none\.pt' is neither a CLIP model name",
        ),
        (
            ["experiment", "--data", "{faces}", "--out", "{faces}/train/angry/face0.png"],
            r"\[Errno 17\] File exists",
        ),
    ],
)
def test_failures_exit_1_with_one_line(toy_checkpoint, faces, tmp_path, capsys, argv, reason):
    argv = [a.format(tmp=tmp_path, faces=faces) for a in argv]
    if "--model" not in argv:
        argv += ["--model", toy_checkpoint]
    code, _, err = run(capsys, *argv)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clip-fer: error: ")
    assert re.search(reason, lines[0]), lines[0]


def test_missing_pandas_exits_1_saying_how_to_install(toy_checkpoint, faces, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    code, _, err = run(capsys, "experiment", "--data", faces, "--model", toy_checkpoint, "--out", tmp_path)
    assert code == 1
    assert err.strip() == (
        "clip-fer: error: clip-fer experiment needs pandas, an optional dependency; "
        'install it with `pip install "clip-fer[report]"`.'
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate"],  # --data is required
        ["evaluate", "--data", "x", "--batch-size", "0"],
        ["evaluate", "--data", "x", "--decider", "best"],
        ["experiment", "--data", "x"],  # --out is required
        ["experiment", "--data", "x", "--out", "y", "--n-best", "-1"],
        ["experiment", "--data", "x", "--out", "y", "--rank-by", "f1"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: clip-fer" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "experiment"])
def test_help_explains_every_option(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    options = ["--data", "--split", "--model", "--reduce", "--decider", "--batch-size", "--device", "--out"]
    options += ["--bank"] if command == "evaluate" else ["--random-state", "--rank-by", "--n-best"]
    for option in options:
        assert option in text
    assert "outputs" in text and "example:" in text
