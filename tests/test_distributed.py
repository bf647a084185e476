"""clip_fer.distributed and ``clip-fer predict --engine ray`` on one local Ray cluster.

The cluster is started once for the module (Ray startup and each actor's first
import of torch dominate the cost). Actors are other processes: they load the
toy checkpoint from its file and import this worktree's clip_fer and this test
module through PYTHONPATH.
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

from conftest import local_ray_cluster

from clip_fer import ZeroShotEmotionClassifier
from clip_fer.cli import main
from clip_fer.distributed import (
    _parquet,
    embed_to_parquet,
    predict_dataset,
    predict_to_parquet,
    read_embeddings,
    written_keys,
)
from clip_fer.exceptions import (
    ClipFerError,
    InvalidParameterError,
    MissingDependencyError,
    ModelLoadError,
    SkippedImagesWarning,
)

TESTS = Path(__file__).resolve().parent
N_GOOD = 10


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module; workers import this checkout and these tests."""
    yield from local_ray_cluster()


@pytest.fixture(scope="module")
def images(tmp_path_factory, face_arrays):
    """Ten readable images (gray 48x48, two RGB of other sizes) and one corrupt file, sorted."""
    folder = tmp_path_factory.mktemp("faces")
    for i, face in enumerate(face_arrays[:N_GOOD]):
        image = Image.fromarray(face)
        if i % 5 == 4:
            image = image.convert("RGB").resize((40 + i, 52))
        image.save(folder / f"face{i:02d}.png")
    (folder / "face99_broken.png").write_bytes(b"this is not a png")
    paths = sorted(str(p) for p in folder.glob("*.png"))
    return folder, paths


def _broken(paths):
    return next(p for p in paths if "broken" in p)


@pytest.fixture(scope="module")
def reference(images, toy_checkpoint):
    """Local ``predict_proba``/``predict_topk``/``embed`` of every image, by path."""
    _, paths = images
    clf = ZeroShotEmotionClassifier(toy_checkpoint, on_error="skip").fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedImagesWarning)
        proba = clf.predict_proba(paths)
        top = clf.predict_topk(paths, k=3)
        embeddings = clf.embed(paths)
    return {
        "classes": [str(c) for c in clf.classes_],
        "proba": dict(zip(paths, proba)),
        "top": dict(zip(paths, top.tolist())),
        "embedding": dict(zip(paths, embeddings)),
    }


def _missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _check_against_reference(frame, paths, reference, key="path"):
    """One row per path, probabilities and top-k as local predict; the broken row empty."""
    assert sorted(frame[key]) == sorted(paths)
    frame = frame.set_index(key)
    classes = [f"proba_{c}" for c in reference["classes"]]  # the prefix of every flat output
    for path in paths:
        row = frame.loc[path]
        if "broken" in path:
            assert _missing(row["label"]) and _missing(row["labels"])
            assert np.isnan(row[classes].to_numpy(dtype=float)).all()
            assert "not an image format" in row["error"]
            continue
        np.testing.assert_allclose(row[classes].to_numpy(dtype=float), reference["proba"][path], atol=1e-5)
        assert list(row["labels"]) == reference["top"][path]
        assert row["label"] == reference["top"][path][0] and pd.isna(row["error"])


# Counting what actors encode: a named actor that a subclass reports to.


@ray.remote(num_cpus=0)
class Counter:
    def __init__(self):
        self.items = []

    def add(self, items):
        self.items.extend(items)

    def items_seen(self):
        return list(self.items)


class CountingClassifier(ZeroShotEmotionClassifier):
    """Reports every item it is asked to encode to the actor named 'encoded'."""

    def _embed(self, items):  # the one path by which decide and embed encode images
        ray.get(ray.get_actor("encoded").add.remote([str(x) for x in items]))
        return super()._embed(items)


def _stop_after(monkeypatch, n_shards, error):
    """Make the writer stop the run (raise ``error``) once ``n_shards`` shards are written."""
    original, written = _parquet._write_shard, []

    def write(table, path):
        if len(written) == n_shards:
            raise error
        original(table, path)
        written.append(path)

    monkeypatch.setattr(_parquet, "_write_shard", write)


# Checks before any work (the cluster fixture only keeps Ray from starting a default one).


def test_import_clip_fer_imports_no_ray():
    code = "import sys, clip_fer, clip_fer.cli; clip_fer.cli.build_parser(); print('ray' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_without_ray_the_error_says_how_to_install(toy_checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'clip-fer\[ray\]'"):
        predict_dataset(None, ZeroShotEmotionClassifier(toy_checkpoint))


def test_bad_parameters_and_options(cluster, toy_checkpoint, images, tmp_path):
    _, paths = images
    clf = ZeroShotEmotionClassifier(toy_checkpoint)
    dataset = ray.data.from_items([{"path": paths[0]}])  # lazy: no cluster work
    with pytest.raises(
        InvalidParameterError, match=r"The 'k' parameter of predict_dataset must be an int in \[1, 7\]. Got 0"
    ):
        predict_dataset(dataset, clf, k=0)
    with pytest.raises(InvalidParameterError, match="The 'concurrency' parameter of predict_dataset must be"):
        predict_dataset(dataset, clf, concurrency=0)
    with pytest.raises(InvalidParameterError, match="precomputed=True"):
        predict_dataset(dataset, clf.set_params(precomputed=True))
    with pytest.raises(SystemExit) as info:
        main(["predict", paths[0], "--output", str(tmp_path / "out.parquet")])
    assert info.value.code == 2  # --output without --engine ray
    with pytest.raises(SystemExit):
        main(["predict", paths[0], "--engine", "ray"])  # no --output


def test_an_output_with_other_settings_is_refused(cluster, toy_checkpoint, images, tmp_path):
    _, paths = images
    out = tmp_path / "out.parquet"
    _parquet._prepare(
        out, _parquet._settings(ZeroShotEmotionClassifier(toy_checkpoint), "predict", "path", "path", 3)
    )
    dataset = ray.data.from_items([{"path": paths[0]}])
    with pytest.raises(ClipFerError, match=r"other settings \(differing: k, logit_scale\)"):
        predict_to_parquet(dataset, ZeroShotEmotionClassifier(toy_checkpoint, logit_scale=50.0), out, k=2)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep me")
    with pytest.raises(ClipFerError, match="clip-fer did not write"):
        predict_to_parquet(dataset, ZeroShotEmotionClassifier(toy_checkpoint), tmp_path / "other")


def test_an_actor_loads_its_model_as_it_is_built_and_fails_each_batch_when_it_cannot(
    toy_checkpoint, images, reference, tmp_path, monkeypatch
):
    """In the actor's process, without Ray: the fit and the load begin in __init__ (before
    any batch); a load that fails is raised by every batch, naming the checkpoint."""
    import pyarrow as pa

    from clip_fer.backends import _loading
    from clip_fer.distributed._actors import Embedder, Predictor

    _, paths = images
    good = [p for p in paths if "broken" not in p]
    loads = []  # loads from disk (misses of the process-wide cache)
    original = _loading.load_once
    monkeypatch.setattr(_loading, "load_once", lambda *a: loads.append(a[0]) or original(*a))
    predictor = Predictor(ZeroShotEmotionClassifier(toy_checkpoint), "path", "path", 3)  # unfitted
    predictor._warming.join()
    assert len(loads) == 1  # loaded (and fitted) before the first batch
    table = predictor(pa.table({"path": good}))
    assert len(loads) == 1  # and not again
    for j, c in enumerate(reference["classes"]):
        np.testing.assert_allclose(
            table.column(f"proba_{c}").to_numpy(), [reference["proba"][p][j] for p in good], atol=1e-5
        )

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    for actor in (
        Predictor(ZeroShotEmotionClassifier(str(bad)), "path", "path", 3),
        Embedder(ZeroShotEmotionClassifier(str(bad)), "path", "path"),
    ):
        for _ in range(2):  # every batch, not only the first
            with pytest.raises(ModelLoadError, match=r"The checkpoint .*bad\.pt' could not be loaded"):
                actor(pa.table({"path": good[:1]}))


# On the cluster.


def test_predict_dataset_equals_local_predict(cluster, images, reference, toy_checkpoint):
    _, paths = images
    dataset = ray.data.from_items([{"path": p, "id": i} for i, p in enumerate(paths)])
    clf = ZeroShotEmotionClassifier(toy_checkpoint, on_error="skip").fit()  # travels fitted
    frame = predict_dataset(dataset, clf, batch_size=3, concurrency=2).to_pandas()
    assert list(frame.columns) == [
        "path",
        "id",
        "label",
        "labels",
        *[f"proba_{c}" for c in reference["classes"]],
        "error",
    ]
    assert sorted(frame["id"]) == list(range(len(paths)))  # input columns pass through
    _check_against_reference(frame, paths, reference)


def test_a_model_that_cannot_load_fails_the_run_with_its_error(cluster, images, tmp_path, capsys):
    """The load runs in a thread of the actor; its failure still reaches the caller as the
    clip-fer error it is (Python) and as one error line (the command line)."""
    _, paths = images
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    dataset = ray.data.from_items([{"path": p} for p in paths[:2]])
    # Ray Data wraps it (UserCodeException) with the error's type and message in the text.
    with pytest.raises(Exception, match=r"ModelLoadError: The checkpoint .*bad\.pt' could not be loaded"):
        predict_dataset(dataset, ZeroShotEmotionClassifier(str(bad))).materialize()
    out = tmp_path / "bad.parquet"
    code = main(["predict", "--engine", "ray", "--output", str(out), "--model", str(bad), *paths[:2]])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("clip-fer: error: The checkpoint") and "bad.pt' could not be loaded" in err
    assert written_keys(out) == []


def test_cli_ray_engine_reports_inputs_it_cannot_find(cluster, toy_checkpoint, tmp_path, capsys):
    """The inputs are listed in a thread while the cluster starts; what goes wrong there is
    reported as before."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "none.parquet"
    assert (
        main(["predict", "--engine", "ray", "--output", str(out), "--model", toy_checkpoint, str(empty)]) == 1
    )
    assert f"clip-fer: error: no image files found in ['{empty}']" in capsys.readouterr().err


def test_unreadable_image_under_raise_names_it(cluster, images, toy_checkpoint, tmp_path, capsys):
    _, paths = images
    code = main(
        [
            "predict",
            "--engine",
            "ray",
            "--output",
            str(tmp_path / "raise.parquet"),
            "--model",
            toy_checkpoint,
            paths[0],
            _broken(paths),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "face99_broken.png" in err and "not an image format" in err and "on_error='skip'" in err


def test_embeddings_of_decoded_images_to_parquet(cluster, images, reference, toy_checkpoint, tmp_path):
    """read_images rows (arrays, two shapes) -> embeddings in Parquet -> a precomputed estimator."""
    _, paths = images
    good = [p for p in paths if "broken" not in p]
    dataset = ray.data.read_images(good, include_paths=True)
    out = tmp_path / "embeddings.parquet"
    run = embed_to_parquet(
        dataset, ZeroShotEmotionClassifier(toy_checkpoint), out, column="image", key="path", rows_per_shard=4
    )
    assert (run.written, run.already, run.errors) == (len(good), 0, [])
    keys, X = read_embeddings(out)
    keys = ["/" + k.lstrip("/") for k in keys]  # read_images may drop the leading slash
    assert sorted(keys) == good
    for key, row in zip(keys, X):
        np.testing.assert_allclose(row, reference["embedding"][key], atol=1e-5)
    precomputed = ZeroShotEmotionClassifier(toy_checkpoint, precomputed=True).fit(X)
    expected = np.array([reference["proba"][k] for k in keys])
    np.testing.assert_allclose(precomputed.predict_proba(X), expected, atol=1e-5)


def test_resumed_run_encodes_only_what_is_missing(cluster, images, reference, toy_checkpoint, tmp_path):
    """An output holding some rows (as a stopped run leaves it): only the others are encoded."""
    import pyarrow as pa

    _, paths = images
    counter = Counter.options(name="encoded").remote()
    clf = CountingClassifier(toy_checkpoint, on_error="skip")
    out = tmp_path / "predictions.parquet"
    _parquet._prepare(out, _parquet._settings(clf, "predict", "path", "path", 3))
    done = paths[1:8:2]  # rows of the stopped run, as it wrote them
    columns = {
        "path": done,
        "id": [paths.index(p) for p in done],
        "label": [reference["top"][p][0] for p in done],
        "labels": [reference["top"][p] for p in done],
        **{
            f"proba_{c}": [float(reference["proba"][p][j]) for p in done]
            for j, c in enumerate(reference["classes"])
        },
        "error": pa.array([None] * len(done), pa.string()),
    }
    _parquet._write_shard(pa.table(columns), out / "part-stopped-000000.parquet")
    (out / ".part-stopped-000001.parquet.tmp").write_bytes(b"PAR1 half a shard")

    dataset = ray.data.from_items([{"path": p, "id": i} for i, p in enumerate(paths)])
    run = predict_to_parquet(dataset, clf, out, rows_per_shard=3, batch_size=2)
    encoded = ray.get(counter.items_seen.remote())
    assert sorted(encoded) == sorted(set(paths) - set(done))  # each missing image once, no other
    assert (run.already, run.written) == (len(done), len(paths) - len(done))
    assert [key for key, _ in run.errors] == [_broken(paths)]
    assert not list(out.glob(".*.tmp"))  # the half-written shard is gone, not read
    frame = pd.read_parquet(out)
    assert sorted(frame["id"]) == list(range(len(paths)))  # input columns pass through
    _check_against_reference(frame, paths, reference)


def test_cli_ray_engine_resumes_and_equals_local(
    cluster, images, toy_checkpoint, tmp_path, monkeypatch, capsys
):
    folder, paths = images
    out = tmp_path / "cli.parquet"
    command = [
        "predict",
        "--engine",
        "ray",
        "--output",
        str(out),
        "--model",
        toy_checkpoint,
        "--on-error",
        "skip",
        "--rows-per-shard",
        "2",
        str(folder),
    ]
    _stop_after(monkeypatch, 2, KeyboardInterrupt())
    assert main(command) == 130
    assert "run the same command again" in capsys.readouterr().err
    monkeypatch.undo()
    assert len(set(written_keys(out))) == len(written_keys(out)) == 4

    assert main(command) == 0  # the broken image has a failed row; skipping was asked for
    captured = capsys.readouterr()
    assert (
        f"{len(paths) - 4} images scored into {out} (4 already there; {len(paths)} inputs); 1 could not be read."
        in captured.out
    )
    assert f"clip-fer: note: skipped (--on-error skip): file '{_broken(paths)}'" in captured.err
    assert captured.err.count(_broken(paths)) == 1  # the path named once
    assert "Scoring images" not in captured.err  # stderr is no terminal: no progress bar

    # Run again with every row written: no Ray work at all, the settings still checked.
    def no_ray(*args, **kwargs):
        raise AssertionError("a complete output must not start Ray work")

    monkeypatch.setattr(ray.data, "from_items", no_ray)
    monkeypatch.setattr(ray, "init", no_ray)
    assert main(command) == 0
    assert f"0 images scored into {out} ({len(paths)} already there; {len(paths)} inputs)" in (
        capsys.readouterr().out
    )
    assert main([*command, "--top-k", "2"]) == 1
    assert "holds results made with other settings (differing: k)" in capsys.readouterr().err
    monkeypatch.undo()

    clf = ZeroShotEmotionClassifier(toy_checkpoint, on_error="skip").fit()  # the CLI's defaults
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedImagesWarning)
        local = {
            "classes": [str(c) for c in clf.classes_],
            "proba": dict(zip(paths, clf.predict_proba(paths))),
            "top": dict(zip(paths, clf.predict_topk(paths, k=3).tolist())),
        }
    _check_against_reference(pd.read_parquet(out), paths, local)


@pytest.mark.parametrize("kind", ["zero_shot", "few_shot", "calibrated"])
def test_cli_ray_engine_takes_a_saved_classifier(cluster, images, toy_checkpoint, tmp_path, capsys, kind):
    from conftest import adapted_classifiers

    from clip_fer import save_classifier

    _, paths = images
    good = [p for p in paths if "broken" not in p][:4]
    clf = adapted_classifiers(toy_checkpoint)[kind]
    saved = save_classifier(clf, tmp_path / "zs.clipfer")
    out = tmp_path / "saved.parquet"
    assert main(["predict", "--engine", "ray", "--output", str(out), "--classifier", str(saved), *good]) == 0
    proba = clf.predict_proba(good)
    top = np.asarray(clf.classes_)[np.argsort(-proba, axis=1, kind="stable")[:, :3]]
    reference = {
        "classes": [str(c) for c in clf.classes_],
        "proba": dict(zip(good, proba)),
        "top": dict(zip(good, top.tolist())),
    }
    _check_against_reference(pd.read_parquet(out), good, reference)


def test_cli_ray_engine_scores_each_file_once_whatever_its_spelling(
    cluster, images, toy_checkpoint, tmp_path, capsys
):
    folder, paths = images
    good = [p for p in paths if "broken" not in p][:3]
    alias = tmp_path / "alias"  # the same folder under another name (a link, a mount)
    alias.symlink_to(folder, target_is_directory=True)
    aliased = [str(alias / os.path.basename(p)) for p in good]
    out = tmp_path / "spelled.parquet"
    command = ["predict", "--engine", "ray", "--output", str(out), "--model", toy_checkpoint]
    assert main([*command, *good, aliased[0], str(folder / "x" / ".." / os.path.basename(good[0]))]) == 0
    assert "3 images scored" in capsys.readouterr().out
    assert main([*command, *aliased]) == 0  # resumed under the other name
    assert "0 images scored into" in capsys.readouterr().out
    assert sorted(written_keys(out)) == sorted(good)


def test_cli_ray_engine_prints_no_ray_log_lines(cluster, images, toy_checkpoint, tmp_path, capfd):
    """A clean run leaves stderr empty: no line of Ray's C++ core (written to fd 2) nor Ray warning."""
    _, paths = images
    good = [p for p in paths if "broken" not in p][:2]
    command = ["predict", "--engine", "ray", "--output", str(tmp_path / "quiet.parquet")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*command, "--model", toy_checkpoint, *good]) == 0
    captured = capfd.readouterr()
    assert "2 images scored" in captured.out
    assert captured.err == ""  # e.g. core_worker.cc's "constructor arguments in the object store"
    assert [str(w.message) for w in caught if "Ray" in w.category.__name__] == []  # RayDeprecationWarning


def _closed_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def test_cluster_unreachable_probes_only_host_and_port_addresses():
    import socket

    from clip_fer.utils._ray import cluster_unreachable

    for address in (None, "", "auto", "local", "head-node-without-port"):
        assert cluster_unreachable(address) is None, address
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert cluster_unreachable(f"127.0.0.1:{port}") is None
        assert cluster_unreachable(f"ray://127.0.0.1:{port}") is None
    closed = _closed_port()
    assert f"127.0.0.1:{closed} does not answer" in cluster_unreachable(f"ray://127.0.0.1:{closed}")


@pytest.mark.parametrize("how", ["--address", "RAY_ADDRESS"])
def test_cli_ray_engine_says_at_once_that_the_cluster_cannot_be_reached(
    how, images, tmp_path, monkeypatch, capsys
):
    # ray.init retried such an address for over two minutes before failing
    _, paths = images
    address = f"127.0.0.1:{_closed_port()}"
    command = ["predict", "--engine", "ray", "--output", str(tmp_path / "out.parquet"), paths[0]]
    if how == "--address":
        command[1:1] = ["--address", address]
    else:
        monkeypatch.setenv("RAY_ADDRESS", address)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert f"clip-fer: error: the Ray cluster at '{address}' cannot be reached" in err
    assert "ray start --head" in err
    assert not (tmp_path / "out.parquet").exists()


# Any fitted classifier of images (issue 25): a few-shot one and a calibrated one.


@pytest.fixture(scope="module")
def adapted(toy_checkpoint, face_arrays):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    from clip_fer import FewShotEmotionClassifier

    zero_shot = ZeroShotEmotionClassifier(toy_checkpoint, on_error="skip")
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    views = [v for a in face_arrays for v in (a, a[::-1], a[:, ::-1], np.rot90(a).copy())]
    classes = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    y_cal = [classes[i % len(classes)] for i in range(len(views))]
    calibrated = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature").fit(views, y_cal)
    return {"few-shot": few_shot, "calibrated": calibrated}


@pytest.mark.parametrize("which", ["few-shot", "calibrated"])
def test_predict_dataset_takes_any_fitted_classifier(cluster, images, adapted, which, tmp_path):
    # Before: predict_dataset refused anything but a ZeroShotEmotionClassifier.
    _, paths = images
    clf = adapted[which]
    good = [p for p in paths if "broken" not in p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedImagesWarning)
        expected = dict(zip(good, clf.predict_proba(good)))  # the classifier in this process
    threshold = float(np.median([row.max() for row in expected.values()]))
    dataset = ray.data.from_items([{"path": p} for p in paths])
    frame = predict_dataset(dataset, clf, batch_size=4, abstain_below=threshold).to_pandas().set_index("path")
    columns = [f"proba_{c}" for c in clf.classes_]
    for path in paths:
        row = frame.loc[path]
        if "broken" in path:
            assert _missing(row["label"]) and "not an image format" in row["error"]
            continue
        np.testing.assert_allclose(row[columns].to_numpy(dtype=float), expected[path], atol=1e-6)
        best = str(clf.classes_[int(np.argmax(expected[path]))])
        assert row["label"] == ("unsure" if expected[path].max() < threshold else best)
    run = predict_to_parquet(dataset, clf, tmp_path / "out.parquet", batch_size=4)
    assert run.written == len(paths) and len(run.errors) == 1
