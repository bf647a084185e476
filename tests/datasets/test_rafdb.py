"""RAF-DB replicas: list_patition_label.txt, aligned faces, manual attributes."""

import pytest
from replicas import RAFDB, save_face, which_face

from clip_fer.datasets import load_dataset
from clip_fer.exceptions import DatasetError, SkippedItemsWarning

# (face, image stem, label code, gender, race, age codes); every code 1..7 once at least.
ITEMS = [
    (0, "train_00001", 5, 0, 0, 2),
    (1, "train_00002", 1, 1, 2, 1),
    (2, "train_00003", 2, 2, 1, 3),
    (3, "train_00004", 3, 1, 0, 0),
    (4, "test_0001", 7, 0, 2, 4),
    (5, "test_0002", 4, 1, 1, 2),
    (6, "test_0003", 6, 0, 0, 3),
]
GENDER = {0: "male", 1: "female", 2: "unsure"}
RACE = {0: "Caucasian", 1: "African-American", 2: "Asian"}
AGE = {0: "0-3", 1: "4-19", 2: "20-39", 3: "40-69", 4: "70+"}


def write_attributes(root, stem, gender, race, age):
    path = root / "Annotation" / "manual" / f"{stem}_manu_attri.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    landmarks = "\n".join(f"{30 + k}.25\t{40 + k}.75" for k in range(5))
    path.write_text(f"{landmarks}\n{gender}\n{race}\n{age}\n")
    return path


def build(root, items=ITEMS, extra_lines=()):
    lines = []
    for i, stem, code, gender, race, age in items:
        save_face(root / "Image" / "aligned" / f"{stem}_aligned.jpg", i)
        write_attributes(root, stem, gender, race, age)
        lines.append(f"{stem}.jpg {code}")
    labels = root / "EmoLabel" / "list_patition_label.txt"
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return root


def test_every_face_gets_its_label_split_and_attributes(tmp_path):
    data = load_dataset(build(tmp_path), layout="rafdb")
    assert data.layout == "rafdb" and len(data.images) == len(ITEMS)
    expected = {i: item for i, *item in ITEMS}
    for k, image in enumerate(data.images):
        stem, code, gender, race, age = expected[which_face(image)]
        assert data.target[k] == RAFDB[code]
        assert data.split[k] == stem.split("_")[0]
        assert (data.groups["gender"][k], data.groups["race"][k], data.groups["age"][k]) == (
            GENDER[gender],
            RACE[race],
            AGE[age],
        )
    assert data.target_names.tolist() == sorted(RAFDB.values())


def test_layout_is_detected_and_split_filters(tmp_path):
    data = load_dataset(build(tmp_path), split="test")
    assert data.layout == "rafdb"
    assert sorted(which_face(image) for image in data.images) == [4, 5, 6]


def test_without_attributes_the_groups_are_empty(tmp_path):
    build(tmp_path)
    for path in (tmp_path / "Annotation" / "manual").iterdir():
        path.unlink()
    (tmp_path / "Annotation" / "manual").rmdir()
    assert load_dataset(tmp_path, layout="rafdb").groups == {}


@pytest.mark.parametrize(
    "line, match",
    [
        ("train_00009.jpg 8", r"list_patition_label.txt, line 8: the RAF-DB label code '8'"),
        ("train_00009.jpg 0", r"line 8: the RAF-DB label code '0'"),
        ("train_00010.jpg 3", r"line 8: the listed image .*train_00010_aligned.jpg' is missing"),
    ],
)
def test_a_bad_line_is_refused_by_file_and_line_or_skipped_and_counted(tmp_path, line, match):
    build(tmp_path, extra_lines=[line])
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path, layout="rafdb")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item") as caught:
        data = load_dataset(tmp_path, layout="rafdb", on_error="skip")
    assert len(caught) == 1 and len(data.images) == len(ITEMS)


def test_an_attribute_code_outside_the_table_is_refused(tmp_path):
    build(tmp_path)
    write_attributes(tmp_path, "test_0002", 3, 1, 2)
    with pytest.raises(DatasetError, match=r"test_0002_manu_attri.txt, line 6: the RAF-DB gender code '3'"):
        load_dataset(tmp_path, layout="rafdb")
    with pytest.warns(SkippedItemsWarning):
        data = load_dataset(tmp_path, layout="rafdb", on_error="skip")
    assert 5 not in [which_face(image) for image in data.images]


def test_original_images(tmp_path):
    build(tmp_path)
    save_face(tmp_path / "Image" / "original" / "test_0001.jpg", 9)
    with pytest.raises(DatasetError, match="test_0002.jpg' is missing"):
        load_dataset(tmp_path, split="test", layout="rafdb", images="original")
