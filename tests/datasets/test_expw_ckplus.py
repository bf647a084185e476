"""ExpW (label.lst with boxes, several faces a photo) and CK+ (Emotion/ codes, peak frames) replicas."""

import numpy as np
import pytest
from PIL import Image
from replicas import CKPLUS, EXPW, level, save_face, which_face

from clip_fer.datasets import FaceCrops, load_dataset
from clip_fer.exceptions import DatasetError, SkippedItemsWarning

# ExpW: (face, photo, face_id, box (x0, y0, x1, y1), code); two faces share a photo.
EXPW_ITEMS = [
    (0, "afraid_African_214.jpg", 0, (5, 5, 45, 45), 2),
    (1, "angry_actor_104.jpg", 0, (10, 20, 50, 60), 0),
    (2, "happy_people_7.jpg", 0, (0, 0, 40, 40), 3),
    (3, "happy_people_7.jpg", 1, (70, 30, 110, 70), 6),
    (4, "sad_girl_3.jpg", 0, (30, 30, 80, 80), 4),
    (5, "shocked_face_9.jpg", 0, (60, 10, 100, 50), 5),
    (6, "disgusted_man_1.jpg", 0, (15, 40, 55, 80), 1),
]


def build_expw(root, extra=()):
    photos = {}
    for i, name, _, box, _ in EXPW_ITEMS:
        photos.setdefault(name, []).append((i, box))
    for name, faces in photos.items():
        (root / "image" / "origin").mkdir(parents=True, exist_ok=True)
        photo = np.zeros((90, 120), dtype=np.uint8)
        for i, (x0, y0, x1, y1) in faces:
            photo[y0:y1, x0:x1] = level(i)
        Image.fromarray(photo).save(root / "image" / "origin" / name, quality=95)
    lines = [
        f"{name} {face_id} {y0} {x0} {x1} {y1} 0.93 {code}"  # top left right bottom
        for i, name, face_id, (x0, y0, x1, y1), code in EXPW_ITEMS
    ]
    (root / "label").mkdir(parents=True, exist_ok=True)
    (root / "label" / "label.lst").write_text("\n".join([*lines, *extra]) + "\n")
    return root


def test_expw_every_face_is_cropped_and_gets_its_label(tmp_path):
    data = load_dataset(build_expw(tmp_path))
    assert (
        data.layout == "expw" and isinstance(data.images, FaceCrops) and len(data.images) == len(EXPW_ITEMS)
    )
    expected = {i: (box, code) for i, _, _, box, code in EXPW_ITEMS}
    for k, crop in enumerate(data.images):
        (x0, y0, x1, y1), code = expected[which_face(crop)]
        assert crop.size == (x1 - x0, y1 - y0) and data.target[k] == EXPW[code]
    assert data.split is None and data.groups == {}
    with pytest.raises(DatasetError, match="no published split"):
        load_dataset(tmp_path, split="train")


@pytest.mark.parametrize(
    "line, match",
    [
        ("sad_girl_3.jpg 1 0 0 10 10 0.9 7", r"label.lst, line 8: the ExpW expression code '7'"),
        ("gone.jpg 0 0 0 10 10 0.9 3", r"label.lst, line 8: the listed image .*gone.jpg' is missing"),
        ("sad_girl_3.jpg 1 50 90 130 100 0.9 3", r"label.lst, line 8: the face box \(90, 50, 130, 100\)"),
    ],
)
def test_expw_refuses_a_bad_line(tmp_path, line, match):
    build_expw(tmp_path, extra=[line])
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path, layout="expw")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        assert len(load_dataset(tmp_path, layout="expw", on_error="skip").images) == len(EXPW_ITEMS)


# CK+: (subject, sequence, frames in the sequence, code).
CK_SEQUENCES = [("S005", "001", 5, 3), ("S010", "002", 4, 7), ("S010", "006", 6, 2), ("S011", "001", 3, 5)]


def build_ckplus(root, sequences=CK_SEQUENCES, unlabelled=True):
    for subject, sequence, frames, code in sequences:
        folder = root / "cohn-kanade-images" / subject / sequence
        for frame in range(frames):
            save_face(folder / f"{subject}_{sequence}_{frame + 1:08d}.png", frame)
        label = root / "Emotion" / subject / sequence / f"{subject}_{sequence}_{frames:08d}_emotion.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(f"   {code:.7e}\n")
    if unlabelled:  # a sequence without an emotion file is not read
        save_face(root / "cohn-kanade-images" / "S011" / "004" / "S011_004_00000001.png", 0)
        (root / "Emotion" / "S011" / "004").mkdir(parents=True)
    return root


def test_ckplus_last_three_frames_get_the_label_and_subjects_are_groups(tmp_path):
    sequences = [("S005", "001", 4, 3), ("S010", "002", 3, 7), ("S011", "001", 4, 2)]
    build_ckplus(tmp_path, sequences)
    data = load_dataset(tmp_path)
    assert data.layout == "ckplus"
    # independent reference: file names of the last three frames of each sequence
    want = []
    for subject, sequence, frames, code in sequences:
        for frame in range(max(0, frames - 3), frames):
            want.append((f"{subject}_{sequence}_{frame + 1:08d}.png", CKPLUS[code], subject))
    got = [
        (path.rsplit("/", 1)[1], t, s) for path, t, s in zip(data.images, data.target, data.groups["subject"])
    ]
    assert sorted(got) == sorted(want)
    assert data.target_names.tolist() == sorted(CKPLUS.values())


def test_ckplus_peak_frames_and_first_as_neutral(tmp_path):
    build_ckplus(tmp_path, [("S005", "001", 5, 4)], unlabelled=False)
    data = load_dataset(tmp_path, layout="ckplus", peak_frames=1, first_as_neutral=True)
    names = [path.rsplit("/", 1)[1] for path in data.images]
    assert list(zip(names, data.target)) == [
        ("S005_001_00000001.png", "neutral"),
        ("S005_001_00000005.png", "fear"),
    ]
    with pytest.raises(DatasetError, match="'peak_frames' parameter"):
        load_dataset(tmp_path, layout="ckplus", peak_frames=0)


def test_ckplus_refuses_a_code_outside_the_table_and_a_missing_frame(tmp_path):
    build_ckplus(tmp_path)
    label = tmp_path / "Emotion" / "S010" / "002" / "S010_002_00000004_emotion.txt"
    label.write_text("   8.0000000e+00\n")
    with pytest.raises(
        DatasetError, match=r"S010_002_00000004_emotion.txt, line 1: the CK\+ emotion code '8.0"
    ):
        load_dataset(tmp_path)
    label.write_text("   7.0000000e+00\n")
    (tmp_path / "cohn-kanade-images" / "S010" / "002" / "S010_002_00000004.png").unlink()
    with pytest.raises(DatasetError, match=r"line 1: its labelled frame .*S010_002_00000004.png' is missing"):
        load_dataset(tmp_path)
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        data = load_dataset(tmp_path, on_error="skip")
    assert "S010_002" not in " ".join(data.images)
