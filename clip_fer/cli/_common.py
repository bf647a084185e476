"""What every command shares: options, data, the estimator, and the one error path.

Every command reports a failure the same way: one line ``clip-fer: error: ...`` on
stderr and exit code 1 (:func:`run_safely`, :func:`report_error`), with a
model-loading fix written as the option to pass (``--model PATH``), never as Python.
"""

import argparse
import re
import sys

from .._options import BUILTIN_BANK_NAMES, LAYOUT_NAMES, MIN_GROUP_SIZE, PRECISIONS, REDUCTIONS

# Nothing heavy at import time: ``clip-fer --help`` builds every parser, so
# numpy, scikit-learn and torch are imported only when a command runs.

__all__ = [
    "add_data_options",
    "add_group_size_option",
    "add_layout_option",
    "add_model_options",
    "build_estimator",
    "error_message",
    "handled_errors",
    "load_data",
    "positive_int",
    "report_error",
    "run_safely",
    "show_progress",
]

_DECIDERS = ("vote", "mean")


def positive_int(text):
    """argparse type: an int >= 1 (anything else exits 2 with a usage message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def add_data_options(parser):
    """``--data``, ``--layout`` and ``--split``."""
    parser.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="The labelled images: a folder of class/*.jpg (e.g. fer2013/public_test), "
        "a folder of split/class/*.jpg (e.g. fer2013), or FER2013's Kaggle CSV "
        "(emotion,pixels,Usage). Each image's class is its folder name, or its CSV emotion code. "
        "A benchmark in its published layout (RAF-DB, AffectNet, FERPlus, ExpW, CK+) is "
        "recognised by its label files; see --layout.",
    )
    add_layout_option(parser)
    parser.add_argument(
        "--split",
        nargs="+",
        metavar="NAME",
        help="Keep only these splits of a split/class/*.jpg tree or of the CSV's Usage column, "
        "e.g. public_test (PublicTest, Training, train, ... are understood), or a layout's own "
        "split names (rafdb: train, test; affectnet: train, validation). Default: every image.",
    )


def add_model_options(parser, many=False):
    """``--model``, ``--reduce``, ``--decider``, ``--batch-size``, ``--device``,
    ``--precision``, ``--cache-dir``, ``--progress``: the estimator's own parameters.
    With ``many``, ``--model`` may be given several times (a list; None when absent)."""
    parser.add_argument(
        "--model",
        action="append" if many else "store",
        default=None if many else "ViT-B/32",
        metavar="NAME_OR_PATH",
        help="An OpenAI CLIP name (downloaded on first use) or checkpoint path, e.g. "
        "models/my-clip.pt; 'open_clip:ARCH/PRETRAINED' or 'open_clip:ARCH//weights.safetensors' "
        "(open-clip extra); 'hf_clip:NAME_OR_DIR' for Hugging Face CLIP or SigLIP (hf extra). "
        + ("Repeat it to compare models. " if many else "")
        + "Default: ViT-B/32.",
    )
    parser.add_argument(
        "--reduce",
        choices=REDUCTIONS,
        default="mean",
        help="How the scores of a class's words fold into one class score (SynonymFolder): "
        "mean, or sum as in the report, max, logsumexp. Default: mean.",
    )
    parser.add_argument(
        "--decider",
        choices=_DECIDERS,
        default="vote",
        help="How templates decide the ranking: vote, the report's per-rank vote "
        "(RankVoteDecider), or mean, the averaged probabilities (MeanProbaDecider). Default: vote.",
    )
    parser.add_argument(
        "--vote-top-k",
        type=positive_int,
        default=3,
        metavar="K",
        help="With --decider vote, the ranks decided by vote (RankVoteDecider's top_k; capped "
        "at the number of classes). Default: 3.",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, help="Images per forward pass. Default: 32."
    )
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda[:N]'. Default: auto.")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="The model's number format, as ZeroShotEmotionClassifier(precision=...): auto is "
        "fp16 on CUDA and fp32 on CPU; bf16 (autocast) and int8 (CPU: int8 image tower) are "
        "faster opt-in paths whose predictions can differ slightly from fp32's. Default: auto.",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="Also keep image embeddings in DIR (created if missing), so a later run with the "
        "same model does not encode the same images again, as "
        "ZeroShotEmotionClassifier(cache_dir=...). Default: in memory only.",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Progress bars on stderr. Default: only when stderr is a terminal.",
    )


def add_group_size_option(parser):
    """``--min-group-size``: per-group results flag smaller groups."""
    parser.add_argument(
        "--min-group-size",
        type=positive_int,
        default=MIN_GROUP_SIZE,
        metavar="N",
        help="For data sets that record groups of the people pictured (per-group scores in "
        f"groups.csv): groups with fewer images are flagged small. Default: {MIN_GROUP_SIZE}.",
    )


def show_progress(args):
    """Whether to draw progress bars: ``--progress``/``--no-progress``, else only when
    stderr is a terminal (so piped or logged output carries no bars)."""
    progress = getattr(args, "progress", None)
    return sys.stderr.isatty() if progress is None else progress


def add_layout_option(parser, what="--data"):
    """``--layout``: read the data as a benchmark's published files."""
    parser.add_argument(
        "--layout",
        choices=LAYOUT_NAMES,
        default=None,
        metavar="NAME",
        help=f"Read {what} as this data set's published files: "
        f"{', '.join(LAYOUT_NAMES)} (see docs/datasets.md; affectnet has 8 classes, "
        "affectnet-7 leaves contempt out). Default: recognised from the files, else a "
        "FER2013 CSV or a folder.",
    )


def bank_help():
    return f"a built-in name ({', '.join(BUILTIN_BANK_NAMES)}) or a JSON file"


def load_data(args):
    """The data set named by ``--data``, ``--layout`` and ``--split``; an empty one is an error.

    With ``--on-error skip`` (where the command has it) a layout's items that
    cannot be labelled are left out too, counted in one warning."""
    from ..datasets import load_dataset

    return load_dataset(
        args.data,
        args.split,
        layout=getattr(args, "layout", None),
        on_error=getattr(args, "on_error", "raise"),
    )


def build_estimator(args, prompt_bank=None, n_images=0):
    """The classifier the options describe; a progress bar when there is more than a batch."""
    from .._classifier import ZeroShotEmotionClassifier
    from .._deciders import MeanProbaDecider, RankVoteDecider
    from .._folding import SynonymFolder

    return ZeroShotEmotionClassifier(
        model=args.model,
        prompt_bank=prompt_bank,
        synonym_folder=SynonymFolder(args.reduce),
        decider=RankVoteDecider(getattr(args, "vote_top_k", 3))
        if args.decider == "vote"
        else MeanProbaDecider(),
        device=args.device,
        precision=getattr(args, "precision", "auto"),
        cache_dir=getattr(args, "cache_dir", None),
        batch_size=args.batch_size,
        verbose=n_images > args.batch_size and show_progress(args),
    )


def handled_errors():
    """The exceptions a command reports as one ``clip-fer: error:`` line (exit 1):
    clip-fer's own, bad values, missing extras and files. Anything else is a bug and
    keeps its traceback."""
    from ..exceptions import ClipFerError

    return (ClipFerError, ValueError, ImportError, OSError)


def report_error(exc, note=""):
    """Print ``exc`` as one ``clip-fer: error: ...`` line (plus ``note``); returns 1."""
    print(f"clip-fer: error: {error_message(exc)}{note}", file=sys.stderr)
    return 1


def run_safely(command, args):
    """Run ``command(args)``; returns its exit code (None counts as 0).

    A failure prints one ``clip-fer: error:`` line and gives 1; a closed stdout
    (``| head``) and Ctrl-C go on to ``main``, which ends them quietly (141, 130).
    """
    try:
        code = command(args)
    except BrokenPipeError:
        raise  # stdout closed by its reader (| head): main() ends quietly
    except handled_errors() as exc:
        return report_error(exc)
    return 0 if code is None else code


# A fix written for Python ("ZeroShotEmotionClassifier(model='/x.pt')", "model='/x.pt'"),
# said as the option to pass.
_PYTHON_MODEL_FIX = (
    re.compile(r"ZeroShotEmotionClassifier\(model=(['\"])(.*?)\1\)"),
    re.compile(r"\bmodel=(['\"])(.*?)\1"),
)


def error_message(exc):
    """``exc`` on one line, with a model-loading fix given in command-line syntax."""
    from ..exceptions import ModelLoadError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ModelLoadError):
        for python_form in _PYTHON_MODEL_FIX:
            message = python_form.sub(r"--model \2", message)
        if "--model" not in message:
            message += " Choose another model with --model NAME_OR_PATH (a checkpoint file works offline)."
    return message
