"""The report's experiment generator: random template x synonym configurations."""

from sklearn.utils import check_random_state

from . import _vocabularies as vocab
from ._prompt_bank import PromptBank
from ._validation import check_int

__all__ = ["sample_prompt_banks", "report_experiment_banks"]


def sample_prompt_banks(
    template_pool, synonym_pool, n_templates, n_labels, n_draws=1, random_state=None
):
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

    Returns
    -------
    banks : dict of str to PromptBank
        Named as the report named its files, e.g. ``"3 templates 3 labels 1"``.
        The draws are this library's, seeded by ``random_state``; they are not
        the report's own files, of which only the best was printed
        (:meth:`PromptBank.report_best`).
    """
    rng = check_random_state(random_state)
    banks = {}
    for n in sizes:
        draws = sample_prompt_banks(template_pool, synonym_pool, n, n, n_draws, rng)
        for i, bank in enumerate(draws, start=1):
            banks[f"{n} templates {n} labels {i}"] = bank
    return banks
