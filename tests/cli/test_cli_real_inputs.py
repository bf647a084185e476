"""Issue 10, the command line: Ctrl-C keeps what is done, small banks work."""

import json

import numpy as np
import pytest
from PIL import Image
from real_inputs import kind

from clip_fer import PromptBank, RankVoteDecider, ZeroShotEmotionClassifier
from clip_fer.cli import main


@pytest.fixture
def twelve(tmp_path, face_arrays):
    for i, face in enumerate(face_arrays):
        Image.fromarray(face).save(tmp_path / f"face{i:02d}.png")
    return tmp_path


@kind(
    11,
    "Ctrl-C (KeyboardInterrupt) during the second chunk of 12 images, json/csv/table",
    "one line on stderr, exit 130, the first chunk's rows written (valid JSON)",
)
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_ctrl_c_keeps_the_rows_already_made(toy_checkpoint, twelve, monkeypatch, capsys, fmt):
    calls = {"n": 0}
    original = ZeroShotEmotionClassifier.decide

    def interrupted(self, X):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, X)

    monkeypatch.setattr(ZeroShotEmotionClassifier, "decide", interrupted)
    code = main(["predict", str(twelve), "--model", toy_checkpoint, "--batch-size", "1", "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 130
    messages = [
        line for line in err.splitlines() if "img/s" not in line and line.strip()
    ]  # not the progress bar
    assert messages == ["clip-fer: interrupted; the rows of 4 of 12 images were written."]
    paths = sorted(str(p) for p in twelve.glob("*.png"))
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    expected = clf.predict_topk(paths[:4], k=3).tolist()
    if fmt == "json":
        rows = json.loads(out)
        assert [r["image"] for r in rows] == paths[:4] and [r["labels"] for r in rows] == expected
    else:
        lines = out.strip().splitlines()
        assert len(lines) == 4 + (fmt in ("csv", "table"))  # a header row


def test_streamed_json_equals_the_estimator(toy_checkpoint, twelve, capsys):
    assert (
        main(["predict", str(twelve), "--model", toy_checkpoint, "--batch-size", "2", "--format", "json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    paths = sorted(str(p) for p in twelve.glob("*.png"))
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    assert [r["labels"] for r in rows] == clf.predict_topk(paths, k=3).tolist()


@kind(
    9,
    "clip-fer predict --bank gender (2 classes) with the default vote, and --vote-top-k 1",
    "rows as the estimator with RankVoteDecider(top_k) gives",
)
@pytest.mark.parametrize("vote_top_k", [None, 1])
def test_cli_small_bank_and_vote_top_k(toy_checkpoint, twelve, capsys, vote_top_k):
    extra = [] if vote_top_k is None else ["--vote-top-k", str(vote_top_k)]
    assert (
        main(
            [
                "predict",
                str(twelve),
                "--model",
                toy_checkpoint,
                "--bank",
                "gender",
                "--format",
                "json",
                *extra,
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    paths = sorted(str(p) for p in twelve.glob("*.png"))
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=PromptBank.gender(), decider=RankVoteDecider(top_k=vote_top_k or 2)
    ).fit()
    assert [r["labels"] for r in rows] == clf.predict_topk(paths, k=2).tolist()
    proba = np.array([[r["probabilities"][c] for c in clf.classes_] for r in rows])
    np.testing.assert_allclose(proba, clf.predict_proba(paths), atol=1e-6)


@kind(11, "Ctrl-C during clip-fer evaluate", "one line on stderr, exit 130")
def test_ctrl_c_in_evaluate_is_one_line(toy_checkpoint, tmp_path, face_arrays, monkeypatch, capsys):
    for i, name in enumerate(["happy", "sad"]):
        (tmp_path / "data" / name).mkdir(parents=True)
        Image.fromarray(face_arrays[i]).save(tmp_path / "data" / name / "0.png")

    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(ZeroShotEmotionClassifier, "decide", interrupted)
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--model", toy_checkpoint]) == 130
    assert capsys.readouterr().err.strip() == "clip-fer: interrupted (evaluate)."
