"""``clip-fer video``: the files it writes, and what a Ctrl-C keeps."""

import numpy as np
import pandas as pd
import pytest
from conftest import adapted_classifiers, needs_fer2013
from video_scenes import ColourDetector, colour_people, fer_people, render, write_video

from clip_fer.cli import main

av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")


def _frames_of(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _check_outputs(out, classes_from):
    faces = pd.read_csv(out / "faces.csv")
    tracks = pd.read_csv(out / "tracks.csv")
    assert list(faces.columns[:11]) == [
        "frame",
        "time",
        "track",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "detected",
        "label",
        "raw_label",
    ]
    assert all(c.startswith("proba_") for c in faces.columns[11:])
    classes = [c.removeprefix("proba_") for c in faces.columns[11:]]
    assert np.allclose(faces[list(faces.columns[11:])].sum(axis=1), 1, atol=1e-4)
    # tracks.csv summarises faces.csv: frames, first/last time, share of each smoothed label.
    assert sorted(tracks.track) == sorted(faces.track.unique())
    for row in tracks.itertuples():
        mine = faces[faces.track == row.track]
        assert row.frames == len(mine)
        assert row.first_time == pytest.approx(mine.time.min(), abs=1e-3)
        assert row.last_time == pytest.approx(mine.time.max(), abs=1e-3)
        for c in classes:
            assert getattr(tracks.loc[row.Index], f"share_{c}") == pytest.approx(
                (mine.label == c).mean(), abs=1e-3
            )
    for track in tracks.track:
        assert (out / f"track-{track}.png").stat().st_size > 1000
    return faces, tracks


@needs_fer2013
def test_video_command_writes_rows_tracks_plots_and_an_annotated_video(tmp_path, toy_checkpoint, capsys):
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    n = 20
    frames, _ = render(fer_people(n), n)
    path = write_video(tmp_path / "two-faces.mp4", frames)
    out = tmp_path / "out"
    code = main(
        [
            "video",
            str(path),
            "--model",
            toy_checkpoint,
            "--out",
            str(out),
            "--annotate",
            "--every",
            "2",
            "--grayscale",
            "--quiet",
        ]
    )
    assert code == 0
    faces, tracks = _check_outputs(out, None)
    assert sorted(faces.frame.unique()) == list(range(0, n, 2))
    assert len(tracks) == 3
    annotated = _frames_of(out / "annotated.mp4")
    assert len(annotated) == n // 2 and annotated[0].shape == frames[0].shape
    # The boxes are drawn: the annotated frame differs from the source around a face only.
    first = faces[faces.frame == 0].iloc[0]
    diff = np.abs(annotated[0].astype(int) - frames[0].astype(int)).sum(axis=2)
    assert diff[first.y0, first.x0 : first.x1].mean() > 60
    assert diff[-5:, :5].mean() < 15  # a corner without a face
    assert "10 frames, 3 track(s)" in capsys.readouterr().out


def test_ctrl_c_keeps_every_row_so_far(tmp_path, toy_checkpoint, monkeypatch, capsys):
    import clip_fer.video._predict as predict_module

    real = predict_module.iter_video_faces

    def interrupted(*args, **kwargs):  # a live source stopped with Ctrl-C after 6 frames
        for k, item in enumerate(real(*args, **{**kwargs, "detector": ColourDetector()})):
            if k == 6:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(predict_module, "iter_video_faces", interrupted)
    frames, _ = render(colour_people(30), 30)
    path = write_video(tmp_path / "live.mp4", frames)
    out = tmp_path / "out"
    assert main(["video", str(path), "--model", toy_checkpoint, "--out", str(out), "--quiet"]) == 0
    faces, _ = _check_outputs(out, None)
    assert sorted(faces.frame.unique()) == list(range(6)) and len(faces) == 12
    assert "stopped by Ctrl-C" in capsys.readouterr().out


def test_missing_input_is_one_error_line(tmp_path, toy_checkpoint, capsys):
    code = main(
        ["video", str(tmp_path / "nope.mp4"), "--model", toy_checkpoint, "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "nope.mp4" in err and "does not exist" in err


def test_every_and_fps_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["video", "x.mp4", "--out", str(tmp_path), "--every", "2", "--fps", "3"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_bad_settings_fail_before_any_output_and_name_the_option(tmp_path, toy_checkpoint, capsys):
    path = write_video(tmp_path / "v.mp4", [np.zeros((48, 64, 3), np.uint8)] * 2)
    with pytest.raises(SystemExit):  # inf frames per second is no sampling rate
        main(["video", str(path), "--out", str(tmp_path / "o"), "--fps", "inf"])
    assert "--fps: must be a finite number > 0" in capsys.readouterr().err
    out = tmp_path / "o"
    args = ["video", str(path), "--model", toy_checkpoint, "--out", str(out), "--smoothing", "-1"]
    assert main(args) == 1
    assert "'smoothing' parameter" in capsys.readouterr().err and not out.exists()
    out.write_text("not a folder")
    assert main(["video", str(path), "--model", toy_checkpoint, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is a file; pass a folder" in err and out.read_text() == "not a folder"


@pytest.mark.parametrize("kind", ["zero_shot", "few_shot", "calibrated"])
def test_a_saved_classifier_runs_the_video(tmp_path, toy_checkpoint, monkeypatch, kind):
    """``--classifier FILE``: the rows are those of predict_video with the saved classifier."""
    import clip_fer.video._predict as predict_module
    from clip_fer import predict_video, save_classifier

    real = predict_module.iter_video_faces
    monkeypatch.setattr(
        predict_module,
        "iter_video_faces",
        lambda *args, **kwargs: real(*args, **{**kwargs, "detector": ColourDetector()}),
    )
    frames, _ = render(colour_people(6), 6)
    path = write_video(tmp_path / "v.mp4", frames)
    clf = adapted_classifiers(toy_checkpoint)[kind]
    saved = save_classifier(clf, tmp_path / "c.clipfer")
    out = tmp_path / "out"
    assert main(["video", str(path), "--classifier", str(saved), "--out", str(out), "--quiet"]) == 0
    rows = pd.read_csv(out / "faces.csv")
    expected = predict_video(clf, str(path), detector=ColourDetector())
    columns = [c for c in rows.columns if c.startswith("proba_")]
    np.testing.assert_allclose(rows[columns].to_numpy(), expected[columns].to_numpy(), atol=1e-5)
