"""``--abstain-below``: the one option of predict, video and evaluate that says "unsure"."""

import argparse


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], the top probability; got {text!r}")
    return value


def add_abstain_option(parser, what="an image"):
    """Add ``--abstain-below P`` (default None: always answer a class)."""
    parser.add_argument(
        "--abstain-below",
        type=_probability,
        metavar="P",
        help=f'Label {what} "unsure" when its top probability is below P (in [0, 1]); '
        "see docs/calibration.md. Default: always give the top class.",
    )
