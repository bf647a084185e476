"""on_error="raise" | "skip": a bad item never costs the others their results."""

import numpy as np
import pytest

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.exceptions import ImageInputError, InvalidParameterError, SkippedImagesWarning


@pytest.fixture
def batch(face_arrays):
    # Bad items at 1 (first batch of 4) and 6 (second batch), 10 good ones.
    items = list(face_arrays[:10])
    items.insert(1, "/missing/face.jpg")
    items.insert(6, np.zeros((3, 3), np.int64))
    return items


@pytest.mark.parametrize("num_workers", [0, 2])
def test_skip_keeps_every_good_result(toy_checkpoint, batch, num_workers):
    good = [i for i in range(12) if i not in (1, 6)]
    reference = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()
    expected = reference.predict_proba([batch[i] for i in good])
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, on_error="skip", batch_size=4, num_workers=num_workers, cache=False
    ).fit()
    with pytest.warns(SkippedImagesWarning) as record:
        proba = clf.predict_proba(batch)
    message = str(record[0].message)
    assert message.startswith("2 of 12 inputs were skipped (on_error='skip')")
    assert "index 1 (/missing/face.jpg): file '/missing/face.jpg' does not exist" in message
    assert "index 6: array of dtype int64 is not supported" in message
    assert np.isnan(proba[[1, 6]]).all()
    np.testing.assert_allclose(proba[good], expected, atol=1e-6)


def test_skip_shapes_of_every_output(toy_checkpoint, batch):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning):
        labels = clf.predict(batch)
        top, scores = clf.predict_topk(batch, k=3, return_scores=True)
        decision = clf.decide(batch)
        embeddings = clf.embed(batch)
    assert labels.dtype == object and labels[1] is None and labels[6] is None
    assert all(label in clf.classes_ for i, label in enumerate(labels) if i not in (1, 6))
    assert top.shape == (12, 3) and list(top[1]) == [None, None, None]
    assert np.isnan(scores[6]).all() and not np.isnan(scores[0]).any()
    assert (decision.ranking[1] == -1).all() and (decision.ranking[0] >= 0).all()
    assert np.isnan(embeddings[[1, 6]]).all() and not np.isnan(np.delete(embeddings, [1, 6], axis=0)).any()


def test_skipped_embeddings_feed_the_precomputed_path(toy_checkpoint, batch):
    images = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning):
        embeddings = images.embed(batch)
        expected = images.predict(batch)
    embeddings[3, 0] = np.inf  # a corrupted row of the user's own
    pre = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True, on_error="skip").fit()
    with pytest.warns(
        SkippedImagesWarning, match="3 of 12 inputs were skipped.*index 3: embedding holds NaN or infinity"
    ):
        labels = pre.predict(embeddings)
    assert labels[3] is None and list(labels[[0, 2, 4]]) == list(expected[[0, 2, 4]])
    strict = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True).fit()
    with pytest.raises(ValueError, match="Input contains NaN"):
        strict.predict(embeddings)


def test_precomputed_zero_rows_are_bad_inputs_and_tensors_may_require_grad(toy_checkpoint, batch):
    # A zero embedding (say, a user's placeholder for a failed image) has no
    # direction: it used to get the first class as a confident-looking label.
    torch = pytest.importorskip("torch")
    images = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning):
        embeddings = images.embed(batch)
    good = np.flatnonzero(np.isfinite(embeddings).all(axis=1))
    embeddings = embeddings[good]
    expected = images.predict_proba([batch[i] for i in good])
    embeddings[1] = 0.0
    strict = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True).fit()
    with pytest.raises(ImageInputError, match="Image at index 1: embedding is all zeros"):
        strict.predict(embeddings)
    pre = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning, match="index 1: embedding is all zeros"):
        proba = pre.predict_proba(torch.from_numpy(embeddings).requires_grad_())
    assert np.isnan(proba[1]).all()
    np.testing.assert_allclose(np.delete(proba, 1, axis=0), np.delete(expected, 1, axis=0), atol=1e-6)


def test_raise_names_the_first_bad_item(toy_checkpoint, batch):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=4).fit()
    with pytest.raises(ImageInputError, match="Image at index 1: file '/missing/face.jpg' does not exist"):
        clf.predict(batch)


def test_all_bad_gives_all_missing(toy_checkpoint):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning, match="2 of 2 inputs were skipped"):
        labels = clf.predict(["/a.jpg", "/b.jpg"])
    assert list(labels) == [None, None]


def test_many_skips_are_summarised(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning, match=r"8 of 9 inputs .*; and 3 more$"):
        clf.predict([face_arrays[0]] + [f"/missing{i}.jpg" for i in range(8)])


def test_failed_items_are_not_cached(toy_checkpoint, face_arrays, tmp_path):
    from PIL import Image

    path = tmp_path / "late.png"
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    with pytest.warns(SkippedImagesWarning):
        assert clf.predict([path])[0] is None
    Image.fromarray(face_arrays[0]).save(path)  # the file arrives
    assert clf.predict([path])[0] in clf.classes_


def test_on_error_is_checked(toy_checkpoint):
    with pytest.raises(
        InvalidParameterError,
        match="The 'on_error' parameter of ZeroShotEmotionClassifier must be one of 'raise', 'skip'. Got 'ignore'",
    ):
        ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="ignore").fit()


def test_score_with_a_skipped_item_warns_once_naming_it(toy_checkpoint, face_arrays):
    import warnings

    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    items = [face_arrays[0], "/missing/face.jpg", face_arrays[1]]
    expected = clf.predict([items[0], items[2]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = clf.score(items, [expected[0], expected[0], expected[1]])
    skipped = [w.message for w in caught if isinstance(w.message, SkippedImagesWarning)]
    assert len(skipped) == 1 and score == 1.0
    assert "left out 1 of 3 inputs" in str(skipped[0]) and "/missing/face.jpg" in str(skipped[0])
    assert skipped[0].errors[0][0] == 1
