"""What people see from the command line: a table header, progress only on a
terminal, and a model error whose fix is written as an option."""

import urllib.error

import pytest
from PIL import Image

from clip_fer.backends._loading import import_clip
from clip_fer.cli import main


@pytest.fixture
def faces(tmp_path, face_arrays):
    for i, face in enumerate(face_arrays[:3]):
        Image.fromarray(face).save(tmp_path / f"face{i}.png")
    return tmp_path


def test_table_has_a_header_row_aligned_with_the_rows(toy_checkpoint, faces, capsys):
    assert main(["predict", str(faces), "--model", toy_checkpoint, "--top-k", "2"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["image", "label", "prob", "next", "labels"]
    assert len(rows) == 3
    for row in rows:
        image, label, prob, nxt = row.split()
        assert row.index(label) == header.index("label") and row.index(prob) == header.index("prob")
        assert 0 <= float(prob) <= 1 and image.endswith(".png")


@pytest.mark.parametrize(
    ("flag", "tty", "expected"),
    [(None, False, False), (None, True, True), ("--progress", False, True), ("--no-progress", True, False)],
)
def test_progress_bars_only_on_a_terminal_unless_asked(
    toy_checkpoint, faces, monkeypatch, capsys, flag, tty, expected
):
    monkeypatch.setattr("sys.stderr.isatty", lambda: tty)
    argv = ["predict", str(faces), "--model", toy_checkpoint, "--batch-size", "1"]  # 3 images > 1 batch
    assert main(argv + ([flag] if flag else [])) == 0
    captured = capsys.readouterr()
    assert ("Encoding images" in captured.err) is expected
    assert "Encoding images" not in captured.out


def test_offline_model_error_gives_the_fix_as_an_option(faces, monkeypatch, tmp_path, capsys):
    clip = import_clip()

    def no_network(url, root):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(clip.clip, "_download", no_network)
    monkeypatch.setenv("HOME", str(tmp_path))  # no cached ~/.cache/clip checkpoint
    assert main(["predict", str(faces), "--model", "ViT-B/32"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("clip-fer: error: The CLIP model 'ViT-B/32' could not be downloaded")
    assert "--model /path/to/ViT-B-32.pt" in err and "ZeroShotEmotionClassifier(" not in err
    assert "\n" not in err


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_stdout_closed_early_ends_quietly(toy_checkpoint, faces, fmt, monkeypatch, capsys):
    # `clip-fer predict ... | head -1`: the reader goes after one line. Each row is
    # flushed as it is made, so the next write fails with BrokenPipeError.
    import os
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    pipe = open(write_end, "w")
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        code = main(["predict", str(faces), "--model", toy_checkpoint, "--format", fmt])
    finally:
        pipe.close()
    assert code == 141  # as a shell reports a command ended by SIGPIPE
    assert capsys.readouterr().err == ""  # no traceback, no "error: Broken pipe"


def test_folder_walk_reads_files_only_and_names_what_it_skipped(toy_checkpoint, faces, capsys):
    (faces / "album.jpg").mkdir()  # a folder with an image suffix is not an image
    (faces / "album.jpg" / "inner.png").write_bytes((faces / "face0.png").read_bytes())
    (faces / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    (faces / "notes.txt").write_text("x")
    (faces / ".DS_Store").write_bytes(b"\x00")
    assert main(["predict", str(faces), "--model", toy_checkpoint, "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    rows = out.splitlines()[1:]
    assert sorted(row.split(",")[0].removeprefix(str(faces) + "/") for row in rows) == [
        "album.jpg/inner.png",
        "face0.png",
        "face1.png",
        "face2.png",
    ]
    assert err.count("\n") == 1 and "skipped 2 files that are not images by their suffix" in err
    assert "(.heic: 1, .txt: 1)" in err
