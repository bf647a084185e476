"""A hostile round: replicas written from each data set's own documentation, not from the loaders.

Each face is a flat grey square of its own level, so a loaded image is matched back to the
file it came from and its label checked against the data set's published table. The
replicas carry what real copies carry: Windows line endings, byte-order marks, trailing
blank lines, AffectNet's header-less ``validation.csv``, FERPlus's removed rows and the
``csv.writer`` line endings of its generated ``label.csv``, CK+'s ``   3.0000000e+00``
codes, upper- and lower-case file names. docs/bad-inputs.md lists every case tried.
"""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from clip_fer.datasets import load_dataset
from clip_fer.exceptions import DatasetError


def _face(path, level, size=(40, 40), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], level, np.uint8)).save(path, format=fmt)


def _photo(path, shape, boxes):
    """A black photo of ``shape`` (h, w), each box ``(left, top, right, bottom)`` filled with its level."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.zeros(shape, np.uint8)
    for (left, top, right, bottom), level in boxes:
        pixels[top:bottom, left:right] = level
    Image.fromarray(pixels).save(path, format="PNG")


def _labels_by_level(data):
    """Each loaded face's grey level -> its label (a face must be flat: one level, one crop)."""
    found = {}
    for i, label in enumerate(data.target):
        item = data.images[i]
        pixels = np.asarray(Image.open(item) if isinstance(item, str) else item, dtype=float)
        pixels = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
        assert pixels.std() < 2, f"{data.filenames[i]} is not one face: a wrong crop or image"
        found[round(float(pixels.mean()))] = label
    assert len(found) == len(data.target), "a face was loaded twice"
    return found


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def test_rafdb_windows_file_with_bom_tabs_and_blank_lines(tmp_path):
    # RAF-DB's table: 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral.
    table = {1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "angry", 7: "neutral"}
    lines, expected = [], {}
    for code, name in enumerate(
        ["train_00001", "train_00002", "test_0001", "test_0002", "test_0003", "test_0004", "test_0005"],
        start=1,
    ):
        level = 20 + 30 * code
        _face(tmp_path / "Image" / "aligned" / f"{name}_aligned.jpg", level, size=(100, 100))
        lines.append(f"{name}.jpg \t{code}  ")
        expected[level] = table[code]
    _write(tmp_path / "EmoLabel" / "list_patition_label.txt", "\ufeff" + "\r\n".join(lines) + "\r\n\r\n\r\n")

    assert _labels_by_level(load_dataset(tmp_path, layout="rafdb")) == expected
    assert len(load_dataset(tmp_path, split="test").target) == 5


def test_affectnet_headerless_validation_reordered_header_float_boxes(tmp_path):
    # AffectNet's table: 0 Neutral, 1 Happiness, 2 Sadness, 3 Surprise, 4 Fear, 5 Disgust,
    # 6 Anger, 7 Contempt; 8-10 (None, Uncertain, No-Face) are not faces to score.
    table = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt"]
    columns = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    reordered = [
        "expression",
        *columns.split(",")[1:5],
        "subDirectory_filePath",
        "facial_landmarks",
        "valence",
        "arousal",
    ]
    expected = {}
    files = {"training.csv": io.StringIO(), "validation.csv": io.StringIO()}
    csv.writer(files["training.csv"], lineterminator="\r\n").writerow(
        reordered
    )  # validation.csv ships without
    for code in range(11):
        level = 15 + 20 * code
        name = "training.csv" if code % 2 else "validation.csv"
        sub = f"{100 + code}/{code:040x}.JPG"
        x, y, w, h = 3 + code, 5 + 2 * code, 30 + code, 34  # never square, never at the origin
        _photo(tmp_path / "Manually_Annotated_Images" / sub, (80, 70 + code), [((x, y, x + w, y + h), level)])
        row = {
            "subDirectory_filePath": sub,
            "face_x": f"{x}.0",
            "face_y": y,
            "face_width": w,
            "face_height": h,
            "facial_landmarks": ";".join(["12.5"] * 136),
            "expression": code,
            "valence": "-0.176",
            "arousal": "0.5",
        }
        order = reordered if name == "training.csv" else columns.split(",")
        csv.writer(files[name], lineterminator="\r\n").writerow([row[c] for c in order])
        if code < 8:
            expected[level] = table[code]
    for name, text in files.items():
        _write(tmp_path / "Manually_Annotated_file_lists" / name, text.getvalue())

    data = load_dataset(tmp_path)
    assert _labels_by_level(data) == expected
    without_contempt = {level: label for level, label in expected.items() if label != "contempt"}
    assert _labels_by_level(load_dataset(tmp_path, layout="affectnet-7")) == without_contempt


def test_ferplus_majority_on_hand_counted_votes_through_both_forms(tmp_path):
    # Columns neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
    votes = [
        ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], None),  # the 1 dropped: 4 of 9 is no majority
        ([6, 0, 0, 1, 3, 0, 0, 0, 0, 0], "neutral"),  # 6 of 9
        ([0, 0, 6, 0, 0, 0, 0, 0, 2, 2], "surprise"),  # 6 of 10
        ([0, 0, 0, 5, 5, 0, 0, 0, 0, 0], None),  # a tie
        ([0, 0, 0, 0, 7, 1, 1, 1, 0, 0], "angry"),  # 7 of 7 once the ones are dropped
        ([0, 0, 0, 0, 0, 5, 0, 0, 4, 1], "disgust"),  # 5 of 9
        ([1, 1, 1, 1, 0, 0, 5, 1, 0, 0], "fear"),  # 5 of 5
        ([0, 0, 0, 0, 0, 0, 0, 6, 4, 0], "contempt"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 10, 0], None),  # unknown
        ([0, 3, 0, 0, 0, 0, 0, 0, 0, 7], None),  # not a face
        ([0, 0, 0, 2, 0, 0, 0, 0, 0, 0], "sad"),
    ]
    usages = ["Training", "PublicTest", "PrivateTest"]
    fer = ["emotion,pixels,Usage"]
    new = ["Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"]
    folders = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
    generated = {folder: io.StringIO() for folder in folders.values()}
    expected = {}
    for k, (counts, label) in enumerate(votes):
        level, usage, name = 10 + 20 * k, usages[k % 3], f"fer{k:07d}.png"
        fer.append(f"{k % 7},{' '.join([str(level)] * 2304)},{usage}")
        new.append(f"{usage},{name}," + ",".join(map(str, counts)))
        if k == 1:  # a face FERPlus removed: no name, the next row still belongs to the next face
            fer.append(f"0,{' '.join(['1'] * 2304)},Training")
            new.append("Training,,0,0,0,0,0,0,0,0,0,10")
        _face(tmp_path / "generated" / folders[usage] / name, level, size=(48, 48))
        csv.writer(generated[folders[usage]]).writerow(
            [name, *counts]
        )  # csv.writer's \r\n, as generate_training_data.py
        if label is not None:
            expected[level] = label
    _write(tmp_path / "csv" / "fer2013.csv", "\r\n".join(fer) + "\r\n")
    _write(tmp_path / "csv" / "fer2013new.csv", "\r\n".join(new) + "\r\n")
    for folder, text in generated.items():
        _write(tmp_path / "generated" / folder / "label.csv", text.getvalue())

    for root in ("csv", "generated"):
        data = load_dataset(tmp_path / root)
        assert _labels_by_level(data) == expected, root
        assert sorted(map(str, set(load_dataset(tmp_path / root, split="test").split))) == ["private_test"]


def test_expw_crops_top_left_right_bottom_from_non_square_photos(tmp_path):
    table = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    lines, expected = [], {}
    for photo in range(4):
        name, boxes = f"afraid_african_{214 + photo}.jpg", []
        for face in range(2):
            code, level = (2 * photo + face) % 7, 20 + 25 * (2 * photo + face)
            top, left = 5 + 40 * face, 10 + 50 * face + photo
            right, bottom = left + 30 + face, top + 22 + photo
            boxes.append(((left, top, right, bottom), level))
            lines.append(f"{name} {face} {top} {left} {right} {bottom} {66.5828 + photo:.4f} {code}")
            expected[level] = table[code]
        _photo(tmp_path / "image" / "origin" / name, (90 + 10 * photo, 130), boxes)
    _write(tmp_path / "label" / "label.lst", "\r\n".join(lines) + "\r\n\r\n")

    assert _labels_by_level(load_dataset(tmp_path)) == expected


def test_ckplus_codes_as_written_and_the_last_frames(tmp_path):
    # CK+'s table: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise.
    table = ["neutral", "angry", "contempt", "disgust", "fear", "happy", "sad", "surprise"]
    sequences = [
        ("S005", "001", 6, "   3.0000000e+00\n"),
        ("S010", "002", 5, "1.0\r\n"),
        ("S010", "004", 4, "2"),
        ("S011", "001", 5, " 5 "),
        ("S011", "002", 4, None),
        ("S014", "003", 4, "7.0000000e+00"),
    ]
    expected, subjects, level = {}, {}, 10
    for subject, sequence, frames, code in sequences:
        folder = tmp_path / "cohn-kanade-images" / subject / sequence
        for frame in range(1, frames + 1):
            level += 7
            _face(folder / f"{subject}_{sequence}_{frame:08d}.png", level, size=(64, 48))
            if code is not None and frame > frames - 3:
                expected[level], subjects[level] = table[int(float(code))], subject
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (tmp_path / "Emotion" / subject / sequence).mkdir(parents=True)
        if code is not None:
            _write(
                tmp_path / "Emotion" / subject / sequence / f"{subject}_{sequence}_{frames:08d}_emotion.txt",
                code,
            )

    data = load_dataset(tmp_path)
    assert _labels_by_level(data) == expected
    assert dict(zip(_labels_by_level(data), data.groups["subject"])) == subjects


def test_jaffe_and_kdef_names_in_any_case(tmp_path):
    # JAFFE's codes AN DI FE HA NE SA SU; KDEF's AF (afraid) AN DI HA NE SA SU.
    jaffe = dict(
        zip(
            "AN DI FE HA NE SA SU".split(),
            ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
        )
    )
    kdef = dict(
        zip(
            "AF AN DI HA NE SA SU".split(),
            ["fear", "angry", "disgust", "happy", "neutral", "sad", "surprise"],
        )
    )
    expected_jaffe, expected_kdef = {}, {}
    for k, (code, ext) in enumerate(
        zip(jaffe, [".tiff", ".TIFF", ".tif", ".tiff", ".TIF", ".tiff", ".tiff"])
    ):
        name = f"KA.{code}1.{39 + k}{ext}"
        _face(tmp_path / "jaffe" / "jaffedbase" / (name.lower() if k % 2 else name), 20 + 10 * k, fmt="TIFF")
        expected_jaffe[20 + 10 * k] = jaffe[code]
    (tmp_path / "jaffe" / "README_FIRST.txt").write_text("JAFFE\n")
    for k, code in enumerate(kdef):
        for angle, level in (("S", 20 + 20 * k), ("HR", 30 + 20 * k)):
            name = f"AF01{code}{angle}" + (".jpg" if k % 2 else ".JPG")
            _face(tmp_path / "KDEF" / "AF01" / (name.lower() if k % 3 == 0 else name), level, fmt="JPEG")
            if angle == "S":
                expected_kdef[level] = kdef[code]

    assert _labels_by_level(load_dataset(tmp_path / "jaffe", layout="jaffe")) == expected_jaffe
    assert _labels_by_level(load_dataset(tmp_path / "KDEF", layout="kdef")) == expected_kdef


@pytest.mark.parametrize("asked", ["Val", "val", "VAL", "Train", "train"])
def test_sfew_split_names_match_without_case(tmp_path, asked):
    # SFEW 2.0's folders are Train/ and Val/; "Train" matched in any case, "Val" only as spelt.
    for split in ("Train", "Val"):
        for k, emotion in enumerate(["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]):
            _face(tmp_path / split / emotion / f"Airheads_000519240_{k:08d}.png", 10 * k + 5)

    data = load_dataset(tmp_path, layout="sfew", split=asked)

    assert sorted(set(map(str, data.split))) == [asked.capitalize()]
    assert len(data.target) == 7


def test_rafdb_split_named_in_another_case(tmp_path):
    for name in ("train_00001", "test_0001"):
        _face(tmp_path / "Image" / "aligned" / f"{name}_aligned.jpg", 100)
    _write(tmp_path / "EmoLabel" / "list_patition_label.txt", "train_00001.jpg 1\ntest_0001.jpg 2\n")

    assert list(load_dataset(tmp_path, layout="rafdb", split="Test").target) == ["fear"]
    with pytest.raises(DatasetError, match=r"no split 'validation'; its splits are \['test', 'train'\]"):
        load_dataset(tmp_path, layout="rafdb", split="Validation")


def test_affectnet_list_resaved_by_pandas_with_its_index(tmp_path):
    # df.to_csv(path) writes an unnamed index column first: ",subDirectory_filePath,...", "0,689/a.jpg,...".
    columns = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    lines = ["," + columns]
    for code, level in ((1, 60), (6, 120), (7, 180)):
        sub = f"689/{code:040x}.jpg"
        _photo(tmp_path / "Manually_Annotated_Images" / sub, (60, 50), [((4, 6, 34, 46), level)])
        lines.append(f'{code - 1},{sub},4,6,30,40,"1.0;2.0",{code},0.1,-0.2')
    _write(tmp_path / "Manually_Annotated_file_lists" / "validation.csv", "\n".join(lines) + "\n")

    data = load_dataset(tmp_path, layout="affectnet", split="validation")

    assert _labels_by_level(data) == {60: "happy", 120: "angry", 180: "contempt"}


def test_affectnet_7_is_named_as_such(tmp_path):
    # benchmark's results.csv and evaluate's messages name data.layout: AffectNet-7 and -8 are reported apart.
    _photo(tmp_path / "Manually_Annotated_Images" / "1" / "a.jpg", (60, 50), [((4, 6, 34, 46), 60)])
    _write(
        tmp_path / "Manually_Annotated_file_lists" / "validation.csv", '1/a.jpg,4,6,30,40,"1;2",1,0.1,-0.2\n'
    )

    layouts = {
        name: load_dataset(tmp_path, layout=name, split="validation").layout
        for name in ("affectnet-7", "affectnet-8")
    }

    assert layouts == {"affectnet-7": "affectnet-7", "affectnet-8": "affectnet"}


def _rafdb_compound(root):
    # RAF-DB's compound subset ships the same file names with eleven two-emotion codes
    # (1 Happily Surprised ... 11 Disgustedly Surprised): its 1-7 are not the basic table's.
    lines = []
    for code in range(1, 12):
        _face(root / "Image" / "aligned" / f"test_{code:04d}_aligned.jpg", 20 * code)
        lines.append(f"test_{code:04d}.jpg {code}")
    _write(root / "EmoLabel" / "list_patition_label.txt", "\n".join(lines) + "\n")


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_rafdb_compound_subset_is_refused_not_read_as_basic(tmp_path, on_error):
    _rafdb_compound(tmp_path / "RAF-DB" / "compound")

    with pytest.raises(DatasetError, match=r"compound.*basic"):
        load_dataset(tmp_path / "RAF-DB" / "compound", layout="rafdb", on_error=on_error)


def test_rafdb_codes_8_to_11_are_named_as_compounds(tmp_path):
    _rafdb_compound(tmp_path / "renamed")

    with pytest.raises(DatasetError, match=r"line 8: .*'8'.*compound subset"):
        load_dataset(tmp_path / "renamed", layout="rafdb")
