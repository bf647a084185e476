"""AffectNet replicas: Manually_Annotated_file_lists/*.csv with face boxes, 7 and 8 classes."""

import pytest
from replicas import AFFECTNET, save_photo, which_face

from clip_fer.datasets import FaceCrops, load_dataset
from clip_fer.exceptions import DatasetError, SkippedItemsWarning

HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)
# (face, split, sub/file, box (x, y, w, h), expression code)
ITEMS = [
    (0, "train", "689/a0.jpg", (10, 12, 40, 40), 0),
    (1, "train", "689/a1.jpg", (30, 5, 50, 60), 1),
    (2, "train", "12/b2.png", (0, 0, 48, 48), 2),
    (3, "train", "12/b3.jpg", (70, 40, 50, 50), 3),
    (4, "train", "12/b4.jpg", (20, 20, 30, 30), 7),
    (5, "validation", "7/c5.jpg", (15, 15, 45, 45), 4),
    (6, "validation", "7/c6.jpg", (5, 30, 40, 40), 5),
    (7, "validation", "7/c7.jpg", (60, 10, 44, 44), 6),
    (8, "validation", "7/c8.jpg", (25, 25, 40, 40), 7),
]
# Rows the literature leaves out: None, Uncertain, No-Face.
LEFT_OUT = [
    (9, "train", "5/d9.jpg", (10, 10, 40, 40), 8),
    (10, "validation", "5/d10.jpg", (10, 10, 40, 40), 10),
]
FILES = {"train": "training.csv", "validation": "validation.csv"}


def row(sub, box, code):
    x, y, w, h = box
    landmarks = ";".join(str(v) for v in range(10))
    return f"{sub},{x},{y},{w},{h},{landmarks},{code},0.25,-0.5"


def build(root, items=ITEMS + LEFT_OUT, extra=None):
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    rows = {"train": [HEADER], "validation": []}  # AffectNet's validation.csv comes without a header
    for i, split, sub, (x, y, w, h), code in items:
        save_photo(root / "Manually_Annotated_Images" / sub, i, (x, y, x + w, y + h))
        rows[split].append(row(sub, (x, y, w, h), code))
    for split, line in extra or ():
        rows[split].append(line)
    for split, lines in rows.items():
        (lists / FILES[split]).write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("layout, classes", [("affectnet", 8), ("affectnet-8", 8), ("affectnet-7", 7)])
def test_every_face_is_cropped_and_gets_its_label(tmp_path, layout, classes):
    data = load_dataset(build(tmp_path), layout=layout)
    kept = [item for item in ITEMS if classes == 8 or AFFECTNET[item[4]] != "contempt"]
    assert isinstance(data.images, FaceCrops) and len(data.images) == len(kept)
    expected = {i: (split, box, code) for i, split, _, box, code in kept}
    for k, crop in enumerate(data.images):
        split, (x, y, w, h), code = expected[which_face(crop)]
        assert crop.size == (w, h)
        assert data.target[k] == AFFECTNET[code] and data.split[k] == split
    assert data.target_names.tolist() == sorted(
        v for v in AFFECTNET.values() if classes == 8 or v != "contempt"
    )
    assert data.groups == {}


def test_the_validation_split_is_the_test_split_and_the_layout_is_detected(tmp_path):
    data = load_dataset(build(tmp_path), split="validation")
    assert data.layout == "affectnet"
    assert sorted(which_face(crop) for crop in data.images) == [5, 6, 7, 8]
    assert data.images[1:3].paths.tolist() == data.filenames[1:3].tolist()


@pytest.mark.parametrize(
    "line, match",
    [
        (
            row("7/c5.jpg", (15, 15, 45, 45), 11),
            r"validation.csv, line 6: the AffectNet expression code '11'",
        ),
        (
            row("7/none.jpg", (1, 1, 5, 5), 3),
            r"validation.csv, line 6: the listed image .*none.jpg' is missing",
        ),
        (
            row("7/c5.jpg", (100, 50, 45, 45), 3),
            r"line 6: the face box \(100, 50, 145, 95\) .* 120x90 pixels",
        ),
        (row("7/c5.jpg", (-1, 0, 10, 10), 3), r"line 6: the face box \(-1, 0, 9, 10\) .*outside"),
    ],
)
def test_a_bad_row_is_refused_by_file_and_line_or_skipped_and_counted(tmp_path, line, match):
    build(tmp_path, extra=[("validation", line)])
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path, layout="affectnet")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        data = load_dataset(tmp_path, layout="affectnet", on_error="skip")
    assert len(data.images) == len(ITEMS)


def test_options_are_checked(tmp_path):
    build(tmp_path)
    with pytest.raises(DatasetError, match="'classes' parameter .* must be 7 or 8"):
        load_dataset(tmp_path, layout="affectnet", classes=6)
    with pytest.raises(DatasetError, match="sets \\['classes'\\] itself"):
        load_dataset(tmp_path, layout="affectnet-7", classes=8)
    with pytest.raises(DatasetError, match="no split 'test'"):
        load_dataset(tmp_path, split="test", layout="affectnet")
    with pytest.raises(DatasetError, match="'on_error' parameter"):
        load_dataset(tmp_path, layout="affectnet", on_error="ignore")


def test_a_header_after_a_byte_order_mark_is_still_the_header(tmp_path):
    build(tmp_path)
    listing = tmp_path / "Manually_Annotated_file_lists" / "training.csv"
    listing.write_bytes(b"\xef\xbb\xbf" + listing.read_bytes())
    assert len(load_dataset(tmp_path, split="train", layout="affectnet").images) == 5
