"""JAFFE and KDEF (labels in file names) and SFEW (capitalised class folders) replicas."""

import pytest
from replicas import JAFFE, KDEF, save_face, which_face

from clip_fer.datasets import load_dataset
from clip_fer.exceptions import DatasetError, SkippedItemsWarning

# JAFFE: poser.expression code + number.picture number.tiff
JAFFE_FILES = [
    "KA.AN1.39.tiff",
    "KA.HA2.30.tiff",
    "KL.DI1.158.tiff",
    "KM.FE3.131.tiff",
    "NA.NE1.202.tiff",
    "TM.SA2.191.tiff",
    "YM.SU3.60.tiff",
]


def test_jaffe_every_image_gets_the_label_of_its_name(tmp_path):
    for i, name in enumerate(JAFFE_FILES):
        save_face(tmp_path / "jaffe" / name, i)
    (tmp_path / "jaffe" / "README").write_text("not an image")
    data = load_dataset(tmp_path / "jaffe", layout="jaffe")
    assert len(data.images) == len(JAFFE_FILES)
    for k, image in enumerate(data.images):
        name = JAFFE_FILES[which_face(image)]
        assert data.target[k] == JAFFE[name.split(".")[1][:2]]
        assert data.groups["subject"][k] == name.split(".")[0]


def test_jaffe_refuses_a_code_outside_the_table(tmp_path):
    for i, name in enumerate(JAFFE_FILES):
        save_face(tmp_path / name, i)
    save_face(tmp_path / "KA.XX1.40.tiff", 9)
    with pytest.raises(DatasetError, match=r"KA.XX1.40.tiff: the JAFFE expression code in the name 'XX'"):
        load_dataset(tmp_path, layout="jaffe")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        assert len(load_dataset(tmp_path, layout="jaffe", on_error="skip").images) == len(JAFFE_FILES)


# KDEF: session, gender, id, expression, angle (S straight is the frontal one).
KDEF_FILES = [
    "AF01AFS.JPG",
    "AF01ANS.JPG",
    "AM02DIS.JPG",
    "BM02HAS.JPG",
    "BF03NES.JPG",
    "AM05SAS.JPG",
    "AF07SUS.JPG",
    "AF01ANHL.JPG",
    "BM02HAFR.JPG",
]


def build_kdef(root):
    for i, name in enumerate(KDEF_FILES):
        save_face(root / "KDEF" / name[:4] / name, i)
    return root / "KDEF"


@pytest.mark.parametrize("angles, n", [("frontal", 7), ("all", 9), (["HL", "FR"], 2), ("S", 7)])
def test_kdef_every_image_gets_the_label_gender_and_subject_of_its_name(tmp_path, angles, n):
    data = load_dataset(build_kdef(tmp_path), layout="kdef", angles=angles)
    assert len(data.images) == n
    for k, image in enumerate(data.images):
        name = KDEF_FILES[which_face(image)]
        assert data.target[k] == KDEF[name[4:6]]
        assert data.groups["gender"][k] == {"F": "female", "M": "male"}[name[1]]
        assert data.groups["subject"][k] == name[1:4]
        assert data.groups["angle"][k] == name[6:].split(".")[0]


def test_kdef_refuses_a_code_outside_the_table_and_a_bad_angle(tmp_path):
    folder = build_kdef(tmp_path)
    save_face(folder / "AF01" / "AF01XXS.JPG", 12)
    with pytest.raises(DatasetError, match=r"AF01XXS.JPG: the KDEF expression code in the name 'XX'"):
        load_dataset(folder, layout="kdef")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        assert len(load_dataset(folder, layout="kdef", on_error="skip").images) == 7
    with pytest.raises(DatasetError, match="'angles' parameter"):
        load_dataset(folder, layout="kdef", angles=["front"])


SFEW = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]


def test_sfew_capitalised_class_folders_are_clip_fer_classes(tmp_path):
    for i, name in enumerate(SFEW):
        save_face(tmp_path / "Train" / name / f"{name}_{i}.png", i)
        save_face(tmp_path / "Val" / name.upper() / f"v_{i}.png", i + 7)
    data = load_dataset(tmp_path, layout="sfew")
    assert len(data.images) == 14 and data.target_names.tolist() == sorted(s.lower() for s in SFEW)
    for k, image in enumerate(data.images):
        assert data.target[k] == SFEW[which_face(image) % 7].lower()
    assert load_dataset(tmp_path, split="Val", layout="sfew").split.tolist() == ["Val"] * 7


def test_sfew_refuses_a_class_folder_outside_its_seven(tmp_path):
    for i, name in enumerate(SFEW):
        save_face(tmp_path / name / f"{i}.png", i)
    save_face(tmp_path / "Contempt" / "c.png", 9)
    with pytest.raises(DatasetError, match=r"Contempt.c.png: the folder 'Contempt' is not one of SFEW's"):
        load_dataset(tmp_path, layout="sfew")
    with pytest.warns(SkippedItemsWarning, match="left out 1 item"):
        assert len(load_dataset(tmp_path, layout="sfew", on_error="skip").images) == 7
