"""load_dataset's layouts and detection, the eight-class banks, and `clip-fer evaluate --layout`."""

import pytest
from replicas import AFFECTNET, which_face
from test_affectnet import ITEMS as AFFECTNET_ITEMS
from test_affectnet import build as build_affectnet
from test_datasets import write_csv
from test_rafdb import build as build_rafdb

from clip_fer import PromptBank, ZeroShotEmotionClassifier, load_prompt_bank
from clip_fer._options import BUILTIN_BANK_NAMES, LAYOUT_NAMES
from clip_fer.cli import main
from clip_fer.datasets import LAYOUTS, check_bank_classes, detect_layout, load_dataset
from clip_fer.exceptions import DatasetError
from clip_fer.metrics import summarize

SEVEN = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def test_the_cli_lists_every_layout():
    assert tuple(LAYOUTS) == LAYOUT_NAMES


def test_fer2013_csv_and_folders_read_as_before_with_empty_groups(tmp_path):
    csv_path = write_csv(tmp_path / "fer2013.csv")
    for data in (load_dataset(csv_path), load_dataset(csv_path, layout="fer2013")):
        assert len(data.images) == 5 and data.groups == {} and "layout" not in data
    assert detect_layout(csv_path) is None and detect_layout(tmp_path) is None


def test_detection_needs_files_that_leave_no_doubt(tmp_path):
    build_rafdb(tmp_path / "raf")
    assert detect_layout(tmp_path / "raf") == "rafdb"
    build_affectnet(tmp_path / "raf")  # both layouts' files: a doubt
    assert detect_layout(tmp_path / "raf") is None
    with pytest.raises(DatasetError, match="Unknown layout 'raf'; the layouts are fer2013, folder, rafdb"):
        load_dataset(tmp_path / "raf", layout="raf")
    with pytest.raises(DatasetError, match=r"Options \['angles'\] belong to a layout"):
        load_dataset(write_csv(tmp_path / "fer2013.csv"), angles="all")
    with pytest.raises(
        DatasetError, match=r"layout='rafdb' has no option \['angles'\]; its options are \['images'\]"
    ):
        load_dataset(tmp_path / "raf", layout="rafdb", angles="all")


def test_eight_class_banks_add_contempt_to_the_seven():
    assert {"default-8", "baseline-8"} <= set(BUILTIN_BANK_NAMES)
    for seven, eight in (("default", "default-8"), ("baseline", "baseline-8")):
        small, large = load_prompt_bank(seven), load_prompt_bank(eight)
        assert small.classes_.tolist() == SEVEN
        assert large.classes_.tolist() == sorted([*SEVEN, "contempt"])
        assert large.templates_ == small.templates_
        assert [
            w for w, c in zip(large.words_, large.word_class_) if large.classes_[c] != "contempt"
        ] == list(small.words_)
    assert PromptBank.default(contempt=True).name == "default-8"
    assert PromptBank.baseline(contempt=True).fit().words_[1] == "contemptuous"


def test_a_bank_without_the_data_sets_classes_is_refused_with_what_to_do(toy_checkpoint):
    with pytest.raises(DatasetError, match=r"the bank lacks \['contempt'\].*'default-8' and 'baseline-8'"):
        check_bank_classes(SEVEN, [*SEVEN, "contempt"], "AffectNet-8")
    with pytest.raises(
        DatasetError, match=r"the bank has \['contempt'\] that AffectNet-7 never has: drop them"
    ):
        check_bank_classes([*SEVEN, "contempt"], SEVEN, "AffectNet-7")
    check_bank_classes(SEVEN, list(reversed(SEVEN)))
    with pytest.raises(ValueError, match=r"\['contempt'\] that the prompt bank does not know.*'default-8'"):
        ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=PromptBank.default()).fit(y=["contempt"])


def test_evaluate_with_a_layout_scores_the_replica(toy_checkpoint, tmp_path, capsys):
    root = build_affectnet(tmp_path / "affectnet")
    argv = [
        "evaluate",
        "--data",
        root,
        "--layout",
        "affectnet",
        "--model",
        toy_checkpoint,
        "--bank",
        "default-8",
    ]
    assert main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    crops = load_dataset(root, layout="affectnet").images
    # labels from the test's own table, through which face each crop shows
    codes = {i: code for i, *_, code in AFFECTNET_ITEMS}
    y = [AFFECTNET[codes[which_face(crop)]] for crop in crops]
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=PromptBank.default(contempt=True)).fit()
    expected = summarize(y, clf.predict_topk(crops, k=3), k=3)
    assert "clip-fer evaluate: 9 images from" in out
    table = dict(line.strip("| ").split(" | ") for line in out.splitlines() if line.startswith("| "))
    for row, key in (("top-1 accuracy", "top1_accuracy"), ("top-3 accuracy", "top3_accuracy")):
        assert table[row] == f"{expected[key]:.3f}"
    assert table["UAR (balanced accuracy)"] == f"{expected['uar']:.3f}"


def test_evaluate_with_a_layout_refuses_a_bank_without_its_classes(toy_checkpoint, tmp_path, capsys):
    root = build_affectnet(tmp_path / "affectnet")
    argv = ["evaluate", "--data", root, "--layout", "affectnet", "--model", toy_checkpoint]
    assert main([str(a) for a in argv]) == 1  # the default bank has seven classes
    assert "the bank lacks ['contempt']" in capsys.readouterr().err
    assert main([str(a) for a in argv[:3]] + ["--layout", "affectnet-7", "--model", str(toy_checkpoint)]) == 0
    assert "clip-fer evaluate: 7 images from" in capsys.readouterr().out


def test_evaluate_with_a_layout_checks_a_saved_classifiers_classes(toy_checkpoint, tmp_path, capsys):
    from clip_fer import save_classifier

    root = build_affectnet(tmp_path / "affectnet")
    seven = save_classifier(ZeroShotEmotionClassifier(model=toy_checkpoint).fit(), tmp_path / "seven.clipfer")
    argv = ["evaluate", "--data", str(root), "--layout", "affectnet", "--classifier", str(seven)]
    assert main(argv) == 1
    assert "the bank lacks ['contempt']" in capsys.readouterr().err
    argv[4] = "affectnet-7"
    assert main(argv) == 0
    assert "clip-fer evaluate: 7 images from" in capsys.readouterr().out
