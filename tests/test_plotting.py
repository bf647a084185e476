"""clip_fer.plotting and the notebook displays: figures hold the numbers they show."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from clip_fer import PromptBank, ZeroShotEmotionClassifier, run_experiment
from clip_fer.plotting import plot_confusion_matrix, plot_emotions, plot_faces

pytest.importorskip("matplotlib")
pd = pytest.importorskip("pandas")


def test_confusion_matrix_shows_sklearns_counts_and_shares():
    y_true = ["happy", "sad", "sad", "angry", "happy", "sad"]
    y_pred = ["happy", "sad", "happy", "sad", "happy", "sad"]
    fig = plot_confusion_matrix(y_true, y_pred)
    ax = fig.axes[0]
    labels = ["angry", "happy", "sad"]
    np.testing.assert_array_equal(ax.images[0].get_array(), confusion_matrix(y_true, y_pred, labels=labels))
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    shares = plot_confusion_matrix(y_true, y_pred, labels=["sad", "happy", "angry"], normalize="true")
    expected = confusion_matrix(y_true, y_pred, labels=["sad", "happy", "angry"], normalize="true")
    np.testing.assert_allclose(shares.axes[0].images[0].get_array(), expected)


def test_unsure_is_a_column_of_its_own_and_rows_are_shared_over_every_answer(tmp_path):
    from matplotlib.figure import Figure

    from clip_fer.experiments._reports import draw_confusion_matrix, plot_confusion_matrix

    y_true = ["happy", "sad", "sad", "angry", "happy", "sad", "angry"]
    y_pred = ["happy", "unsure", "happy", "unsure", "unsure", "sad", "angry"]
    labels, columns = ["angry", "happy", "sad"], ["angry", "happy", "sad", "unsure"]
    counts = draw_confusion_matrix(Figure().subplots(), y_true, y_pred, labels, columns=columns)
    square = confusion_matrix(y_true, y_pred, labels=columns)  # with an "unsure" row, all zeros
    np.testing.assert_array_equal(counts.images[0].get_array(), square[:3])
    assert [t.get_text() for t in counts.get_xticklabels()] == columns
    assert [t.get_text() for t in counts.get_yticklabels()] == labels
    shares = draw_confusion_matrix(Figure().subplots(), y_true, y_pred, labels, None, "true", columns)
    np.testing.assert_allclose(
        shares.images[0].get_array(), square[:3] / square[:3].sum(axis=1, keepdims=True)
    )
    plot_confusion_matrix(y_true, y_pred, labels, tmp_path / "c.png", "title", columns=columns)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_the_reliability_diagram_counts_the_images_of_each_bin():
    from clip_fer.metrics import reliability_curve
    from clip_fer.plotting import plot_reliability_diagram

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=40)
    y = rng.choice(["a", "b", "c"], size=40)
    curve = reliability_curve(y, proba, classes=["a", "b", "c"], n_bins=5)
    ax = plot_reliability_diagram(y, proba, classes=["a", "b", "c"], n_bins=5).axes[0]
    shown = [t.get_text() for t in ax.texts]
    assert shown == [str(n) for n in curve.count if n > 0] and sum(map(int, shown)) == 40


def test_confusion_matrix_draws_into_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_confusion_matrix(["a", "b"], ["a", "a"], ax=right, title="mine") is fig
    assert right.get_title() == "mine" and not left.images


@pytest.fixture
def fitted(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=4).fit()


def test_emotion_bars_are_the_images_probabilities(fitted, face_arrays):
    fig = plot_emotions(fitted, face_arrays[0])
    image_ax, bars_ax = fig.axes
    assert image_ax.images  # the face beside the bars
    proba = fitted.predict_proba(face_arrays[:1])[0]
    shown = {t.get_text(): p.get_width() for t, p in zip(bars_ax.get_yticklabels(), bars_ax.patches)}
    assert shown == pytest.approx(dict(zip(fitted.classes_, proba)), rel=1e-6)
    best = fitted.classes_[np.argmax(proba)]
    assert bars_ax.get_yticklabels()[-1].get_text() == best  # best on top
    assert bars_ax.get_title().startswith(best)


def test_emotion_bars_of_an_embedding(fitted, face_arrays):
    embeddings = fitted.embed(face_arrays[:2])
    pre = ZeroShotEmotionClassifier(model=fitted.model, precomputed=True).fit()
    fig = plot_emotions(pre, embeddings[1], title="second")
    (ax,) = fig.axes
    assert sorted(p.get_width() for p in ax.patches) == pytest.approx(
        sorted(pre.predict_proba(embeddings[1:])[0])
    )


def test_faces_figure_shows_the_annotated_photo():
    from PIL import Image

    from clip_fer import draw_faces

    photo = Image.new("RGB", (120, 80), (200, 200, 200))
    faces = [{"box": [10, 20, 50, 60], "labels": ["happy"], "probabilities": {"happy": 0.9}}]
    fig = plot_faces(photo, faces)
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(draw_faces(photo, faces)))
    assert fig.get_figwidth() / fig.get_figheight() == pytest.approx(120 / 80)


def test_fitted_classifier_shows_model_bank_and_classes(fitted):
    from sklearn import config_context

    unfitted = ZeroShotEmotionClassifier(model=fitted.model)
    assert unfitted._repr_mimebundle_()["text/plain"] == repr(unfitted)  # sklearn's, untouched
    bundle = fitted._repr_mimebundle_()
    html, text = bundle["text/html"], bundle["text/plain"]
    n_templates, n_words = len(fitted.prompt_bank_.templates_), len(fitted.prompt_bank_.words_)
    summary = f"{n_templates} templates x {n_words} words = {n_templates * n_words} sentences"
    for shown in (html, text):
        assert summary in shown
        assert fitted.model in shown
        assert ", ".join(fitted.classes_) in shown
    assert text.startswith(repr(fitted))
    assert "sk-estimator" in html or "sk-top-container" in html  # sklearn's diagram follows
    assert summary in fitted._repr_html_()
    with config_context(display="text"):
        assert "text/html" not in fitted._repr_mimebundle_()


def test_experiment_result_displays_its_table(fitted, face_arrays):
    embeddings = fitted.embed(face_arrays)
    y = np.array(["happy", "sad", "angry"] * 4)
    banks = {
        "one": PromptBank(["a {} face"], {"happy": ["happy"], "sad": ["sad"], "angry": ["angry"]}),
        "two": PromptBank(
            ["a {} face", "a {} person"], {"happy": ["glad"], "sad": ["sad"], "angry": ["mad"]}
        ),
    }
    result = run_experiment(fitted, embeddings, y, configurations=banks, k=2)
    html = result._repr_html_()
    first, second = result.table["configuration"]
    assert html.index(f"<td>{first}</td>") < html.index(f"<td>{second}</td>")  # ranked order
    assert html.count("<tr") == 1 + 2  # header and one row per configuration
    assert "2 configurations on 12 images" in html


def test_new_figures_show_as_png_in_notebooks():
    from matplotlib.figure import Figure

    fig = plot_confusion_matrix(["a", "b"], ["a", "a"])
    assert isinstance(fig, Figure)
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(__import__("io").BytesIO(png)).size == (700, 600)  # 7x6 inches at 100 dpi


def test_reliability_diagram_shows_the_bins_of_the_metric():
    from clip_fer.metrics import reliability_curve
    from clip_fer.plotting import plot_reliability_diagram

    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1, 1], size=100)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 100)]
    curve = reliability_curve(y, proba, classes=["a", "b", "c"], n_bins=10)
    fig = plot_reliability_diagram(y, proba, classes=["a", "b", "c"], n_bins=10)
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, curve.accuracy[curve.count > 0])
    assert ax.get_title() == f"Reliability diagram (ECE {curve.ece:.3f})"


def test_risk_coverage_plot_draws_one_curve_per_confidence():
    from clip_fer.metrics import aurc, risk_coverage_curve
    from clip_fer.plotting import plot_risk_coverage

    y = ["a", "a", "b", "b", "a"]
    pred = ["a", "b", "b", "a", "a"]
    named = {"good": [0.9, 0.1, 0.8, 0.2, 0.7], "flat": [0.5] * 5}
    fig = plot_risk_coverage(y, pred, named)
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels[:2] == [f"{name} (AURC {aurc(y, pred, c):.3f})" for name, c in named.items()]
    coverage, risk, _ = risk_coverage_curve(y, pred, named["good"])
    x, height = lines[0].get_data()
    np.testing.assert_allclose(np.unique(x)[1:], coverage)
    assert set(np.round(height, 6)) == set(np.round(risk, 6))
