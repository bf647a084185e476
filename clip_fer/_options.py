"""Names of the built-in choices, in one place that imports nothing.

The command line builds its ``--help`` from them without importing numpy,
scikit-learn or torch; the modules that implement the choices import them from
here, so each list is written once.
"""

__all__ = ["BUILTIN_BANK_NAMES", "LAYOUT_NAMES", "MIN_GROUP_SIZE", "PRECISIONS", "REDUCTIONS"]

#: The ways :class:`~clip_fer.SynonymFolder` can fold a class's word scores.
REDUCTIONS = ("sum", "mean", "max", "logsumexp")

#: Names accepted by :func:`~clip_fer.load_prompt_bank` (see ``BUILTIN_BANKS``).
BUILTIN_BANK_NAMES = (
    "default",
    "report",
    "report-corrected",
    "openai",
    "baseline",
    "default-8",
    "baseline-8",
    "gender",
)

#: The data set layouts :func:`~clip_fer.datasets.load_dataset` reads (``--layout``).
LAYOUT_NAMES = (
    "fer2013",
    "folder",
    "rafdb",
    "affectnet",
    "affectnet-7",
    "affectnet-8",
    "ferplus",
    "expw",
    "ckplus",
    "jaffe",
    "kdef",
    "sfew",
)

#: The ``precision`` values of :class:`~clip_fer.ZeroShotEmotionClassifier` (``--precision``).
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")

#: Per-group results flag a group with fewer images as ``small`` (``--min-group-size``).
MIN_GROUP_SIZE = 30
