"""clip_fer.datasets: the Kaggle CSV (written here), image folders, split filters."""

import pickle

import numpy as np
import pytest
from conftest import FER2013, needs_fer2013
from PIL import Image

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.datasets import (
    Fer2013CsvImages,
    load_dataset,
    load_fer2013_csv,
    load_image_folder,
    split_name,
)
from clip_fer.exceptions import DatasetError, ImageInputError

# (emotion code, Usage) of each row; code 4 is sad and 6 neutral in the CSV's order.
ROWS = [(0, "Training"), (4, "PublicTest"), (6, "PublicTest"), (3, "PrivateTest"), (1, "Training")]
NAMES = ["angry", "sad", "neutral", "happy", "disgust"]


def face(i):
    """A distinct 48x48 uint8 face per row: a ramp shifted by the row number."""
    return ((np.arange(48 * 48).reshape(48, 48) + 37 * i) % 256).astype(np.uint8)


def write_csv(path, rows=ROWS, header="emotion,pixels,Usage", line=None):
    line = line or (lambda code, pixels, usage: f"{code},{pixels},{usage}")
    text = [header]
    for i, (code, usage) in enumerate(rows):
        text.append(line(code, " ".join(map(str, face(i).ravel())), usage))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fer_csv(tmp_path):
    return write_csv(tmp_path / "fer2013.csv")


def test_csv_labels_images_and_names(fer_csv):
    data = load_fer2013_csv(fer_csv)
    assert isinstance(data.images, Fer2013CsvImages) and len(data.images) == 5
    assert data.target.tolist() == NAMES
    assert data.split.tolist() == ["train", "public_test", "public_test", "private_test", "train"]
    assert data.target_names.tolist() == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert data.filenames.tolist() == [f"{fer_csv}:{line}" for line in range(2, 7)]
    for i in range(5):
        image = data.images[i]
        assert image.dtype == np.uint8 and image.shape == (48, 48)
        np.testing.assert_array_equal(image, face(i))
    np.testing.assert_array_equal(data.images[-1], face(4))


@pytest.mark.parametrize("split", ["PublicTest", "public_test", "publictest", ["public_test"]])
def test_csv_split_filter_accepts_usage_and_folder_names(fer_csv, split):
    data = load_fer2013_csv(fer_csv, split=split)
    assert data.target.tolist() == ["sad", "neutral"]
    assert data.filenames.tolist() == [f"{fer_csv}:3", f"{fer_csv}:4"]
    np.testing.assert_array_equal(data.images[1], face(2))


def test_csv_several_splits_keep_file_order(fer_csv):
    data = load_fer2013_csv(fer_csv, split=["Training", "PrivateTest"])
    assert data.target.tolist() == ["angry", "happy", "disgust"]
    np.testing.assert_array_equal(data.images[1], face(3))


def test_csv_slices_are_lazy_sequences(fer_csv):
    images = load_fer2013_csv(fer_csv).images
    part = images[1:4:2]
    assert isinstance(part, Fer2013CsvImages) and len(part) == 2
    np.testing.assert_array_equal(part[1], face(3))
    with pytest.raises(IndexError, match="index 5 is out of range for 5 images"):
        images[5]


def test_csv_images_are_not_held_in_memory(tmp_path):
    rows = [(i % 7, "Training") for i in range(200)]
    path = write_csv(tmp_path / "big.csv", rows=rows)
    images = load_fer2013_csv(path).images
    # 200 faces are 460 kB as uint8 and about 2 MB as text; the sequence keeps offsets only.
    assert path.stat().st_size > 1_500_000
    assert len(pickle.dumps(images)) < 10_000
    np.testing.assert_array_equal(images[199], face(199))


def test_icml_header_order_quotes_blank_lines_and_no_usage(tmp_path):
    path = write_csv(
        tmp_path / "icml_face_data.csv",
        header="emotion, Usage, pixels",
        line=lambda code, pixels, usage: f'{code}, {usage},"{pixels}"',
    )
    path.write_text(path.read_text() + "\n\n")
    data = load_fer2013_csv(path, split="Training")
    assert data.target.tolist() == ["angry", "disgust"]
    np.testing.assert_array_equal(data.images[1], face(4))

    no_usage = write_csv(
        tmp_path / "train.csv", header="emotion,pixels", line=lambda code, pixels, usage: f"{code},{pixels}"
    )
    data = load_fer2013_csv(no_usage)
    assert data.split is None and data.target.tolist() == NAMES
    with pytest.raises(DatasetError, match=r"has no 'Usage' column, so split='train' selects nothing"):
        load_fer2013_csv(no_usage, split="train")


def test_csv_errors_name_the_file_line_and_fix(tmp_path, fer_csv):
    with pytest.raises(DatasetError, match=r"No file '.*missing\.csv'; load_fer2013_csv needs FER2013's CSV"):
        load_fer2013_csv(tmp_path / "missing.csv")
    with pytest.raises(
        DatasetError, match=r"has no split 'val'; its splits are \['private_test', 'public_test', 'train'\]"
    ):
        load_fer2013_csv(fer_csv, split="val")
    with pytest.raises(
        DatasetError, match=r"'split' parameter of load_fer2013_csv must be None, a split name"
    ):
        load_fer2013_csv(fer_csv, split=3)

    bad = tmp_path / "bad.csv"
    bad.write_text("label,pixels\n0,1 2\n")
    with pytest.raises(
        DatasetError, match=r"lacks the column\(s\) \['emotion'\]; its header is \['label', 'pixels'\]"
    ):
        load_fer2013_csv(bad)
    bad.write_text("emotion,pixels,Usage\n0,1 2,Training\n7,1 2,Training\n")
    with pytest.raises(
        DatasetError,
        match=r"Line 3 of .*bad\.csv has the emotion '7'; FER2013's codes are 0\.\.6 \(angry, disgust, fear, happy, sad, surprise, neutral\)",
    ):
        load_fer2013_csv(bad)
    bad.write_text("emotion,pixels,Usage\n0,1 2\n")
    with pytest.raises(DatasetError, match=r"Line 2 of .*bad\.csv has 2 fields; the header has 3"):
        load_fer2013_csv(bad)


def test_a_malformed_face_fails_when_used_naming_its_index_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "emotion,pixels\n0," + " ".join(["7"] * 2304) + "\n3,1 2 3\n5," + " ".join(["300"] * 2304) + "\n"
    )
    images = load_fer2013_csv(bad).images
    assert images[0].max() == 7
    with pytest.raises(
        ImageInputError,
        match=r"Image at index 1: line 3 of .*bad\.csv: the pixels field has 3 values; a FER2013 face has 2304 \(48x48\)",
    ):
        images[1]
    with pytest.raises(
        ImageInputError,
        match=r"Image at index 2: line 4 .*pixel values must be in \[0, 255\]; found 300\.\.300",
    ):
        images[2]


def test_the_classifier_reads_csv_faces(toy_checkpoint, fer_csv):
    data = load_fer2013_csv(fer_csv)
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=2).fit(y=data.target)
    expected = clf.predict([face(i) for i in range(5)])
    np.testing.assert_array_equal(clf.predict(data.images), expected)


# Folders ------------------------------------------------------------------------


def save_faces(folder, names, face_arrays, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(face_arrays[start + i]).save(folder / name)


@pytest.fixture
def split_tree(tmp_path, face_arrays):
    root = tmp_path / "fer"
    save_faces(root / "train" / "happy", ["b.png", "a.jpg"], face_arrays)
    save_faces(root / "train" / "sad", ["c.png"], face_arrays, 2)
    save_faces(root / "public_test" / "angry", ["d.png"], face_arrays, 3)
    save_faces(root / "public_test" / "happy", ["e.png"], face_arrays, 4)
    (root / "public_test" / "happy" / "notes.txt").write_text("not an image")
    (root / "public_test" / "happy" / ".hidden.png").write_bytes(b"")
    (root / "public_test" / "empty").mkdir()
    return root


def test_class_folder(split_tree):
    data = load_image_folder(split_tree / "train")
    assert data.images == [str(split_tree / "train" / p) for p in ("happy/a.jpg", "happy/b.png", "sad/c.png")]
    assert data.target.tolist() == ["happy", "happy", "sad"]
    assert data.target_names.tolist() == ["happy", "sad"]
    assert data.filenames.tolist() == data.images
    assert data.split is None


def test_split_tree_all_and_filtered(split_tree):
    data = load_image_folder(split_tree)
    assert [p.split("fer/")[1] for p in data.images] == [
        "public_test/angry/d.png",
        "public_test/happy/e.png",
        "train/happy/a.jpg",
        "train/happy/b.png",
        "train/sad/c.png",
    ]
    assert data.split.tolist() == ["public_test"] * 2 + ["train"] * 3
    assert data.target_names.tolist() == ["angry", "happy", "sad"]
    for split in ("PublicTest", "public_test", ["public_test"]):
        part = load_image_folder(split_tree, split=split)
        assert part.target.tolist() == ["angry", "happy"] and part.split.tolist() == ["public_test"] * 2
    both = load_image_folder(split_tree, split=["Training", "public_test"])
    assert both.split.tolist() == ["train"] * 3 + ["public_test"] * 2


def test_folder_errors(tmp_path, split_tree):
    with pytest.raises(
        DatasetError, match=r"No folder '.*nowhere'; load_image_folder needs a folder of class/\*\.jpg"
    ):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(
        DatasetError, match=r"has no split 'private_test'; its splits are \['public_test', 'train'\]"
    ):
        load_image_folder(split_tree, split="PrivateTest")
    with pytest.raises(
        DatasetError,
        match=r"is a folder of class/\*\.jpg without split folders, so split='train' selects nothing",
    ):
        load_image_folder(split_tree / "train", split="train")
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(
        DatasetError, match=r"holds no image files \(\.bmp, .*\) in class/ or split/class/ subfolders"
    ):
        load_image_folder(tmp_path / "empty")


def test_load_dataset_dispatches_on_the_path(tmp_path, split_tree, fer_csv):
    assert load_dataset(fer_csv, split="PublicTest").target.tolist() == ["sad", "neutral"]
    assert load_dataset(split_tree, split="train").target.tolist() == ["happy", "happy", "sad"]
    with pytest.raises(
        DatasetError, match=r"No file or folder '.*nothing'; give a FER2013 CSV, a folder of class/\*\.jpg"
    ):
        load_dataset(tmp_path / "nothing")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Training", "train"),
        ("train", "train"),
        ("Train", "train"),
        ("PublicTest", "public_test"),
        ("public-test", "public_test"),
        ("PrivateTest", "private_test"),
        ("val", "val"),
        ("Validation", "validation"),
        ("Val", "val"),
    ],
)
def test_split_name(name, expected):
    assert split_name(name) == expected


@needs_fer2013
def test_shared_fer2013_tree_counts():
    data = load_image_folder(FER2013, split="public_test")
    assert len(data.images) == 3589
    assert dict(zip(*np.unique(data.target, return_counts=True))) == {
        "angry": 467,
        "disgust": 56,
        "fear": 496,
        "happy": 895,
        "neutral": 607,
        "sad": 653,
        "surprise": 415,
    }
