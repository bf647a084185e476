"""`clip-fer benchmark` and run_benchmark on tiny FER2013-style replicas and the toy CLIP."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, f1_score, recall_score

from clip_fer import PromptBank, ZeroShotEmotionClassifier, clear_embedding_cache
from clip_fer._bank_io import bank_to_dict
from clip_fer.cli import main
from clip_fer.cli.benchmark import parse_data_spec
from clip_fer.datasets import load_dataset
from clip_fer.exceptions import DatasetError, InvalidParameterError
from clip_fer.experiments._benchmark import run_benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "datasets"))  # the layouts' replicas
from test_named_files import build_kdef as kdef_replica
from test_rafdb import build as rafdb_replica

CLASSES = ["angry", "happy", "sad", "surprise"]
UNBALANCED = ["angry"] * 4 + ["happy"] * 2 + ["sad", "surprise"]


def write_faces(root, arrays, classes, split=None, labels=None):
    """``root/[split/]class/face{i}.png``, image i in class ``labels[i]`` (by default
    ``classes[i % len(classes)]``)."""
    for i, array in enumerate(arrays):
        folder = root / (split or "") / (labels[i] if labels else classes[i % len(classes)])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(folder / f"face{i}.png")
    return root


@pytest.fixture
def replicas(tmp_path, face_arrays):
    """Two data sets: ``class/*.png`` (8 faces, unbalanced, so that UAR and WAR differ) and
    ``split/class/*.png`` (public_test, 4 faces, and train, 4 faces that ``@public_test``
    must leave out)."""
    flat = write_faces(tmp_path / "flat", face_arrays[:8], CLASSES, labels=UNBALANCED)
    tree = write_faces(tmp_path / "tree", face_arrays[8:12], CLASSES, "public_test")
    write_faces(tree, face_arrays[:4], CLASSES, "train")
    return flat, tree


def restricted(name, classes):
    """The built-in bank ``name`` with only ``classes``: what a data set of those classes is
    scored with."""
    spelled = bank_to_dict(PromptBank(name=name))
    return PromptBank(spelled["templates"], {c: spelled["synonyms"][c] for c in classes})


def reference(model, bank, paths):
    """Per-image predictions, ranking and probabilities of a plain estimator."""
    clf = ZeroShotEmotionClassifier(model=model, prompt_bank=bank, device="cpu").fit()
    return clf.predict(paths), clf.predict_topk(paths, k=3)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def benchmark_args(replicas, model, out, *extra):
    flat, tree = replicas
    return (
        "benchmark",
        "--data",
        flat,
        "--data",
        f"fer@public_test={tree}",
        "--model",
        model,
        "--bank",
        "default",
        "--bank",
        "openai",
        "--device",
        "cpu",
        "--out",
        out,
        *extra,
    )


def test_results_match_sklearn_on_the_same_predictions(replicas, toy_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run(capsys, *benchmark_args(replicas, toy_checkpoint, out))
    assert code == 0, err
    assert "4 scored now, 0 read back" in stdout
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns[:10]) == ["dataset", "layout", "split", "model", "bank"] + [
        "classes",
        "n",
        "n_skipped",
        "uar",
        "war",
    ]
    assert {"top3", "macro_f1", "ece"} <= set(table.columns)
    assert list(zip(table["dataset"], table["bank"])) == [
        ("flat", "default"),
        ("flat", "openai"),
        ("fer", "default"),
        ("fer", "openai"),
    ]
    assert table["split"].tolist() == ["all", "all", "public_test", "public_test"]
    flat, tree = replicas
    files = {
        "flat": sorted(flat.glob("*/*.png")),
        "fer": sorted((tree / "public_test").glob("*/*.png")),
    }
    for row in table.itertuples():
        paths = [str(p) for p in files[row.dataset]]
        y = [p.split("/")[-2] for p in paths]
        predicted, ranked = reference(toy_checkpoint, restricted(row.bank, CLASSES), paths)
        assert row.n == len(paths) and row.classes == 4 and row.model == toy_checkpoint
        assert row.uar == pytest.approx(recall_score(y, predicted, average="macro", labels=sorted(set(y))))
        assert row.war == pytest.approx(accuracy_score(y, predicted))
        assert row.macro_f1 == pytest.approx(f1_score(y, predicted, average="macro", labels=CLASSES))
        assert row.top3 == pytest.approx(np.mean([t in r for t, r in zip(y, ranked)]))
        assert 0 <= row.ece <= 1
    assert (out / "results.md").read_text().startswith("| dataset")
    assert (out / "results.png").stat().st_size > 0
    assert not (out / "groups.csv").exists()  # no data set has groups


def test_a_rerun_skips_finished_cells_and_encodes_nothing(
    replicas, toy_checkpoint, tmp_path, capsys, count_encoded
):
    out = tmp_path / "out"
    counter = count_encoded(ZeroShotEmotionClassifier(model=toy_checkpoint, device="cpu"))
    assert run(capsys, *benchmark_args(replicas, toy_checkpoint, out))[0] == 0
    assert counter["images"] == 12  # each image once, though two banks score it
    first = pd.read_csv(out / "results.csv")

    clear_embedding_cache()  # in memory: only the cells (and the disk cache) remain
    code, stdout, _ = run(capsys, *benchmark_args(replicas, toy_checkpoint, out))
    assert code == 0 and "0 scored now, 4 read back" in stdout
    assert counter["images"] == 12
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), first)

    # A new bank: only its cells are scored, on embeddings read from DIR/embeddings.
    clear_embedding_cache()
    code, stdout, _ = run(capsys, *benchmark_args(replicas, toy_checkpoint, out, "--bank", "baseline"))
    assert code == 0 and "2 scored now, 4 read back" in stdout
    assert counter["images"] == 12
    again = pd.read_csv(out / "results.csv")
    assert len(again) == 6
    pd.testing.assert_frame_equal(again[again["bank"] != "baseline"].reset_index(drop=True), first)


def test_a_cell_scored_with_other_settings_is_scored_again(replicas, toy_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, *benchmark_args(replicas, toy_checkpoint, out))[0] == 0
    code, stdout, _ = run(capsys, *benchmark_args(replicas, toy_checkpoint, out, "--reduce", "sum"))
    assert code == 0 and "4 scored now, 0 read back" in stdout
    cells = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json")]
    assert len(cells) == 4 and all(
        "reduce='sum'" in c["settings"]["estimator"]["synonym_folder"] for c in cells
    )


def test_a_class_the_bank_lacks_is_refused_before_any_encoding(
    tmp_path, face_arrays, toy_checkpoint, capsys, count_encoded
):
    data = write_faces(tmp_path / "eight", face_arrays[:8], [*CLASSES, "contempt"])
    counter = count_encoded(ZeroShotEmotionClassifier(model=toy_checkpoint, device="cpu"))
    code, _, err = run(
        capsys, "benchmark", "--data", f"aff={data}", "--model", toy_checkpoint, "--out", tmp_path / "o"
    )
    assert code == 1
    assert "Prompt bank 'default': The prompt bank does not score the classes of the data set 'aff'" in err
    assert "the bank lacks ['contempt']" in err and "'default-8' and 'baseline-8' have contempt" in err
    assert counter["images"] == 0 and not (tmp_path / "o" / "cells").exists()


def test_groups_equal_the_scores_of_their_subsets(replicas, toy_checkpoint, tmp_path):
    data = load_dataset(replicas[0])
    gender = np.array(["female", "male", "female", "female", "male", "female", "female", None], dtype=object)
    data["groups"] = {"gender": gender, "site": np.array(["a"] * 8, dtype=object)}
    estimator = ZeroShotEmotionClassifier(device="cpu")
    result = run_benchmark(
        {"flat": data},
        [toy_checkpoint],
        {"default": PromptBank()},
        tmp_path,
        estimator=estimator,
        min_group_size=2,
    )
    groups = pd.read_csv(tmp_path / "groups.csv", keep_default_na=False)
    assert list(groups.columns[:7]) == ["dataset", "model", "bank", "group_name", "group_value", "n", "small"]
    assert list(zip(groups["group_name"], groups["group_value"])) == [
        ("gender", "female"),
        ("gender", "male"),
        ("gender", "unknown"),  # a missing group is shown, not dropped
        ("site", "a"),
    ]
    # min_group_size=2: a group of 2 is not small, a group of 1 is (the boundary).
    assert groups["n"].tolist() == [5, 2, 1, 8] and groups["small"].tolist() == [False, False, True, False]
    paths = np.asarray(data.images)
    predicted, _ = reference(toy_checkpoint, restricted("default", CLASSES), list(paths))
    values = np.array(["unknown" if g is None else g for g in gender], dtype=object)
    for row in groups[groups["group_name"] == "gender"].itertuples():
        member = values == row.group_value
        y, p = data.target[member], predicted[member]
        assert row.war == pytest.approx(accuracy_score(y, p))
        assert row.uar == pytest.approx(recall_score(y, p, average="macro", labels=sorted(set(y))))
    site = groups[groups["group_name"] == "site"].iloc[0]
    overall = result.table.iloc[0]
    assert site["uar"] == pytest.approx(overall["uar"]) and site["war"] == pytest.approx(overall["war"])


def test_evaluate_reports_the_groups_of_a_layout(tmp_path, toy_checkpoint, capsys):
    root = rafdb_replica(tmp_path / "raf")
    out = tmp_path / "out"
    argv = ["evaluate", "--data", root, "--layout", "rafdb", "--model", toy_checkpoint, "--device", "cpu"]
    code, stdout, _ = run(capsys, *argv, "--out", out)
    assert code == 0
    assert "per group" in stdout and "| gender | female | 3 *small* |" in stdout
    groups = pd.read_csv(out / "groups.csv")
    predictions = pd.read_csv(out / "predictions.csv")
    data = load_dataset(root, layout="rafdb")
    assert predictions["path"].tolist() == [str(p) for p in data.filenames]
    assert sorted(set(groups["group_name"])) == ["age", "gender", "race"]
    for row in groups.itertuples():
        member = np.asarray(data.groups[row.group_name]) == row.group_value
        y, p = predictions["true_label"][member], predictions["label_1"][member]
        assert row.n == member.sum() and row.small  # every group of 7 faces is under 30
        assert row.top1_accuracy == pytest.approx(accuracy_score(y, p))
        assert row.uar == pytest.approx(recall_score(y, p, average="macro", labels=sorted(set(y))))
    assert sum(groups["group_name"] == "gender") == len(set(data.groups["gender"]))


def test_benchmark_on_published_layouts_with_groups(tmp_path, toy_checkpoint, capsys):
    """Two layouts (RAF-DB's test split, KDEF's frontal faces) x two banks: every row and
    every group row against sklearn on a plain estimator's predictions."""
    raf, kdef = rafdb_replica(tmp_path / "raf"), kdef_replica(tmp_path / "kdef")
    out = tmp_path / "out"
    code, _, err = run(
        capsys,
        "benchmark",
        "--data",
        f"rafdb@test={raf}",
        "--data",
        f"kdef={kdef}",
        "--model",
        toy_checkpoint,
        "--bank",
        "default",
        "--bank",
        "default-8",
        "--device",
        "cpu",
        "--min-group-size",
        "2",
        "--out",
        out,
    )
    assert code == 0, err
    table = pd.read_csv(out / "results.csv")
    assert table[["dataset", "layout", "split"]].drop_duplicates().values.tolist() == [
        ["rafdb", "rafdb", "test"],
        ["kdef", "kdef", "all"],
    ]
    assert table["classes"].tolist() == [7, 7, 7, 7]  # default-8's contempt dropped: 7-class sets
    loaded = {"rafdb": load_dataset(raf, "test", layout="rafdb"), "kdef": load_dataset(kdef, layout="kdef")}
    groups = pd.read_csv(out / "groups.csv", keep_default_na=False)
    for row in table.itertuples():
        data = loaded[row.dataset]
        classes = sorted(data.target_names)
        predicted, _ = reference(toy_checkpoint, restricted(row.bank, classes), list(data.images))
        assert row.n == len(data.target)
        assert row.war == pytest.approx(accuracy_score(data.target, predicted))
        assert row.uar == pytest.approx(
            recall_score(data.target, predicted, average="macro", labels=sorted(set(data.target)))
        )
        mine = groups[(groups["dataset"] == row.dataset) & (groups["bank"] == row.bank)]
        assert sorted(set(mine["group_name"])) == sorted(data.groups)
        for g in mine.itertuples():
            member = np.asarray(data.groups[g.group_name]) == g.group_value
            assert g.n == member.sum() and g.small == (g.n < 2)
            assert g.war == pytest.approx(accuracy_score(data.target[member], predicted[member]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rafdb=data/RAF", ("rafdb", "rafdb", None, "data/RAF")),
        ("raf:rafdb@test=data/RAF", ("raf", "rafdb", ["test"], "data/RAF")),
        ("fer@public_test,private_test=d/f", ("fer", None, ["public_test", "private_test"], "d/f")),
        ("data/fer2013/public_test", ("public_test", None, None, "data/fer2013/public_test")),
        ("x=a=b", ("x", None, None, "a=b")),
    ],
)
def test_parse_data_spec(text, expected):
    assert parse_data_spec(text, layouts=("rafdb", "ferplus")) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x:nope=p", "no layout 'nope'; the layouts are rafdb"),
        ("x@=p", r"write \[NAME"),
        ("x=", "names no path"),
    ],
)
def test_parse_data_spec_refuses(text, match):
    with pytest.raises(InvalidParameterError, match=match):
        parse_data_spec(text, layouts=("rafdb",))


def test_run_benchmark_refuses_bad_arguments(replicas, tmp_path):
    data = {"flat": load_dataset(replicas[0])}
    with pytest.raises(InvalidParameterError, match="'models' parameter of run_benchmark"):
        run_benchmark(data, "ViT-B/32", {"b": PromptBank()}, tmp_path)
    with pytest.raises(InvalidParameterError, match="bank 'b' of run_benchmark must be a PromptBank"):
        run_benchmark(data, ["m"], {"b": "default"}, tmp_path)
    with pytest.raises(DatasetError, match="lacks"):
        run_benchmark(data, ["m"], {"g": PromptBank.gender()}, tmp_path)


def test_ray_engine_refuses_an_unreachable_cluster_before_encoding(
    replicas, toy_checkpoint, tmp_path, capsys
):
    import socket

    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"
    code, _, err = run(
        capsys,
        *benchmark_args(replicas, toy_checkpoint, out, "--engine", "ray", "--address", f"127.0.0.1:{port}"),
    )
    assert code == 1 and f"the Ray cluster at '127.0.0.1:{port}' cannot be reached" in err
    assert not (out / "cells").exists()
