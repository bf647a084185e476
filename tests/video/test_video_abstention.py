"""predict_video says "unsure" where a track's smoothed top probability is below the
estimator's abstain_below; any estimator with classes_ and predict_proba works."""

import numpy as np
import pytest
from video_scenes import ColourClassifier, ColourDetector, colour_people, render

from clip_fer import predict_video


class UnsureColourClassifier(ColourClassifier):
    abstain_below = None


def test_video_labels_are_unsure_below_the_smoothed_top_probability():
    frames, _ = render(colour_people(12), 12)
    plain = predict_video(ColourClassifier(), frames, detector=ColourDetector())
    classes = [f"proba_{c}" for c in ColourClassifier.classes_]
    top = plain[classes].max(axis=1).to_numpy()
    assert len(plain) and top.min() < top.max()
    threshold = float(np.median(top))
    estimator = UnsureColourClassifier()
    estimator.abstain_below = threshold
    unsure = predict_video(estimator, frames, detector=ColourDetector())
    np.testing.assert_allclose(unsure[classes].to_numpy(), plain[classes].to_numpy())
    expected = np.where(top < threshold, "unsure", plain["label"].to_numpy())
    assert unsure["label"].tolist() == expected.tolist()
    assert unsure["raw_label"].tolist() == plain["raw_label"].tolist()


def test_a_bad_threshold_names_the_estimator():
    estimator = UnsureColourClassifier()
    estimator.abstain_below = 3
    frames, _ = render(colour_people(4), 4)
    with pytest.raises(ValueError, match="'abstain_below' parameter of UnsureColourClassifier"):
        predict_video(estimator, frames, detector=ColourDetector())


def test_track_summary_counts_unsure_frames_outside_the_class_shares(tmp_path):
    from clip_fer.video import iter_video_faces
    from clip_fer.video._outputs import TrackSummary

    frames, _ = render(colour_people(12), 12)
    estimator = UnsureColourClassifier()
    estimator.abstain_below = 1.0  # every face is unsure
    summary = TrackSummary(ColourClassifier.classes_)
    for frame, faces in iter_video_faces(estimator, frames, detector=ColourDetector()):
        assert all(face["label"] == "unsure" for face in faces)
        summary.add(frame, faces)
    summary.write(tmp_path / "tracks.csv")
    import pandas as pd

    tracks = pd.read_csv(tmp_path / "tracks.csv")
    assert len(tracks) and (tracks.filter(like="share_").sum(axis=1) == 0).all()
    assert (tracks["label"] == "unsure").all()


def test_a_few_shot_estimator_abstains_in_video_like_its_predict(toy_checkpoint):
    from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier

    frames, _ = render(colour_people(8), 8)
    rng = np.random.default_rng(0)
    shots = [rng.integers(0, 256, size=(48, 48, 3), dtype=np.uint8) for _ in range(8)]
    labels = np.array(["happy", "sad", "neutral", "angry"] * 2, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint)
    clf = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(shots, labels)
    plain = predict_video(clf, frames, detector=ColourDetector())
    classes = [f"proba_{c}" for c in clf.classes_]
    top = plain[classes].max(axis=1).to_numpy()
    assert len(plain) and top.min() < top.max()
    threshold = float(np.median(top))
    unsure = predict_video(clf.set_params(abstain_below=threshold), frames, detector=ColourDetector())
    np.testing.assert_allclose(unsure[classes].to_numpy(), plain[classes].to_numpy())
    expected = np.where(top < threshold, "unsure", plain["label"].to_numpy())
    assert unsure["label"].tolist() == expected.tolist()
