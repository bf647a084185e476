"""Errors as data (Decision.errors) and the one record type behind every output."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from clip_fer import Decision, PredictionRecord, ZeroShotEmotionClassifier
from clip_fer._records import as_records, image_records, records_to_frame
from clip_fer.exceptions import SkippedImagesWarning


@pytest.fixture
def skipping(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()


def test_skipped_inputs_are_on_the_decision(skipping, face_arrays, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    images = [face_arrays[0], str(broken), face_arrays[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # decide gives the errors as data, with no warning
        decision = skipping.decide(images)
    assert [i for i, _ in decision.errors] == [1] and "broken.png" in decision.errors[0][1]
    with pytest.warns(SkippedImagesWarning) as caught:  # predict, which cannot return them, warns
        skipping.predict(images)
    assert len(caught) == 1 and caught[0].filename == __file__  # points at this line's caller
    assert caught[0].message.errors == decision.errors
    assert (decision.ranking[1] == -1).all() and np.isnan(decision.proba[1]).all()
    clean = skipping.decide([face_arrays[0], face_arrays[1]])
    assert clean.errors == []
    np.testing.assert_array_equal(decision.ranking[[0, 2]], clean.ranking)


def test_precomputed_bad_rows_are_errors_too(toy_checkpoint):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True, on_error="skip").fit()
    X = np.random.default_rng(0).normal(size=(3, 32))
    X[2, 0] = np.inf
    decision = clf.decide(X)
    assert decision.errors == [(2, "embedding holds NaN or infinity")]


def test_labels_of_names_rankings_and_marks_skipped(skipping):
    np.testing.assert_array_equal(
        skipping.labels_of([[0, 6]]), [[skipping.classes_[0], skipping.classes_[6]]]
    )
    labels = skipping.labels_of(np.array([[3, -1]]))
    assert labels.dtype == object and labels[0, 0] == skipping.classes_[3] and labels[0, 1] is None


def test_image_records_from_a_decision():
    decision = Decision(
        ranking=np.array([[1, 0], [-1, -1]]),
        scores=np.full((2, 2), 0.5),
        proba=np.array([[0.25, 0.75], [np.nan, np.nan]]),
        errors=[(1, "unreadable")],
    )
    records = image_records(["a.png", "b.png"], decision, np.array(["x", "y"]), top_k=1)
    assert records[0] == PredictionRecord(0, "a.png", labels=["y"], probabilities={"x": 0.25, "y": 0.75})
    assert records[1] == PredictionRecord(1, "b.png", status="failed", error="b.png: unreadable")
    assert records[0].caption == ("y", 0.75) and records[1].caption is None
    assert records[0].to_dict(faces=False) == {
        "image_index": 0,
        "image": "a.png",
        "labels": ["y"],
        "probabilities": {"x": 0.25, "y": 0.75},
        "status": "ok",
        "error": None,
    }


def test_dicts_records_and_frames_convert_both_ways():
    pytest.importorskip("pandas")
    records = [
        PredictionRecord(
            0,
            "a.png",
            labels=["y", "x"],
            probabilities={"x": 0.2, "y": 0.8},
            status="face",
            face=0,
            box=[1, 2, 30, 40],
            score=0.9,
        ),
        PredictionRecord(1, "b.png", status="no face"),
        PredictionRecord(2, None, status="failed", error="Image at index 2: unreadable"),
    ]
    assert as_records([r.to_dict() for r in records]) == records
    frame = records_to_frame(records, ["x", "y"], top_k=2)
    assert list(frame.columns) == [
        "image_index",
        "image",
        "face",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "label_1",
        "label_2",
        "proba_x",
        "proba_y",
        "status",
        "error",
    ]
    assert as_records(frame) == records


def test_drawing_reads_captions_from_records():
    from PIL import Image

    from clip_fer import draw_faces

    image = Image.new("RGB", (80, 80), (255, 255, 255))
    face = PredictionRecord(
        0, None, labels=["happy"], probabilities={"happy": 0.9}, status="face", box=[10, 10, 50, 50]
    )
    whole = PredictionRecord(0, None, labels=["sad"], probabilities={"sad": 0.6})
    drawn = [np.asarray(draw_faces(image, rows)) for rows in ([face], [face.to_dict()], [whole], [])]
    np.testing.assert_array_equal(drawn[0], drawn[1])  # records and dicts draw the same
    assert (drawn[0] != 255).any() and (drawn[2] != 255).any() and (drawn[3] == 255).all()
    assert (drawn[0][49, 30] != 255).any() and (drawn[2][49, 30] == 255).all()  # a box only for the face


def test_cli_reads_skipped_images_from_the_decision(toy_checkpoint, face_arrays, tmp_path, capsys):
    from PIL import Image

    from clip_fer.cli import main

    Image.fromarray(face_arrays[0]).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedImagesWarning)  # the CLI must not rely on catching it
        code = main(
            ["predict", str(tmp_path), "--model", toy_checkpoint, "--on-error", "skip", "--format", "csv"]
        )
    out, err = capsys.readouterr()
    assert code == 0 and out.splitlines()[2].startswith(str(tmp_path / "b.png") + ",,,")
    assert "skipped (--on-error skip): " in err and err.count("b.png") == 1  # the path named once


def test_import_and_cli_help_stay_light():
    code = (
        "import sys, contextlib, io\n"
        "import clip_fer\n"
        "assert 'torch' not in sys.modules, 'import clip_fer'\n"
        "from clip_fer.cli import build_parser, main\n"
        "build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for argv in (['--help'], ['predict', '--help'], ['evaluate', '--help'], ['experiment', '--help']):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'scipy', 'PIL', 'pandas', 'open_clip', 'transformers'})\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_cli_bank_names_are_the_loader_names():
    from clip_fer import BUILTIN_BANKS
    from clip_fer._options import BUILTIN_BANK_NAMES

    assert tuple(BUILTIN_BANKS) == BUILTIN_BANK_NAMES
