"""The same inputs give the same outputs whatever the batch size, order or cache state."""

import numpy as np
import pytest

from clip_fer import (
    ZeroShotEmotionClassifier,
    clear_embedding_cache,
    report_experiment_banks,
    sample_prompt_banks,
)
from clip_fer._vocabularies import REPORT_SYNONYM_POOL, REPORT_TEMPLATE_POOL


@pytest.fixture
def reference(toy_checkpoint, face_arrays):
    return (
        ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, batch_size=32)
        .fit()
        .predict_proba(face_arrays)
    )


@pytest.mark.parametrize("batch_size", [1, 3, 7, 64])
def test_batch_size(toy_checkpoint, face_arrays, reference, batch_size):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, batch_size=batch_size).fit()
    np.testing.assert_allclose(clf.predict_proba(face_arrays), reference, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_input_order(toy_checkpoint, face_arrays, reference, seed):
    order = np.random.default_rng(seed).permutation(len(face_arrays))
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, batch_size=5).fit()
    np.testing.assert_allclose(
        clf.predict_proba([face_arrays[i] for i in order]), reference[order], atol=1e-5
    )


def test_cache_state(toy_checkpoint, face_arrays, reference, tmp_path):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=4, cache_dir=tmp_path).fit()
    cold = clf.predict_proba(face_arrays)
    warm = clf.predict_proba(face_arrays)  # from memory
    clear_embedding_cache()
    from_disk = clf.predict_proba(face_arrays)
    clear_embedding_cache()
    partial = clf.predict_proba(face_arrays[::2])  # half cached, half not
    mixed = clf.predict_proba(face_arrays)
    for result in (cold, warm, from_disk, mixed):
        np.testing.assert_allclose(result, reference, atol=1e-5)
    np.testing.assert_allclose(partial, reference[::2], atol=1e-5)


def test_experiment_draws_are_seeded():
    a = [b.get_params() for b in report_experiment_banks(random_state=3).values()]
    b = [b.get_params() for b in report_experiment_banks(random_state=3).values()]
    c = [b.get_params() for b in report_experiment_banks(random_state=4).values()]
    assert a == b and a != c
    rng = np.random.RandomState(0)
    first = sample_prompt_banks(REPORT_TEMPLATE_POOL, REPORT_SYNONYM_POOL, 2, 2, 2, rng)
    again = sample_prompt_banks(REPORT_TEMPLATE_POOL, REPORT_SYNONYM_POOL, 2, 2, 2, np.random.RandomState(0))
    assert [x.get_params() for x in first] == [x.get_params() for x in again]
