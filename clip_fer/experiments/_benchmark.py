"""Models x prompt banks x data sets: each image encoded once per model, resumable.

:func:`run_benchmark` scores every cell of the grid (one data set, one model, one
bank) on image embeddings computed once per model and data set, writes each cell
as it finishes (``cells/*.json`` under the output folder), and skips on a later run
the cells already written with the same settings. The tables (``results.csv``,
``results.md``, ``groups.csv``) and the figure are rebuilt from the cells of the
grid at the end of every run.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.base import clone

from .._bank_io import bank_to_dict
from .._classifier import ZeroShotEmotionClassifier
from .._prompt_bank import PromptBank
from ..exceptions import ClipFerError, DatasetError, InvalidParameterError
from ..metrics import MIN_GROUP_SIZE, summarize_decision
from ..utils._json import strict_json
from ..utils._param_validation import check_int
from ._experiment import check_banks

__all__ = ["BenchmarkResult", "bank_for_classes", "run_benchmark"]

#: The columns of ``results.csv``, in order (``top{k}`` is ``top3`` by default).
RESULT_COLUMNS = ("dataset", "layout", "split", "model", "bank", "classes", "n", "n_skipped", "uar", "war")
# Estimator parameters that change no prediction: left out of a cell's settings.
_NOT_SETTINGS = {"model", "prompt_bank", "verbose", "cache", "cache_dir", "batch_size", "num_workers"}
_NOT_SETTINGS |= {"device"}


@dataclass(frozen=True, eq=False)
class BenchmarkResult:
    """What :func:`run_benchmark` measured and wrote.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell (data set, model, bank), in grid order: ``dataset``,
        ``layout``, ``split``, ``model``, ``bank``, ``classes`` (how many classes
        were scored), ``n`` (images scored), ``n_skipped`` (unreadable images left
        out), ``uar`` (mean per-class recall), ``war`` (accuracy),
        ``top{k}`` (top-k accuracy), ``macro_f1``, ``ece`` (15 bins) and ``nll``.
    groups : pandas.DataFrame
        One row per cell and group of a data set that has groups: ``dataset``,
        ``model``, ``bank``, ``group_name``, ``group_value``, ``n``, ``small``
        (fewer than ``min_group_size`` images), then the scores of ``table``.
        Empty when no data set has groups.
    paths : list of pathlib.Path
        The files written.
    computed, reused : list of tuple
        The cells scored by this run, and those read back from an earlier one.
    """

    table: object
    groups: object = field(repr=False)
    paths: list = field(repr=False)
    computed: list
    reused: list


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-")[:40] or "x"


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _classes_of(data):
    return sorted(set(map(str, data.target_names)) | set(map(str, data.target)))


def bank_for_classes(bank, classes, dataset="the data set", bank_name=None):
    """The bank restricted to ``classes``, or an error naming the classes it lacks.

    A data set is scored over its own classes, as the zero-shot literature does
    (one prompt per class of the data set): a bank's extra classes (``contempt`` of
    an eight-class bank on a seven-class set) are dropped for it.

    Parameters
    ----------
    bank : PromptBank
    classes : sequence of str
        The data set's classes.
    dataset, bank_name : str
        Named in the error.

    Returns
    -------
    bank : PromptBank
        Fitted; ``bank`` itself when it has exactly ``classes``.

    Raises
    ------
    DatasetError
        When the data set has a class the bank lacks
        (:func:`clip_fer.datasets.check_bank_classes` says what to add).
    """
    fitted = bank if hasattr(bank, "classes_") else clone(bank).fit()
    have = set(map(str, fitted.classes_))
    missing = sorted(set(classes) - have)
    name = bank_name or getattr(bank, "name", None) or "the bank"
    if missing:
        from ..datasets import check_bank_classes

        try:  # its message names what the bank lacks and the built-in banks that have it
            check_bank_classes(sorted(have), classes, dataset)
        except DatasetError as exc:
            raise DatasetError(
                f"Prompt bank {name!r}: {exc} (A benchmark drops a bank's extra classes for a data "
                "set by itself; the classes the bank lacks it cannot add.)"
            ) from None
    if have == set(classes):
        return fitted
    spelled = bank_to_dict(fitted)
    synonyms = {cls: words for cls, words in spelled["synonyms"].items() if cls in set(classes)}
    return PromptBank(spelled["templates"], synonyms, name=getattr(bank, "name", None)).fit()


def _split_of(data):
    split = data.get("split")
    if split is None:
        return "all"
    return ",".join(sorted(set(map(str, split))))


def _cell_settings(data, model, bank, estimator, k):
    """What decides a cell's numbers; a stored cell with other settings is scored again."""
    params = estimator.get_params(deep=False)
    return {
        "data": _digest([list(map(str, data.filenames)), list(map(str, data.target))]),
        "n_images": len(data.target),
        "model": str(model),
        "bank": bank_to_dict(bank),
        "estimator": {key: repr(value) for key, value in sorted(params.items()) if key not in _NOT_SETTINGS},
        "k": k,
    }


def _cell_path(out, dataset, model, bank):
    tag = _digest([dataset, str(model), bank])[:10]
    return Path(out) / "cells" / f"{_slug(dataset)}__{_slug(Path(str(model)).name)}__{_slug(bank)}-{tag}.json"


def _read_cell(path, settings):
    try:
        cell = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or cut short by an interrupted write: score it again
    return cell if isinstance(cell, dict) and cell.get("settings") == settings else None


def _write_cell(path, cell):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(strict_json(cell, indent=1, default=float) + "\n", encoding="utf-8")
    partial.replace(path)  # atomic: a cell file is whole or absent


def _scores(summary, n, k):
    """A cell's (or a group's) scores from :func:`summarize`'s keys, under the table's names."""
    return {
        "n": n,
        "n_skipped": summary["n_skipped"],
        "uar": summary["uar"],
        "war": summary["top1_accuracy"],
        f"top{k}": summary[f"top{k}_accuracy"],
        "macro_f1": summary["macro_f1"],
        "ece": summary["ece"],
        "nll": summary["nll"],
    }


def _score_cell(estimator, bank, embeddings, data, k):
    """The cell's row of scores and its per-group rows."""
    scorer = clone(estimator).set_params(prompt_bank=bank, precomputed=True, verbose=False)
    scorer.fit(y=data.target)
    decision = scorer.decide(embeddings)  # skipped images: in decision.errors, counted in n_skipped
    summary, groups, _ = summarize_decision(
        data.target, decision, scorer.labels_of, k, data.get("groups"), classes=scorer.classes_
    )
    k = min(k, len(scorer.classes_))
    named = [{"group_name": g["group_name"], "group_value": g["group_value"]} for g in groups]
    return _scores(summary, summary["n_images"], k), [
        {**name, **_scores(g, g["n"], k)} for name, g in zip(named, groups)
    ]


def embed_locally(estimator, data, dataset):
    """The default ``embed`` of :func:`run_benchmark`: ``estimator.embed(data.images)``."""
    return estimator.embed(data.images, return_errors=True)[0]  # a skipped image: a NaN row, counted per cell


def _check_inputs(datasets, models, banks, estimator):
    owner = "run_benchmark"
    if not isinstance(estimator, ZeroShotEmotionClassifier):
        raise InvalidParameterError(
            f"The 'estimator' parameter of {owner} must be a ZeroShotEmotionClassifier. "
            f"Got {type(estimator).__name__} instead."
        )
    if not isinstance(datasets, dict) or not datasets:
        raise InvalidParameterError(
            f"The 'datasets' parameter of {owner} must be a non-empty dict of name to data set. "
            f"Got {datasets!r} instead."
        )
    check_banks(banks, "banks", "bank", owner)
    if isinstance(models, str) or not models or len(set(map(str, models))) != len(models):
        raise InvalidParameterError(
            f"The 'models' parameter of {owner} must be a non-empty list of distinct model names "
            f"or paths. Got {models!r} instead."
        )
    for name, data in datasets.items():
        if len(data.target) == 0:
            raise ClipFerError(f"The data set {name!r} has no images.")


def run_benchmark(
    datasets,
    models,
    banks,
    out,
    *,
    estimator=None,
    k=3,
    min_group_size=MIN_GROUP_SIZE,
    embed=None,
    plots=True,
    verbose=False,
):
    """Score every model x prompt bank x data set, and write the tables.

    Each model encodes each data set's images once (:meth:`embed`, through the
    embedding cache, so a ``cache_dir`` on ``estimator`` spares a later run the
    encoding too); every bank is then scored on those embeddings
    (``precomputed=True``), as :func:`run_experiment` does. Each finished cell is
    written to ``out/cells/`` at once; a later run with the same ``out`` reads back
    the cells whose settings (images and labels, model, bank, estimator
    parameters, ``k``) are unchanged and encodes nothing for a model whose cells
    are all there.

    Parameters
    ----------
    datasets : dict of str to Bunch
        By name, labelled data as :func:`clip_fer.datasets.load_dataset` returns it
        (``images``, ``target``, ``target_names``, ``filenames``, ``split``), with
        optional ``groups`` (dict of grouping name to each image's group) and
        ``layout`` (a name shown in the table). Each data set is scored over its
        own classes (``target_names``): see :func:`bank_for_classes`.
    models : list of str
        Model names or checkpoint paths, as ``ZeroShotEmotionClassifier(model=...)``.
    banks : dict of str to PromptBank
        By name.
    out : str or path-like
        The output folder (created if needed).
    estimator : ZeroShotEmotionClassifier, default=None
        Gives everything but the model and the bank (folder, decider, device,
        precision, batch size, ``cache_dir``, ``on_error``); None is the default one.
    k : int, default=3
        The ``k`` of the top-k accuracy.
    min_group_size : int, default=30
        Groups with fewer images are flagged ``small`` in ``groups.csv``.
    embed : callable, default=None
        ``embed(estimator, data, name) -> embeddings`` of shape (n_images, dim),
        a row of NaN for an unreadable image; None encodes in this process
        (:func:`embed_locally`). ``clip-fer benchmark --engine ray`` passes one that
        encodes on a Ray cluster.
    plots : bool, default=True
        Draw ``results.png`` (needs matplotlib).
    verbose : bool, default=False
        Print a line per cell scored.

    Returns
    -------
    result : BenchmarkResult

    Raises
    ------
    DatasetError
        Before any encoding, when a data set has a class that a bank lacks.
    """
    from ._reports import require

    pd = require("pandas", "run_benchmark")
    estimator = ZeroShotEmotionClassifier() if estimator is None else estimator
    _check_inputs(datasets, models, banks, estimator)
    k = check_int(k, "k", "run_benchmark", 1)
    min_group_size = check_int(min_group_size, "min_group_size", "run_benchmark", 1)
    embed = embed_locally if embed is None else embed
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    fitted_banks = {name: clone(bank).fit() for name, bank in banks.items()}
    scored_banks = {  # every class check before any encoding
        (d, b): bank_for_classes(bank, _classes_of(data), f"the data set {d!r}", b)
        for d, data in datasets.items()
        for b, bank in fitted_banks.items()
    }
    rows, group_rows, computed, reused = {}, {}, [], []
    for model in models:
        clf = clone(estimator).set_params(model=model)
        for d, data in datasets.items():
            todo = []
            for b in banks:
                settings = _cell_settings(data, model, scored_banks[d, b], estimator, k)
                path = _cell_path(out, d, model, b)
                cell = _read_cell(path, settings)
                if cell is None:
                    todo.append((b, settings, path))
                else:
                    rows[d, model, b], group_rows[d, model, b] = cell["row"], cell["groups"]
                    reused.append((d, str(model), b))
            if not todo:
                continue
            embeddings = embed(clf, data, d)
            for b, settings, path in todo:
                row, groups = _score_cell(clf, scored_banks[d, b], embeddings, data, k)
                row = {
                    "dataset": d,
                    "layout": str(data.get("layout") or ""),
                    "split": _split_of(data),
                    "model": str(model),
                    "bank": b,
                    "classes": len(scored_banks[d, b].classes_),
                    **row,
                }
                _write_cell(path, {"settings": settings, "row": row, "groups": groups})
                rows[d, model, b], group_rows[d, model, b] = row, groups
                computed.append((d, str(model), b))
                if verbose:
                    print(f"scored {d} x {model} x {b}: UAR {row['uar']:.3f}, WAR {row['war']:.3f}")

    order = [(d, m, b) for d in datasets for m in models for b in banks]
    table = pd.DataFrame([rows[cell] for cell in order])
    groups = pd.DataFrame(
        [
            {"dataset": d, "model": str(m), "bank": b, **g, "small": g["n"] < min_group_size}
            for d, m, b in order
            for g in group_rows[d, m, b]
        ]
    )
    if len(groups):
        first = ["dataset", "model", "bank", "group_name", "group_value", "n", "small"]
        groups = groups[first + [c for c in groups.columns if c not in first]]
    paths = _save(out, table, groups, plots)
    return BenchmarkResult(table, groups, paths, computed, reused)


def _save(out, table, groups, plots):
    from ._reports import markdown_table, plot_bars

    paths = [out / "results.csv", out / "results.md"]
    table.to_csv(paths[0], index=False)
    markdown = markdown_table(table.drop(columns=["nll"])) + "\n"
    if len(groups):
        paths.append(out / "groups.csv")
        groups.to_csv(paths[-1], index=False)
        small = int(groups["small"].sum())
        markdown += (
            f"\nPer group: groups.csv ({len(groups)} rows"
            + (f", {small} of them flagged small: few images, read their numbers with care" if small else "")
            + ").\n"
        )
    paths[1].write_text(markdown, encoding="utf-8")
    if plots:
        names = {m: Path(m).name for m in table["model"]}
        if len(set(names.values())) < len(names):  # two checkpoints of one file name
            names = {m: m for m in names}
        runs = table.assign(run=table["model"].map(names) + " / " + table["bank"])
        bars = runs.pivot(index="dataset", columns="run", values="uar")
        bars = bars.loc[list(dict.fromkeys(runs["dataset"])), list(dict.fromkeys(runs["run"]))]
        path = out / "results.png"
        plot_bars(bars, path, "UAR (mean per-class recall) by data set", "UAR")
        paths.append(path)
    return paths
