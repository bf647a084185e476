"""End to end on ../shared: the small FER2013-trained CLIP and FER2013 images.

These numbers describe that small checkpoint, not OpenAI's CLIP. Skipped when
../shared is absent.
"""

import numpy as np
from conftest import FER2013, TINY_FER_CLIP, needs_fer2013, needs_tiny_fer_clip

from clip_fer import MeanProbaDecider, PromptBank, ZeroShotEmotionClassifier


def _sample_paths(n, step=7):
    paths = sorted((FER2013 / "public_test").glob("*/*.jpg"))[::step][:n]
    return [str(p) for p in paths], np.array([p.split("/")[-2] for p in map(str, paths)], dtype=object)


@needs_tiny_fer_clip
@needs_fer2013
def test_tiny_fer_clip_predicts_fer2013_classes_well_above_chance():
    paths, y = _sample_paths(300, step=11)
    clf = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), batch_size=64).fit()
    predicted = clf.predict(paths)
    assert set(predicted) <= set(clf.classes_)
    # Chance is 1/7 (0.14); the checkpoint's README reports about 0.45 top-1.
    assert clf.score(paths, y) > 0.3
    top3 = clf.predict_topk(paths, k=3)
    assert np.mean([t in row for t, row in zip(y, top3)]) > 0.6


@needs_tiny_fer_clip
@needs_fer2013
def test_every_built_in_bank_and_decider_runs_on_real_faces():
    paths, y = _sample_paths(60, step=53)
    for bank in (PromptBank.report_best(), PromptBank.openai_fer2013(), PromptBank.default()):
        for decider in (None, MeanProbaDecider()):
            clf = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), prompt_bank=bank, decider=decider).fit()
            assert clf.score(paths, y) > 0.2, (bank.get_params(), decider)
