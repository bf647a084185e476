"""The report's experiment: prompt configurations, scored on embeddings, ranked.

The report ("C.U: Emotion's recognition", section "Results & insights") drew
configurations of 1, 2 and 3 templates x 1, 2 and 3 words per class, three
draws each, from pools of templates and synonyms, and compared them by top-1
and top-3 accuracy and F1. :func:`report_experiment_configurations` rebuilds
that set (plus the report's printed dictionaries, OpenAI's FER2013 prompts and
a single-prompt baseline); :func:`run_experiment` scores any set of banks on
image embeddings encoded once.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length
from tqdm.auto import tqdm

from .. import _vocabularies as vocab
from .._bank_io import bank_to_dict
from .._classifier import ZeroShotEmotionClassifier
from .._prompt_bank import PromptBank, as_lists
from ..exceptions import InvalidParameterError
from ..metrics import per_class_metrics, summarize, top_k_predictions
from ..utils._json import strict_json
from ..utils._param_validation import check_int, check_option

__all__ = [
    "ExperimentResult",
    "report_experiment_banks",
    "report_experiment_configurations",
    "run_experiment",
    "sample_prompt_banks",
]


def sample_prompt_banks(template_pool, synonym_pool, n_templates, n_labels, n_draws=1, random_state=None):
    """Draw prompt banks at random from pools of templates and synonyms.

    Each draw picks ``n_templates`` distinct templates and, for every class,
    ``n_labels`` distinct words, without replacement and in pool order.

    Parameters
    ----------
    template_pool : sequence of str
        Templates to draw from.
    synonym_pool : mapping of str to sequence of str
        Per-class words to draw from.
    n_templates, n_labels : int
        Templates per bank, words per class.
    n_draws : int, default=1
        How many banks to draw.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; an int gives the same banks on every run and machine.

    Returns
    -------
    banks : list of PromptBank
        ``n_draws`` unfitted banks.
    """
    owner = "sample_prompt_banks"
    check_int(n_templates, "n_templates", owner, 1, len(template_pool))
    check_int(n_labels, "n_labels", owner, 1, min(len(w) for w in synonym_pool.values()))
    check_int(n_draws, "n_draws", owner, 1)
    rng = check_random_state(random_state)
    templates = list(template_pool)
    banks = []
    for _ in range(n_draws):
        picked = sorted(rng.choice(len(templates), n_templates, replace=False))
        synonyms = {}
        for cls in sorted(synonym_pool):
            words = list(synonym_pool[cls])
            chosen = sorted(rng.choice(len(words), n_labels, replace=False))
            synonyms[cls] = [words[i] for i in chosen]
        banks.append(PromptBank([templates[i] for i in picked], synonyms))
    return banks


def report_experiment_banks(
    template_pool=vocab.REPORT_TEMPLATE_POOL,
    synonym_pool=vocab.REPORT_SYNONYM_POOL,
    sizes=(1, 2, 3),
    n_draws=3,
    random_state=0,
):
    """The report's nine configurations: n templates x n words, n in 1..3, 3 draws.

    Parameters
    ----------
    template_pool : sequence of str, default=the report's template pool
        Templates to draw from.
    synonym_pool : dict of str to sequence of str, default=the report's pool
        Per class, the words to draw from.
    sizes : sequence of int, default=(1, 2, 3)
        Each ``n``: draws of ``n`` templates and ``n`` words per class.
    n_draws : int, default=3
        Draws per size.
    random_state : int, RandomState instance or None, default=0
        Seeds the draws.

    Returns
    -------
    banks : dict of str to PromptBank
        Named as the report named its files, e.g. ``"3 templates 3 labels 1"``;
        each bank's ``name`` is its key, so ``GridSearchCV``'s ``best_params_``
        and :func:`search_results_frame` tell the banks apart.
        The draws are this library's, seeded by ``random_state``; they are not
        the report's own files, of which only the best was printed
        (:meth:`PromptBank.report_best`).
    """
    rng = check_random_state(random_state)
    banks = {}
    for n in sizes:
        draws = sample_prompt_banks(template_pool, synonym_pool, n, n, n_draws, rng)
        for i, bank in enumerate(draws, start=1):
            name = f"{n} templates {n} labels {i}"
            banks[name] = bank.set_params(name=name)
    return banks


def report_experiment_configurations(random_state=0):
    """Every prompt configuration of the report's experiment, by name.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=0
        Seeds the random draws (see :func:`report_experiment_banks`). The
        default 0 gives the same draws on every run and machine.

    Returns
    -------
    configurations : dict of str to PromptBank
        In this order:

        - ``"report: 3 templates 3 labels 1"``: the report's best dictionary
          (:meth:`PromptBank.report_best`), and the same ``", corrected"``;
        - ``"report: 1 templates 1 labels 1"`` and ``"report: 3 templates 3
          labels 3"``: the report's two other printed dictionaries;
        - ``"draw: {n} templates {n} labels {i}"``: the nine configurations
          drawn from the report's pools (``REPORT_TEMPLATE_POOL`` and
          ``REPORT_SYNONYM_POOL`` in ``clip_fer._vocabularies``);
        - ``"draw: ..., corrected"``: the same draws from the pool with the
          report's misspellings corrected (``REPORT_SYNONYM_POOL_CORRECTED``). One
          seed draws the same positions from both pools, so each such bank
          differs from its twin only in spelling; draws without a misspelled
          word are not repeated;
        - ``"openai: FER2013 prompts"`` (:meth:`PromptBank.openai_fer2013`);
        - ``"baseline: a photo of a {} looking face."``
          (:meth:`PromptBank.baseline`).
    """
    dictionaries = {
        "report: 3 templates 3 labels 1": PromptBank.report_best(),
        "report: 3 templates 3 labels 1, corrected": PromptBank.report_best(spelling="corrected"),
        "report: 1 templates 1 labels 1": PromptBank(*map(as_lists, vocab.REPORT_DICTIONARY_1_1_1)),
        "report: 3 templates 3 labels 3": PromptBank(*map(as_lists, vocab.REPORT_DICTIONARY_3_3_3)),
    }
    draws, corrected = (
        report_experiment_banks(vocab.REPORT_TEMPLATE_POOL, pool, random_state=random_state)
        for pool in (vocab.REPORT_SYNONYM_POOL, vocab.REPORT_SYNONYM_POOL_CORRECTED)
    )
    dictionaries.update({f"draw: {name}": bank for name, bank in draws.items()})
    dictionaries.update(
        {
            f"draw: {name}, corrected": bank.set_params(name=f"{name}, corrected")
            for name, bank in corrected.items()
            if bank.synonyms != draws[name].synonyms  # only draws with a misspelled word
        }
    )
    dictionaries["openai: FER2013 prompts"] = PromptBank.openai_fer2013()
    dictionaries["baseline: a photo of a {} looking face."] = PromptBank.baseline()
    return dictionaries


def check_banks(banks, parameter, item, owner, also=""):
    """Refuse anything but a non-empty dict of name to PromptBank, naming the bad entry."""
    if not isinstance(banks, dict) or not banks:
        raise InvalidParameterError(
            f"The '{parameter}' parameter of {owner} must be {also}a non-empty dict "
            f"of name to PromptBank. Got {banks!r} instead."
        )
    for name, bank in banks.items():
        if not isinstance(bank, PromptBank):
            raise InvalidParameterError(
                f"The {item} {name!r} of {owner} must be a PromptBank. Got {type(bank).__name__} instead."
            )


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """What :func:`run_experiment` measured.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per configuration, best first: ``rank``, ``configuration``,
        ``templates`` and ``words`` (how many), ``top1_accuracy``,
        ``top{k}_accuracy``, ``macro_f1``, ``uar`` and ``top{k}_macro_f1`` (see
        :func:`clip_fer.metrics.summarize`).
    per_class : pandas.DataFrame
        One row per configuration and class: ``support``, and ``precision``,
        ``recall`` and ``f1`` of the top-1 prediction (prefix ``top1_``) and of
        the report's top-k prediction (prefix ``top{k}_``, see
        :func:`clip_fer.metrics.top_k_predictions`).
    rankings : dict of str to ndarray of shape (n_samples, k)
        Each configuration's ranked labels, best first.
    banks : dict of str to PromptBank
        The configurations as given.
    k : int
        The ``k`` of the top-k scores.
    n_images : int
    """

    table: object
    per_class: object = field(repr=False)
    rankings: dict = field(repr=False)
    banks: dict = field(repr=False)
    k: int
    n_images: int

    def _repr_html_(self):
        # Notebooks show the ranked table.
        caption = f"<p>{len(self.table)} configurations on {self.n_images} images, best first</p>"
        return caption + self.table.to_html(index=False, float_format="{:.3f}".format)

    def save(self, directory, n_best=5, plots=True, header=""):
        """Write the tables and figures into ``directory`` (created if needed).

        Files: ``results.csv`` and ``results.md`` (the ranked table),
        ``per_class.csv``, ``configurations.json`` (every bank's templates and
        words) and, when ``plots`` is True, ``per_class_top1_f1.png`` and
        ``per_class_top{k}_f1.png``: per-class F1 of the ``n_best`` best
        configurations, as bars.

        Parameters
        ----------
        directory : str or path-like
        n_best : int, default=5
            Configurations shown in the bar charts.
        plots : bool, default=True
            Draw the bar charts (needs matplotlib).
        header : str, default=""
            Markdown written above the table in ``results.md``.

        Returns
        -------
        paths : list of pathlib.Path
            The files written.
        """
        from ._reports import markdown_table, plot_bars

        n_best = check_int(n_best, "n_best", "ExperimentResult.save", 1)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        names = ("results.csv", "results.md", "per_class.csv", "configurations.json")
        paths = [directory / name for name in names]
        self.table.to_csv(paths[0], index=False)
        markdown = (header + "\n\n" if header else "") + markdown_table(self.table) + "\n"
        paths[1].write_text(markdown, encoding="utf-8")
        self.per_class.to_csv(paths[2], index=False)
        banks = {name: bank_to_dict(bank) for name, bank in self.banks.items()}
        paths[3].write_text(strict_json(banks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if plots:
            best = list(self.table["configuration"][:n_best])
            for prefix, what in (("top1", "top-1 prediction"), (f"top{self.k}", f"top-{self.k} rule")):
                bars = self.per_class.pivot(index="class", columns="configuration", values=f"{prefix}_f1")[
                    best
                ]
                path = directory / f"per_class_{prefix}_f1.png"
                plot_bars(bars, path, f"Per-class F1, {what}: the {len(best)} best configurations", "F1")
                paths.append(path)
        return paths


def run_experiment(estimator, embeddings, y, configurations=None, *, k=3, rank_by=None, verbose=False):
    """Score prompt configurations on image embeddings encoded once, and rank them.

    Each configuration is a clone of ``estimator`` with its prompt bank and
    ``precomputed=True``, so only the bank's sentences are encoded; the images
    are not touched again.

    Parameters
    ----------
    estimator : ZeroShotEmotionClassifier
        Gives the model and everything but the bank (synonym_folder, decider, device,
        logit scale); its ``prompt_bank`` and ``precomputed`` are replaced.
    embeddings : ndarray of shape (n_samples, dim)
        Image embeddings from ``estimator.embed(images)``, with the same model.
    y : array-like of shape (n_samples,)
        True class names; each must be a class of every bank.
    configurations : dict of str to PromptBank, default=None
        The banks to compare, by name; None is
        :func:`report_experiment_configurations` with ``random_state=0``.
    k : int, default=3
        The ``k`` of the top-k scores (the report's 3).
    rank_by : str, default=None
        The score that orders the table, largest first: ``"top1_accuracy"``,
        ``"top{k}_accuracy"``, ``"macro_f1"``, ``"uar"`` or ``"top{k}_macro_f1"``;
        None is ``"top{k}_accuracy"``, the report's headline. Ties keep the
        order of ``configurations``.
    verbose : bool, default=False
        Show a progress bar over the configurations.

    Returns
    -------
    result : ExperimentResult
        ``table`` (ranked), ``per_class``, ``rankings``, ``banks``; ``save``
        writes them as files. Needs pandas.

    Examples
    --------
    >>> clf = ZeroShotEmotionClassifier(model="ViT-B/32")               # doctest: +SKIP
    >>> embeddings = clf.fit().embed(data.images)                        # doctest: +SKIP
    >>> run_experiment(clf, embeddings, data.target).table.head()        # doctest: +SKIP
    """
    from ._reports import require

    pd = require("pandas", "run_experiment")
    owner = "run_experiment"
    if not isinstance(estimator, ZeroShotEmotionClassifier):
        raise InvalidParameterError(
            f"The 'estimator' parameter of {owner} must be a ZeroShotEmotionClassifier. "
            f"Got {type(estimator).__name__} instead."
        )
    k = check_int(k, "k", owner, 1)
    scores = ("top1_accuracy", f"top{k}_accuracy", "macro_f1", "uar", f"top{k}_macro_f1")
    rank_by = check_option(scores[1] if rank_by is None else rank_by, "rank_by", owner, scores)
    if configurations is None:
        configurations = report_experiment_configurations()
    check_banks(configurations, "configurations", "configuration", owner, "None or ")
    check_consistent_length(embeddings, y)
    y = np.asarray(y, dtype=object)

    rows, per_class, rankings = [], [], {}
    for name, bank in tqdm(configurations.items(), desc="Scoring configurations", disable=not verbose):
        clf = clone(estimator).set_params(prompt_bank=bank, precomputed=True, verbose=False)
        clf.fit(embeddings, y)
        ranked = clf.predict_topk(embeddings, k=k)
        fitted = clf.prompt_bank_
        rows.append(
            {
                "configuration": name,
                "templates": len(fitted.templates_),
                "words": len(fitted.words_),
                **summarize(y, ranked, k=k),
            }
        )
        top1 = per_class_metrics(y, ranked[:, 0], labels=clf.classes_)
        topk = per_class_metrics(y, top_k_predictions(y, ranked, k), labels=clf.classes_)
        for cls in top1:
            per_class.append(
                {
                    "configuration": name,
                    "class": cls,
                    "support": top1[cls]["support"],
                    **{f"top1_{m}": top1[cls][m] for m in ("precision", "recall", "f1")},
                    **{f"top{k}_{m}": topk[cls][m] for m in ("precision", "recall", "f1")},
                }
            )
        rankings[name] = ranked

    table = pd.DataFrame(rows).drop(columns=["n_images", "n_skipped"])
    table = table.sort_values(rank_by, ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return ExperimentResult(table, pd.DataFrame(per_class), rankings, dict(configurations), k, len(y))
