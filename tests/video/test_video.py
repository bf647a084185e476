"""Video: reading files and live sources, tracks, smoothing, predict_video, memory.

Videos are built here with PyAV from known faces at known boxes (video_scenes.py):
coloured squares with a colour-reading detector and classifier where the detector
is not the point, FER2013 faces with BlazeFace where it is.
"""

import math
import struct
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from conftest import needs_fer2013
from video_scenes import (
    ColourClassifier,
    ColourDetector,
    colour_people,
    fer_people,
    match,
    render,
    write_video,
)

from clip_fer import EmotionSmoother, IoUTracker, predict_video, read_frames
from clip_fer.exceptions import ImageInputError, InvalidParameterError, VideoInputError
from clip_fer.video import iter_video_faces

av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

N = 45  # frames: 3 s at 15 fps


@pytest.fixture(scope="module")
def colour_scene(tmp_path_factory):
    frames, truth = render(colour_people(N), N)
    path = write_video(tmp_path_factory.mktemp("video") / "colours.mp4", frames)
    return path, frames, truth


# Reading ---------------------------------------------------------------------------


def _ramp(n=12, size=(64, 48)):
    """Frames whose brightness rises 20 per frame: each frame knows its index."""
    return [np.full((size[1], size[0], 3), 10 + 20 * i, np.uint8) for i in range(n)]


@pytest.mark.parametrize("suffix", ["mp4", "webm", "avi", "mov"])
def test_read_frames_every_container_in_order_with_times(tmp_path, suffix):
    frames = _ramp()
    path = write_video(tmp_path / f"ramp.{suffix}", frames, fps=15)
    read = list(read_frames(path))
    assert [f.index for f in read] == list(range(12))
    assert np.allclose([f.time for f in read], np.arange(12) / 15, atol=1e-3)
    brightness = [f.image.mean() for f in read]
    assert np.allclose(brightness, [a.mean() for a in frames], atol=6)
    assert read[0].image.shape == (48, 64, 3) and read[0].image.dtype == np.uint8


def _with_display_rotation(path, degrees):
    """Write a display matrix turning the video ``degrees`` counterclockwise into the
    mp4's track header (``tkhd``), as phones do for portrait videos."""
    data = bytearray(path.read_bytes())
    at = (
        data.find(b"tkhd") + 4 + 4 + 20 + 8 + 8
    )  # version/flags, times/ids/duration, reserved, layer...volume
    cos, sin = {90: (0, 1), -90: (0, -1), 180: (-1, 0)}[degrees]
    unit = 1 << 16
    data[at : at + 36] = struct.pack(
        ">9i", cos * unit, -sin * unit, 0, sin * unit, cos * unit, 0, 0, 0, 1 << 30
    )
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_rotated_phone_video_is_read_as_it_is_shown(tmp_path, degrees):
    # An asymmetric picture (a bright top-left corner) stored turned the other way.
    shown = np.full((48, 64, 3), 40, np.uint8)
    shown[:16, :24] = 230
    stored = np.ascontiguousarray(np.rot90(shown, k=-degrees // 90))
    path = _with_display_rotation(write_video(tmp_path / "phone.mp4", [stored] * 3), degrees)
    read = list(read_frames(path))
    assert [f.image.shape for f in read] == [shown.shape] * 3
    assert all(np.abs(f.image.astype(int) - shown).mean() < 6 for f in read)


def test_sampling_every_and_fps(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", _ramp(), fps=15)
    assert [f.index for f in read_frames(path, every=3)] == [0, 3, 6, 9]
    assert [f.index for f in read_frames(path, fps=5)] == [0, 3, 6, 9]  # 15 fps -> 5 fps
    assert [f.index for f in read_frames(path, fps=100)] == list(range(12))  # no more than there is
    # An iterable of (time, image) pairs with an irregular clock: the first frame at or after each tick.
    live = [(t, a) for t, a in zip([0, 0.09, 0.21, 0.26, 0.52, 0.55, 0.99], _ramp(7))]
    assert [f.index for f in read_frames(iter(live), fps=4)] == [0, 3, 4, 6]  # ticks 0, .25, .5, .75


def test_live_iterable_of_images_gets_times_from_frame_rate():
    read = list(read_frames(iter(_ramp(5)), frame_rate=10))
    assert [f.time for f in read] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])


def test_bad_sources_and_parameters_name_the_problem(tmp_path):
    with pytest.raises(VideoInputError, match="missing.mp4.*does not exist"):
        next(read_frames(tmp_path / "missing.mp4"))
    (tmp_path / "not-a-video.mp4").write_text("hello")
    with pytest.raises(VideoInputError, match="Could not open the video"):
        next(read_frames(tmp_path / "not-a-video.mp4"))
    with pytest.raises(InvalidParameterError, match="at most one of 'every' and 'fps'"):
        read_frames(tmp_path, every=2, fps=3)
    with pytest.raises(InvalidParameterError, match="'every' parameter of read_frames must be an int >= 1"):
        read_frames(tmp_path, every=0)
    with pytest.raises(ImageInputError, match="frame 1 must be an RGB image"):
        list(read_frames(iter([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.float32)])))


def test_closing_the_reader_early_stops_the_decoding_thread(tmp_path):
    import threading

    path = write_video(tmp_path / "ramp.mp4", _ramp(12) * 4, fps=15)
    frames = read_frames(path, queue_size=2)
    next(frames)
    frames.close()
    assert not any(t.name == "clip-fer-decoder" and t.is_alive() for t in threading.enumerate())


# Memory -----------------------------------------------------------------------------


def _peak_bytes(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_video_length(tmp_path):
    short = write_video(tmp_path / "short.mp4", _ramp(10, (160, 120)) * 2, fps=15)
    long = write_video(tmp_path / "long.mp4", _ramp(10, (160, 120)) * 20, fps=15)

    def drain(path):
        return lambda: sum(1 for _ in read_frames(path))

    assert drain(long)() == 200
    small, large = _peak_bytes(drain(short)), _peak_bytes(drain(long))
    assert large < 1.5 * small + 200_000  # 10x the frames, not 10x the memory (a frame is 57 KB)

    # The whole pipeline over a live generator: 20 frames against 300.
    def live(n):
        frames, _ = render(colour_people(30), 30)
        return ((i / 15, frames[i % 30]) for i in range(n))

    def analyse(n):
        return lambda: sum(
            len(faces)
            for _, faces in iter_video_faces(ColourClassifier(), live(n), detector=ColourDetector())
        )

    small, large = _peak_bytes(analyse(20)), _peak_bytes(analyse(300))
    assert large < 1.5 * small + 500_000


# Tracks and smoothing -------------------------------------------------------------


def test_tracker_keeps_ids_through_missed_detections_and_starts_new_ones():
    tracker = IoUTracker(max_missed=0.5)
    a, b = np.array([10, 10, 50, 50.0]), np.array([200, 10, 240, 50.0])
    right = np.array([1, 0, 1, 0.0])  # a moves 10 px right every 0.1 s
    assert tracker.update([a, b], 0.0) == [1, 2]
    assert tracker.update([b, a + 10 * right], 0.1) == [2, 1]  # detection order does not matter
    assert tracker.update([a + 20 * right], 0.2) == [1]  # b missed for a moment
    # Neither seen for 0.3 s: a moved 30 px (IoU 0.14 with its last box, centres 30 px
    # apart); its velocity carries the track there. b is found again: same id.
    assert tracker.update([b, a + 50 * right], 0.5) == [2, 1]
    assert tracker.update([b], 1.2) == [3]  # b gone for 0.7 s > max_missed: a new track
    assert set(tracker.predict(1.2)) == {3}


def test_tracker_without_velocity_would_have_lost_the_fast_face():
    tracker = IoUTracker()
    a = np.array([10, 10, 50, 50.0])
    tracker.update([a], 0.0)
    assert tracker.update([a + [30, 0, 30, 0]], 0.3) == [2]  # no velocity yet: too far to match


def test_smoother_is_an_exponential_moving_average_in_seconds():
    smoother = EmotionSmoother(smoothing=0.5)
    assert smoother.update(1, 0.0, [1, 0]) == pytest.approx([1, 0])
    weight = 1 - math.exp(-0.1 / 0.5)
    assert smoother.update(1, 0.1, [0, 1]) == pytest.approx([1 - weight, weight])
    assert smoother.update(2, 0.1, [0.3, 0.7]) == pytest.approx([0.3, 0.7])  # tracks are separate
    assert EmotionSmoother(0).update(1, 0.0, [0.2, 0.8]) == pytest.approx([0.2, 0.8])


def test_predict_video_tracks_smooths_and_keeps_one_id_per_person(colour_scene):
    path, _, truth = colour_scene
    faces = predict_video(
        ColourClassifier(), path, detector=ColourDetector(drop={5, 6}), detect_every=1, rescan=0
    )  # every detection over the whole frame: call n is frame n
    assert list(faces.columns[:11]) == [
        "frame",
        "time",
        "track",
        "x0",
        "y0",
        "x1",
        "y1",
        "score",
        "detected",
        "label",
        "raw_label",
    ]
    assert np.allclose(faces[["proba_happy", "proba_neutral", "proba_sad"]].sum(axis=1), 1)
    recall, tracks, unmatched = match(faces, truth)
    assert recall >= 43 / 45 * 0.99 and unmatched == 0  # only the two dropped detections are missing
    assert all(len(ids) == 1 for ids in tracks.values()) and len(tracks) == 3
    assert faces.track.nunique() == 3
    late = next(iter(tracks[2]))
    assert faces[faces.track == late].frame.min() == N // 3  # the late one, from its first frame

    a = faces[faces.track == next(iter(tracks[0]))].set_index("frame")
    # The one-frame flicker (blue at frame N // 4) shows in the raw label only.
    assert a.loc[N // 4, "raw_label"] == "sad" and (a.loc[: N // 2 - 1, "label"] == "happy").all()
    # The real change (blue from frame N // 2 on) shows within the smoothing time, and stays.
    changed = a.loc[N // 2 :]
    first_sad = changed[changed.label == "sad"].time.min()
    assert 0 < first_sad - N // 2 / 15 <= 0.5
    assert (changed[changed.time >= first_sad].label == "sad").all()


def test_carried_boxes_between_detections_follow_the_faces(colour_scene):
    path, _, truth = colour_scene
    faces = predict_video(ColourClassifier(), path, detector=ColourDetector(), detect_every=3)
    recall, tracks, unmatched = match(faces, truth)
    assert (~faces.detected).sum() > 40  # two frames of three carried
    assert recall >= 0.95 and unmatched == 0 and all(len(ids) == 1 for ids in tracks.values())


def test_between_rescans_only_the_squares_around_known_faces_are_searched(colour_scene):
    path, _, truth = colour_scene

    class Recording(ColourDetector):
        sizes = []

        def detect(self, image):
            self.sizes.append(image.size)
            return super().detect(image)

    detector = Recording()
    faces = predict_video(ColourClassifier(), path, detector=detector, detect_every=1, rescan=1.0)
    full = [s for s in detector.sizes if s == (320, 240)]
    assert len(full) == 3  # at 0, 1 and 2 s
    assert all(max(s) <= 2.5 * 52 + 2 for s in detector.sizes if s != (320, 240))
    recall, tracks, unmatched = match(faces, truth)
    assert unmatched == 0 and all(len(ids) == 1 for ids in tracks.values())
    # The late face (from frame 15 = 1.0 s) is found by the scan at 1.0 s: nothing is missed.
    assert recall == 1.0


def test_sampling_is_applied_before_processing(colour_scene):
    path, _, _ = colour_scene
    faces = predict_video(ColourClassifier(), path, detector=ColourDetector(), every=3)
    assert sorted(faces.frame.unique()) == list(range(0, N, 3))
    faces = predict_video(ColourClassifier(), path, detector=ColourDetector(), fps=5)
    assert sorted(faces.frame.unique()) == list(range(0, N, 3))


def test_file_and_the_same_frames_as_a_live_source_give_identical_rows(colour_scene):
    path, _, _ = colour_scene
    from_file = predict_video(ColourClassifier(), path, detector=ColourDetector(), batch_frames=4)
    decoded = [(f.time, f.image) for f in read_frames(path)]
    live = predict_video(ColourClassifier(), iter(decoded), detector=ColourDetector(), batch_frames=4)
    pd.testing.assert_frame_equal(from_file, live)
    # Batching frames through the encoder changes nothing but the number of calls.
    one_by_one = predict_video(ColourClassifier(), iter(decoded), detector=ColourDetector(), batch_frames=1)
    pd.testing.assert_frame_equal(from_file, one_by_one)


def test_no_face_gives_an_empty_frame_with_the_columns():
    frames = [np.full((60, 80, 3), 128, np.uint8)] * 3
    faces = predict_video(ColourClassifier(), frames, detector=ColourDetector())
    assert faces.empty and "proba_sad" in faces.columns and faces.frame.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(detect_every=0), "'detect_every' parameter of predict_video must be an int >= 1"),
        (dict(smoothing=-1), "'smoothing' parameter of predict_video must be a number of seconds >= 0"),
        (dict(batch_frames=0), "'batch_frames' parameter of predict_video must be 'auto' or an int >= 1"),
        (dict(tracker=object()), "'tracker' parameter of predict_video must be None or an object"),
        (dict(every=2, fps=2), "at most one of 'every' and 'fps'"),
        (dict(fps=float("inf")), "'fps' parameter of predict_video must be a finite number > 0"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        predict_video(
            ColourClassifier(), [np.zeros((8, 8, 3), np.uint8)], detector=ColourDetector(), **kwargs
        )


def test_iter_video_faces_checks_its_parameters_when_called_not_when_iterated():
    with pytest.raises(InvalidParameterError, match="'smoothing' parameter"):
        iter_video_faces(ColourClassifier(), [np.zeros((8, 8, 3), np.uint8)], smoothing=-1)


# Real faces, real detector ------------------------------------------------------------


@needs_fer2013
def test_blazeface_tracks_fer2013_faces_moving_changing_and_entering(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="the faces extra is not installed")
    n = 30
    frames, truth = render(fer_people(n), n)
    path = write_video(tmp_path / "fer.mp4", frames)
    faces = predict_video(ColourClassifier(), path, detect_every=2, grayscale=True)
    # The truth boxes are the pasted 48-pixel FER2013 crops, face and background:
    # BlazeFace frames the face itself, about 0.65 of the square (IoU about 0.43).
    recall, tracks, unmatched = match(faces, truth, min_iou=0.3)
    assert recall >= 0.9, recall
    assert unmatched == 0
    # One track per person, through the change of face (A) and the late entry (C).
    assert {p: len(ids) for p, ids in tracks.items()} == {0: 1, 1: 1, 2: 1}
    assert faces.track.nunique() == 3
