"""What every command shares: --precision, --cache-dir, the one error path, video's early checks."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from clip_fer.cli import main
from clip_fer.cli._common import error_message
from clip_fer.exceptions import ModelLoadError, VideoInputError


@pytest.fixture
def face(tmp_path, face_arrays):
    path = tmp_path / "face.png"
    Image.fromarray(face_arrays[0]).save(path)
    return str(path)


def test_precision_choices_are_the_estimators():
    from clip_fer import ZeroShotEmotionClassifier
    from clip_fer._options import PRECISIONS

    constraint = ZeroShotEmotionClassifier._parameter_constraints["precision"][0]
    assert set(PRECISIONS) == set(constraint.options)


def test_precision_and_cache_dir_reach_the_estimator(toy_checkpoint, face, tmp_path, capsys, monkeypatch):
    import clip_fer.cli._common as common

    built = []
    real = common.build_estimator

    def spy(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(common, "build_estimator", spy)
    cache = tmp_path / "emb"
    argv = ["predict", face, "--model", toy_checkpoint, "--precision", "bf16", "--cache-dir", str(cache)]
    assert main(argv) == 0
    assert built[-1].precision == "bf16" and built[-1].cache_dir == str(cache)
    assert any(p.is_file() for p in cache.rglob("*"))  # the embedding was kept on disk
    with pytest.raises(SystemExit) as info:
        main(["predict", face, "--precision", "fp8"])
    assert info.value.code == 2 and "invalid choice: 'fp8'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "Without network access, pass its path, e.g. ZeroShotEmotionClassifier(model='/p/ViT-B-32.pt').",
            "Without network access, pass its path, e.g. --model /p/ViT-B-32.pt.",
        ),
        ("pass model='hf_clip:/models/siglip' (a folder)", "pass --model hf_clip:/models/siglip (a folder)"),
        ("The checkpoint 'x.pt' is broken.", "Choose another model with --model NAME_OR_PATH"),
    ],
)
def test_model_errors_give_the_option_never_the_python_call(message, expected):
    shown = error_message(ModelLoadError(message))
    assert expected in shown and "model=" not in shown and "\n" not in shown


def test_video_checks_its_input_before_importing_the_model():
    code = (
        "import sys; from clip_fer.cli import main; "
        "c = main(['video', 'no-such-video.mp4', '--out', 'o', '--model', 'ViT-B/32']); "
        "print(c, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd())
    assert result.stdout.split() == ["1", "False"]
    assert result.stderr.startswith("clip-fer: error: The video 'no-such-video.mp4' does not exist.")


def test_a_source_that_gives_no_frame_says_so(toy_checkpoint, tmp_path, monkeypatch, capsys):
    import clip_fer.video._predict as predict_module

    def no_camera(*args, **kwargs):
        raise VideoInputError("Could not open the video '/dev/video0': no such device")
        yield  # a generator, as the real one

    monkeypatch.setattr(predict_module, "iter_video_faces", no_camera)
    assert main(["video", "0", "--model", toy_checkpoint, "--out", str(tmp_path / "live")]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "clip-fer: error: Could not open the video '/dev/video0': no such device (no frame was read)"
    )
    assert "rows so far" not in captured.err and "0 frames" not in captured.out
