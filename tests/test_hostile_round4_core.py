"""Issue 26, findings 6 and 7: the public scoring core checks its inputs, and the
metrics take labels of any type, never let one key replace another and write strict
JSON. Each test failed on main before its fix (raw errors or silent wrong numbers).

The core's tests run on precomputed embeddings with a test-only bank
(``DataShapedBank``, 3 classes, 2 templates, 6 words); the family test encodes with
a toy CLIP.
"""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score
from test_sklearn_compat import DataShapedBank

from clip_fer import ZeroShotEmotionClassifier, load_model, metrics
from clip_fer.backends import LoadedModel, file_part, register_family
from clip_fer.backends._families import unregister_family
from clip_fer.exceptions import ComponentContractError

ROOT = Path(__file__).resolve().parents[1]
X = np.random.default_rng(2).normal(size=(12, 8))
Y = np.array(["angry", "happy", "sad"] * 4)


def fitted():
    return ZeroShotEmotionClassifier(model="unused", prompt_bank=DataShapedBank(), precomputed=True).fit(X, Y)


# The scoring core -------------------------------------------------------------


def test_the_core_takes_bfloat16_tensors_as_the_estimator_does():
    # Before: "Got unsupported ScalarType BFloat16" from the core, while the estimator's
    # precomputed path took the same tensor.
    clf = fitted()
    tensor = torch.tensor(X, dtype=torch.bfloat16)
    same_values = tensor.float().numpy()  # what the tensor holds, as float32
    core = clf.scoring_core()
    for given in (tensor, tensor.requires_grad_()):
        decision = core.decide(given)
        np.testing.assert_allclose(decision.proba, core.decide(same_values).proba, atol=1e-12)
        # The estimator divides by the norms in float32 before the core does again.
        np.testing.assert_allclose(decision.proba, clf.predict_proba(given), atol=1e-5)


def test_a_core_whose_template_count_does_not_match_the_bank_names_both_counts():
    # Before: "cannot reshape array of size 36 into shape (3,3,2)" at decide time.
    core = fitted().scoring_core()
    assert core.n_templates == 2 and len(core.text_features) == 12 and len(core.word_class) == 6
    for wrong in (1, 3):
        with pytest.raises(ComponentContractError, match=rf"n_templates={wrong} does not match") as info:
            dataclasses.replace(core, n_templates=wrong)
        assert "12 sentences for 6 words" in str(info.value)
        assert f"which is 2 templates, not {wrong} x 6 = {6 * wrong}" in str(info.value)


@pytest.mark.parametrize(
    "value, what",
    [(np.nan, "holds NaN or infinity"), (np.inf, "holds NaN or infinity"), (0.0, "is all zeros")],
)
def test_bad_text_features_are_reported_as_text_features_not_as_the_folders_fault(value, what):
    # Before: "The synonym_folder SynonymFolder broke its contract: class scores must be
    # finite" (a NaN text feature), or silently scored (an all-zero row).
    core = fitted().scoring_core()
    features = core.text_features.copy()
    features[9] = value  # template 1, word 3
    with pytest.raises(ComponentContractError, match="text features are bad") as info:
        dataclasses.replace(core, text_features=features)
    message = str(info.value)
    assert f"sentence 9 (template 1, word 3) {what}" in message and "synonym_folder" not in message


def test_the_core_refuses_word_classes_outside_its_classes_and_non_numeric_embeddings():
    core = fitted().scoring_core()
    with pytest.raises(ComponentContractError, match=r"word 5 has class index 3, not among 0\.\.2"):
        dataclasses.replace(core, word_class=np.array([0, 0, 1, 1, 2, 3]))
    with pytest.raises(ValueError, match="embeddings must be real numbers.*got dtype <U1"):
        core.decide(np.full((2, 8), "x"))


def test_raw_text_features_are_scored_as_unit_rows():
    # A model's raw text features (not unit length) give the unit rows' cosines.
    core = fitted().scoring_core()
    scaled = core.text_features * np.linspace(0.5, 7, len(core.text_features))[:, None]
    raw = dataclasses.replace(core, text_features=scaled)
    np.testing.assert_allclose(raw.decide(X).proba, core.decide(X).proba, atol=1e-6)


class WideModel(LoadedModel):
    """A family's model whose image (or text) tower skips its projection: twice the width."""

    family = "widefam"

    def __init__(self, inner, wide):
        super().__init__(
            inner.model,
            inner.preprocess,
            inner.device,
            inner.precision,
            embed_dim=inner.embed_dim,
            context_length=inner.context_length,
            logit_scale=inner.logit_scale,
        )
        self.inner, self.wide = inner, wide

    def encode_image(self, pixels):
        features = self.inner.encode_image(pixels)
        return torch.cat([features, features], 1) if self.wide == "encode_image" else features

    def encode_text(self, sentences):
        features = self.inner.encode_text(sentences)
        return torch.cat([features, features], 1) if self.wide == "encode_text" else features


class WideFamily:
    """Wraps a model loaded beforehand (load_model inside load would wait on the model
    cache's lock)."""

    def __init__(self, inner, wide):
        self.inner, self.wide = inner, wide

    def identify(self, spec, download_root):
        return [file_part(spec), self.wide]

    def load(self, spec, device, precision, download_root):
        return WideModel(self.inner, self.wide)


@pytest.mark.parametrize("tower", ["encode_image", "encode_text"])
def test_a_family_whose_towers_disagree_in_width_is_named_with_both_widths(
    tower, toy_checkpoint, face_arrays
):
    # Before: "shape mismatch: value array of shape (1,64) could not be broadcast to
    # indexing result of shape (1,32)", naming neither the family nor the widths.
    register_family("widefam", WideFamily(load_model(toy_checkpoint, device="cpu"), tower))
    try:
        with pytest.raises(ComponentContractError) as info:
            ZeroShotEmotionClassifier(f"widefam:{toy_checkpoint}").fit().predict(face_arrays[:2])
    finally:
        unregister_family("widefam")
    message = str(info.value)
    assert f"The model family 'widefam' broke its contract: WideModel.{tower} returned 64 columns" in message
    assert "its embed_dim" in message and "is 32" in message and "projection" in message


# Metrics -------------------------------------------------------------------------

# Four samples over classes a, b; the best label is right for samples 0, 2, 3; sample 2
# has a confidence below 0.5, so with abstain_below=0.5 its answer is "unsure".
Y_TRUE = ["a", "b", "b", "a"]
RANKED = [["a", "b"], ["a", "b"], ["b", "a"], ["a", "b"]]
CONFIDENCE = [0.9, 0.8, 0.4, 0.7]


@pytest.mark.parametrize("k", [1, 2])
def test_summarize_keeps_the_abstention_aware_top1_accuracy_at_every_k(k):
    # Before: at k=1 "top1_accuracy" was 0.75, the ranking's (the top-k key replaced the
    # abstention-aware value, 0.5).
    summary = metrics.summarize(Y_TRUE, RANKED, k=k, confidence=CONFIDENCE, abstain_below=0.5)
    ranked, y = np.array(RANKED), np.array(Y_TRUE)
    answers = np.where(np.array(CONFIDENCE) < 0.5, "unsure", ranked[:, 0])
    assert summary["top1_accuracy"] == pytest.approx(np.mean(answers == y)) == pytest.approx(0.5)
    assert summary["coverage"] == 0.75 and summary["selective_accuracy"] == pytest.approx(2 / 3)
    if k > 1:
        assert summary[f"top{k}_accuracy"] == np.mean((ranked[:, :k] == y[:, None]).any(axis=1))
    else:
        assert "top1_accuracy" in summary and len([key for key in summary if key == "top1_accuracy"]) == 1
    # The report's top-k macro F1 never abstains: at k=1 it is the best labels' macro F1.
    top_k = np.where((ranked[:, :k] == y[:, None]).any(axis=1), y, ranked[:, 0])
    assert summary[f"top{k}_macro_f1"] == pytest.approx(f1_score(y, top_k, average="macro"))


def _as_given(labels, form):
    if form == "list":
        return list(labels)
    if form == "series":  # a pandas Series with an index that is not 0..n-1
        return pd.Series(labels, index=np.arange(len(labels))[::-1] + 10)
    return np.asarray(labels, dtype=form)


INT_TRUE = np.array([0, 1, 2, 2, 1, 0, 2])
INT_RANKED = np.array([[0, 1, 2], [2, 1, 0], [2, 0, 1], [1, 2, 0], [1, 0, 2], [0, 2, 1], [0, 1, 2]])
INT_CONFIDENCE = np.array([0.9, 0.3, 0.8, 0.6, 0.2, 0.7, 0.95])


@pytest.mark.parametrize("form", ["int64", "uint8", "list", "series"])
def test_metrics_take_integer_labels_as_scikit_learn_does(form):
    # Before: "unknown is not supported" from uar, macro_f1 and summarize; "y type must be
    # 'binary' or 'multiclass', got 'unknown'" from top_k_accuracy.
    y = _as_given(INT_TRUE, form)
    pred = INT_RANKED[:, 0]
    assert metrics.unweighted_average_recall(y, pred) == pytest.approx(
        balanced_accuracy_score(INT_TRUE, pred)
    )
    assert metrics.macro_f1(y, pred) == pytest.approx(f1_score(INT_TRUE, pred, average="macro"))
    hits = (INT_RANKED[:, :2] == INT_TRUE[:, None]).any(axis=1)
    assert metrics.top_k_accuracy(y, INT_RANKED, k=2) == pytest.approx(hits.mean())
    matrix, labels = metrics.confusion(y, pred)
    np.testing.assert_array_equal(matrix, confusion_matrix(INT_TRUE, pred))
    assert labels.tolist() == [0, 1, 2]
    summary = metrics.summarize(y, INT_RANKED, k=2)
    assert summary["top1_accuracy"] == pytest.approx(accuracy_score(INT_TRUE, pred))
    assert summary["top2_accuracy"] == pytest.approx(hits.mean())


@pytest.mark.parametrize("form", ["int64", "series"])
def test_summarize_abstains_over_integer_labels(form):
    # Before: "'<' not supported between instances of 'str' and 'int'" ("unsure" among
    # the integer labels). Reference: the same labels as strings, scored as before.
    proba = np.full((len(INT_TRUE), 3), 0.05)
    proba[np.arange(len(INT_TRUE)), INT_RANKED[:, 0]] = 0.9
    named = np.array(["c0", "c1", "c2"])
    options = dict(confidence=INT_CONFIDENCE, abstain_below=0.5, y_proba=proba)
    got = metrics.summarize(_as_given(INT_TRUE, form), INT_RANKED, k=2, classes=[0, 1, 2], **options)
    expected = metrics.summarize(named[INT_TRUE], named[INT_RANKED], k=2, classes=named, **options)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], nan_ok=True), key
    answers = np.where(INT_CONFIDENCE < 0.5, -1, INT_RANKED[:, 0])
    assert got["top1_accuracy"] == pytest.approx(np.mean(answers == INT_TRUE))


def test_clip_fer_evaluate_writes_strict_json(toy_checkpoint, face_arrays, tmp_path, capsys):
    # Before: --abstain-below 1 (every answer "unsure") wrote a bare NaN for the selective
    # accuracy into metrics.json, which strict parsers refuse.
    from clip_fer.cli import main

    root = tmp_path / "faces"
    for i, array in enumerate(face_arrays[:4]):
        (root / ["happy", "sad"][i % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(root / ["happy", "sad"][i % 2] / f"{i}.png")
    out = tmp_path / "out"
    options = {"--data": root, "--model": toy_checkpoint, "--abstain-below": 1, "--out": out}
    argv = ["evaluate", *(str(part) for pair in options.items() for part in pair)]
    assert main(argv) == 0
    capsys.readouterr()

    def refuse(constant):
        raise AssertionError(f"metrics.json holds {constant}, which is not JSON")

    report = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)
    assert report["coverage"] == 0.0 and report["selective_accuracy"] is None
    assert report["top1_accuracy"] == 0.0 and report["run"]["abstain_below"] == 1.0


def test_every_json_the_library_writes_goes_through_the_strict_writer():
    # json.dumps writes NaN unless told not to; the library's writers use strict_json.
    # A json.dumps whose text is encoded on the spot feeds a hash and is never written.
    writer = ROOT / "clip_fer" / "utils" / "_json.py"
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "clip_fer").rglob("*.py"))
        if path != writer
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bjson\.dumps?\(", line) and ").encode()" not in line
    ]
    assert found == []


@pytest.mark.parametrize("missing", [None, np.nan])
def test_a_missing_true_label_is_named_not_scored(missing):
    # Found attacking this change: a NaN true label would have been scored as a class
    # of its own (before the change: scikit-learn's "unknown is not supported").
    y = np.array([missing, 1.0, 0.0], dtype=object)
    for score in (metrics.macro_f1, metrics.unweighted_average_recall):
        with pytest.raises(
            ValueError, match=rf"{score.__name__}: y_true has no label \(None or NaN\) at sample 0"
        ):
            score(y, [1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="summarize: y_true has no label"):
        metrics.summarize(y, [[1.0, 0.0]] * 3, k=1)
