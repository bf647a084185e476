"""The clip-fer command line."""

import csv
import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.cli import main


@pytest.fixture
def image_folder(tmp_path, face_arrays):
    for i, face in enumerate(face_arrays[:4]):
        sub = tmp_path / "faces" / ("a" if i < 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(face).save(sub / f"face{i}.png")
    (tmp_path / "faces" / "notes.txt").write_text("not an image")
    return tmp_path / "faces"


def test_json_output_matches_the_estimator(toy_checkpoint, image_folder, capsys):
    assert (
        main(["predict", str(image_folder), "--model", toy_checkpoint, "--format", "json", "--top-k", "2"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    paths = sorted(str(p) for p in image_folder.rglob("*.png"))
    assert [r["image"] for r in rows] == paths
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    expected = clf.predict_topk(paths, k=2)
    assert [r["labels"] for r in rows] == expected.tolist()
    for row in rows:
        assert set(row["probabilities"]) == set(clf.classes_)
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-4


def test_csv_and_table_outputs(toy_checkpoint, image_folder, capsys):
    assert main(["predict", str(image_folder), "--model", toy_checkpoint, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:4] == ["image", "label_1", "label_2", "label_3"] and len(table) == 5
    assert main(["predict", str(image_folder / "a" / "face0.png"), "--model", toy_checkpoint]) == 0
    assert "face0.png" in capsys.readouterr().out


def test_failures_exit_1_with_one_line(toy_checkpoint, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing.jpg"), "--model", toy_checkpoint]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("clip-fer: error: Image at index 0: file") and "\n" not in err
    assert main(["predict", str(tmp_path), "--model", toy_checkpoint]) == 1
    assert "no image files found" in capsys.readouterr().err


def test_bad_arguments_exit_2(toy_checkpoint, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["predict", str(tmp_path), "--top-k", "0"])
    assert info.value.code == 2


def test_python_dash_m_runs(toy_checkpoint):
    result = subprocess.run(
        [sys.executable, "-m", "clip_fer", "predict", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--model" in result.stdout


def test_on_error_skip_prints_the_other_images(toy_checkpoint, image_folder, tmp_path, capsys):
    broken = image_folder / "a" / "broken.png"
    broken.write_bytes(b"not a png")
    assert (
        main(
            [
                "predict",
                str(image_folder),
                "--model",
                toy_checkpoint,
                "--format",
                "json",
                "--on-error",
                "skip",
            ]
        )
        == 0  # skipping was asked for
    )
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert len(rows) == 5
    failed = [r for r in rows if r.get("status") == "failed"]
    assert [r["image"] for r in failed] == [str(broken)] and failed[0]["labels"] == []
    assert all(len(r["labels"]) == 3 for r in rows if r not in failed)
    assert "broken.png' is not an image format Pillow can read" in captured.err
    assert captured.err.count("broken.png") == 1  # named once, not "broken.png: file 'broken.png' ..."
    assert "skipped 1 file that is not an image by its suffix (.txt: 1)" in captured.err
    assert main(["predict", str(image_folder), "--model", toy_checkpoint]) == 1
    assert "Image at index 0: file" in capsys.readouterr().err
