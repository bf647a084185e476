"""FERPlus replicas: fer2013new.csv beside fer2013.csv, and the generated FER2013*/label.csv folders."""

import numpy as np
import pytest
from PIL import Image
from replicas import FERPLUS, FERPLUS_COLUMNS, face, which_face

from clip_fer.datasets import FaceCrops, Fer2013CsvImages, ferplus_majority, load_dataset
from clip_fer.exceptions import DatasetError, SkippedItemsWarning

# Votes in file order (neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF) and the label worked out by hand with FERPlus's rule: drop
# counts of 1, then the top emotion if it holds more than half of what is left.
VOTES = [
    ((4, 0, 0, 1, 3, 2, 0, 0, 0, 0), None),  # 4 of 9: no majority
    ((6, 0, 1, 1, 0, 0, 0, 0, 2, 0), "neutral"),  # 6 of 8
    ((0, 0, 0, 0, 2, 1, 0, 7, 0, 0), "contempt"),  # 7 of 9
    ((5, 0, 0, 5, 0, 0, 0, 0, 0, 0), None),  # a tie, 5 of 10 each
    ((0, 0, 0, 0, 0, 0, 0, 0, 7, 3), None),  # unknown wins
    ((1, 0, 0, 0, 0, 0, 0, 0, 1, 8), None),  # not a face wins
    ((0, 10, 0, 0, 0, 0, 0, 0, 0, 0), "happiness"),
    ((0, 0, 6, 0, 0, 0, 4, 0, 0, 0), "surprise"),  # 6 of 10
    ((1, 1, 1, 1, 1, 1, 1, 1, 1, 1), None),  # every count dropped
    ((0, 0, 0, 5, 2, 0, 0, 0, 2, 0), "sadness"),  # 5 of 9
    ((3, 0, 0, 0, 4, 0, 2, 0, 1, 0), None),  # 4 of 9 once the 1 is dropped
    ((2, 0, 0, 0, 0, 3, 0, 0, 1, 0), "disgust"),  # 3 of 5 once the 1 is dropped
    ((0, 0, 0, 0, 6, 0, 0, 0, 4, 0), "anger"),  # 6 of 10
    ((0, 0, 0, 0, 0, 0, 5, 0, 3, 2), None),  # fear 5 of 10: exactly half is no majority
    ((0, 0, 0, 0, 0, 0, 6, 0, 2, 2), "fear"),  # 6 of 10
]
USAGE = ["Training"] * 6 + ["PublicTest"] * 5 + ["PrivateTest"] * 4
FOLDER = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
HEADER = "Usage,Image name," + ",".join(FERPLUS_COLUMNS) + ",unknown,NF"


def expected():
    """Face index -> clip-fer class, for the faces that get a label."""
    return {i: FERPLUS[label] for i, (_, label) in enumerate(VOTES) if label}


def test_the_rule_against_hand_computed_votes():
    columns = [*FERPLUS.values(), "unknown", "not_face"]
    got = ferplus_majority([votes for votes, _ in VOTES])
    assert [columns[k] if k >= 0 else None for k in got] == [FERPLUS[v] if v else None for _, v in VOTES]


def build_csv(root, dropped=(), votes_line=None):
    """fer2013.csv and fer2013new.csv, row-aligned; rows in ``dropped`` have no image name."""
    root.mkdir(parents=True, exist_ok=True)
    fer = ["emotion,pixels,Usage"]
    new = [HEADER]
    for i, ((votes, _), usage) in enumerate(zip(VOTES, USAGE)):
        fer.append(f"{i % 7},{' '.join(map(str, face(i).ravel()))},{usage}")
        name = "" if i in dropped else f"fer{i:07d}.png"
        counts = votes_line if votes_line and i == 2 else ",".join(map(str, votes))
        new.append(f"{usage},{name},{counts}")
    (root / "fer2013.csv").write_text("\n".join(fer) + "\n")
    (root / "fer2013new.csv").write_text("\n".join(new) + "\n")
    return root


def test_csv_form_labels_every_face_by_the_rule_and_keeps_votes(tmp_path):
    data = load_dataset(build_csv(tmp_path, dropped=(1,)))
    assert data.layout == "ferplus" and isinstance(data.images, Fer2013CsvImages)
    labelled = {i: label for i, label in expected().items() if i != 1}
    assert sorted(which_face(image) for image in data.images) == sorted(labelled)
    for k, image in enumerate(data.images):
        i = which_face(image)
        assert data.target[k] == labelled[i]
        assert (
            data.split[k]
            == {"Training": "train", "PublicTest": "public_test", "PrivateTest": "private_test"}[USAGE[i]]
        )
        # votes in vote_names order: the file's columns by name
        by_name = dict(zip([*FERPLUS.values(), "unknown", "not_face"], VOTES[i][0]))
        assert data.target_votes[k].tolist() == [by_name[name] for name in data.vote_names]
    assert data.target_names.tolist() == sorted(FERPLUS.values())


def test_csv_form_split_and_the_file_itself(tmp_path):
    build_csv(tmp_path)
    for path in (tmp_path, tmp_path / "fer2013new.csv"):
        data = load_dataset(path, split="test")  # FERPlus's Test is FER2013's PrivateTest
        assert sorted(which_face(image) for image in data.images) == [11, 12, 14]


def test_csv_form_refuses_bad_votes_and_misaligned_files(tmp_path):
    build_csv(tmp_path, votes_line="0,0,x,0,0,0,0,0,0,0")
    with pytest.raises(DatasetError, match=r"fer2013new.csv, line 4: the votes .* are not 10 counts"):
        load_dataset(tmp_path)
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        data = load_dataset(tmp_path, on_error="skip")
    assert 2 not in [which_face(image) for image in data.images]
    lines = (tmp_path / "fer2013.csv").read_text().splitlines()
    (tmp_path / "fer2013.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match="row for row"):
        load_dataset(tmp_path)


def build_folders(root, boxed=False, extra=None):
    """FERPlus's generate_training_data.py output: FER2013*/fer*.png and label.csv."""
    rows = {}
    for i, ((votes, _), usage) in enumerate(zip(VOTES, USAGE)):
        folder = root / FOLDER[usage]
        folder.mkdir(parents=True, exist_ok=True)
        name = f"fer{i:07d}.png"
        Image.fromarray(face(i)).save(folder / name)
        box = ',"(0, 0, 48, 48)"' if boxed else ""
        rows.setdefault(folder, []).append(f"{name}{box},{','.join(map(str, votes))}")
    for folder, line in extra or ():
        rows[root / folder].append(line)
    for folder, lines in rows.items():
        (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("boxed", [False, True])
def test_folder_form_labels_every_face_by_the_rule(tmp_path, boxed):
    data = load_dataset(build_folders(tmp_path, boxed=boxed))
    assert data.layout == "ferplus" and isinstance(data.images, FaceCrops) == boxed
    assert sorted(which_face(image) for image in data.images) == sorted(expected())
    for k, image in enumerate(data.images):
        assert data.target[k] == expected()[which_face(image)]
    assert load_dataset(tmp_path, split="valid", layout="ferplus").split.tolist() == ["public_test"] * 3


@pytest.mark.parametrize(
    "line, match",
    [
        (
            "fer0000099.png,0,0,0,10,0,0,0,0,0,0",
            r"FER2013Test.label.csv, line 5: the listed image .* is missing",
        ),
        ("fer0000012.png,0,0,0,10,0,0,0,0,0", r"FER2013Test.label.csv, line 5: the votes .* not 10 counts"),
        ('fer0000012.png,"(0, 0, 49, 48)",0,0,0,10,0,0,0,0,0,0', r"line 5: the face box \(0, 0, 49, 48\)"),
    ],
)
def test_folder_form_refuses_a_bad_line(tmp_path, line, match):
    build_folders(tmp_path, extra=[("FER2013Test", line)])
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path, layout="ferplus")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        data = load_dataset(tmp_path, layout="ferplus", on_error="skip")
    assert len(data.images) == len(expected())
    np.testing.assert_array_equal(data.target_votes.sum(axis=1) > 0, True)
