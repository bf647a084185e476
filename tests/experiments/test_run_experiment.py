"""run_experiment end to end on the toy CLIP, with embeddings whose answers are known.

The baseline bank has one sentence per class. Using those sentences' own text
embeddings as "image" embeddings makes every image match its class's sentence
exactly (cosine 1), so the baseline's scores are known by hand: all 1 when each
image is labelled with its sentence's class, all 0 when the labels are shifted.
"""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from clip_fer import (
    ExperimentResult,
    PromptBank,
    ZeroShotEmotionClassifier,
    report_experiment_configurations,
    run_experiment,
)
from clip_fer.exceptions import InvalidParameterError
from clip_fer.metrics import summarize

BASELINE = "baseline: a photo of a {} looking face."
SCORES = ["top1_accuracy", "top3_accuracy", "macro_f1", "uar", "top3_macro_f1"]


@pytest.fixture
def known(toy_checkpoint):
    """(estimator, embeddings, classes): row i is the baseline sentence of class i."""
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=PromptBank.baseline()).fit()
    return clf, clf.text_features_.copy(), clf.classes_


def test_report_experiment_on_known_embeddings(known):
    clf, embeddings, classes = known
    result = run_experiment(clf, embeddings, classes)
    assert isinstance(result, ExperimentResult) and result.n_images == 7 and result.k == 3
    table = result.table
    assert list(table.columns) == ["rank", "configuration", "templates", "words", *SCORES]
    assert sorted(table["configuration"]) == sorted(report_experiment_configurations())
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert (np.diff(table["top3_accuracy"]) <= 0).all()

    baseline = table.set_index("configuration").loc[BASELINE]
    assert (baseline["templates"], baseline["words"]) == (1, 7)
    assert baseline[SCORES].tolist() == [1.0] * 5
    np.testing.assert_array_equal(result.rankings[BASELINE][:, 0], classes)

    per_class = result.per_class
    assert len(per_class) == 7 * len(table)
    rows = per_class[per_class["configuration"] == BASELINE]
    assert rows["class"].tolist() == list(classes) and rows["support"].tolist() == [1] * 7
    assert (rows[["top1_precision", "top1_recall", "top1_f1", "top3_f1"]] == 1.0).all().all()


def test_shifted_labels_score_zero(known):
    clf, embeddings, classes = known
    y = np.roll(classes, 1)  # every image labelled with another class
    result = run_experiment(clf, embeddings, y, {"baseline": PromptBank.baseline()}, k=1)
    row = result.table.iloc[0]
    assert list(result.table.columns)[4:] == ["top1_accuracy", "macro_f1", "uar", "top1_macro_f1"]
    assert row[["top1_accuracy", "macro_f1", "uar"]].tolist() == [0.0, 0.0, 0.0]


def test_every_row_is_what_the_classifier_predicts(known):
    clf, embeddings, classes = known
    y = np.roll(classes, 2)
    banks = {"report": PromptBank.report_best(), "openai": PromptBank.openai_fer2013()}
    result = run_experiment(clf, embeddings, y, banks, rank_by="macro_f1")
    for name, bank in banks.items():
        alone = clone(clf).set_params(prompt_bank=bank, precomputed=True).fit()
        ranked = alone.predict_topk(embeddings, k=3)
        np.testing.assert_array_equal(result.rankings[name], ranked)
        row = result.table.set_index("configuration").loc[name]
        expected = summarize(y, ranked, k=3)
        assert row[SCORES].tolist() == pytest.approx([expected[s] for s in SCORES])


def test_ties_keep_the_configurations_order(known):
    clf, embeddings, classes = known
    first = run_experiment(clf, embeddings, classes, {"x": PromptBank.baseline(), "y": PromptBank.baseline()})
    assert first.table["configuration"].tolist() == ["x", "y"]
    second = run_experiment(
        clf, embeddings, classes, {"y": PromptBank.baseline(), "x": PromptBank.baseline()}
    )
    assert second.table["configuration"].tolist() == ["y", "x"]


def test_save_writes_tables_and_figures(known, tmp_path):
    clf, embeddings, classes = known
    banks = {"baseline": PromptBank.baseline(), "report": PromptBank.report_best()}
    result = run_experiment(clf, embeddings, classes, banks)
    paths = result.save(tmp_path / "out", n_best=1, header="# Toy run")
    names = [
        "results.csv",
        "results.md",
        "per_class.csv",
        "configurations.json",
        "per_class_top1_f1.png",
        "per_class_top3_f1.png",
    ]
    assert [p.name for p in paths] == names
    pd.testing.assert_frame_equal(pd.read_csv(paths[0]), result.table)
    markdown = paths[1].read_text().splitlines()
    assert markdown[0] == "# Toy run" and markdown[2].startswith("|   rank | configuration")
    assert "| baseline " in markdown[4] and "1.000" in markdown[4]
    assert len(pd.read_csv(paths[2])) == 14
    assert json.loads(paths[3].read_text())["baseline"] == {
        "name": "baseline",
        "templates": ["a photo of a {} looking face."],
        "synonyms": {
            c: [w]
            for c, w in zip(
                classes, ["angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]
            )
        },
    }
    for png in paths[4:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    plain = result.save(tmp_path / "plain", plots=False)
    assert [p.name for p in plain] == names[:4]
    assert not list((tmp_path / "plain").glob("*.png"))
    with pytest.raises(
        InvalidParameterError,
        match=r"'n_best' parameter of ExperimentResult.save must be an int in \[1, inf\]\. Got 0",
    ):
        result.save(tmp_path / "bad", n_best=0)


def test_bad_arguments(known):
    clf, embeddings, classes = known
    with pytest.raises(
        InvalidParameterError,
        match=r"'estimator' parameter of run_experiment must be a ZeroShotEmotionClassifier\. Got PromptBank instead",
    ):
        run_experiment(PromptBank(), embeddings, classes)
    with pytest.raises(
        InvalidParameterError,
        match=r"'configurations' parameter of run_experiment must be None or a non-empty dict",
    ):
        run_experiment(clf, embeddings, classes, {})
    with pytest.raises(
        InvalidParameterError,
        match=r"The configuration 'x' of run_experiment must be a PromptBank\. Got list instead",
    ):
        run_experiment(clf, embeddings, classes, {"x": ["a photo of {}"]})
    with pytest.raises(
        InvalidParameterError,
        match=r"'rank_by' parameter of run_experiment must be one of 'top1_accuracy', 'top3_accuracy', 'macro_f1', 'uar', 'top3_macro_f1'\. Got 'top5_accuracy'",
    ):
        run_experiment(clf, embeddings, classes, rank_by="top5_accuracy")
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[7, 6\]"):
        run_experiment(clf, embeddings, classes[:6])
    other = PromptBank(["a {} face"], {"calm": ["calm"], "happy": ["happy"], "sad": ["sad"]})
    with pytest.raises(
        ValueError,
        match=r"y has labels \['angry', 'disgust', 'fear', 'neutral', 'surprise'\] that the prompt bank does not know; its classes are \['calm', 'happy', 'sad'\]",
    ):
        run_experiment(clf, embeddings, classes, {"other": other})


def test_without_pandas_says_how_to_install(known, monkeypatch):
    clf, embeddings, classes = known
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(
        ImportError,
        match=r"run_experiment needs pandas, an optional dependency; install it with `pip install \"clip-fer\[report\]\"`",
    ):
        run_experiment(clf, embeddings, classes)
