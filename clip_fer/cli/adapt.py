"""``clip-fer adapt``: fit a few-shot (and calibrated) classifier on labelled faces and save it."""

import argparse
import sys
from pathlib import Path

from ._common import add_layout_option, add_model_options, bank_help, load_data, positive_int, run_safely

_EPILOG = """\
the file (see docs/saving.md) holds the prompt bank, its text features, the shots'
embeddings or probe, the temperatures and the model's name and identity, never the
model's weights nor any pickle. Use it with --classifier FILE:

  clip-fer adapt fer2013/public_test --k 16 --calibrate calibration/ \\
      --model models/my-clip.pt --out adapted.clipfer
  clip-fer predict photos/ --faces --classifier adapted.clipfer --abstain-below 0.5
"""


def add_parser(commands):
    """Register ``adapt`` on the ``clip-fer`` subcommands."""
    parser = commands.add_parser(
        "adapt",
        help="Adapt the zero-shot classifier to a few labelled faces (and calibrate it); save it.",
        description="Fit a FewShotEmotionClassifier on labelled faces (the shots), optionally\n"
        "calibrate its probabilities by temperature on other labelled faces, and save it\n"
        "to a file that predict, evaluate and video take with --classifier.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "shots",
        metavar="SHOTS",
        help="The labelled faces to adapt to, in any layout 'clip-fer evaluate --data' reads: a "
        "folder of class/*.jpg, a folder of split/class/*.jpg, or FER2013's Kaggle CSV.",
    )
    add_layout_option(parser, "SHOTS")
    parser.add_argument("--split", nargs="+", metavar="NAME", help="Keep only these splits of SHOTS.")
    parser.add_argument(
        "--k",
        type=positive_int,
        metavar="K",
        help="Draw K faces per class from SHOTS (sample_k_shot, seeded by --seed). Default: all of them.",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the draw of --k. Default: 0.")
    parser.add_argument(
        "--method",
        choices=("tip", "interpolation"),
        default="tip",
        help="How the shots speak: a cache of their embeddings (tip) or a linear probe "
        "(interpolation); see docs/few-shot.md. Default: tip.",
    )
    parser.add_argument(
        "--calibrate",
        metavar="PATH",
        help="Also fit a temperature on these labelled faces (same layouts as SHOTS; other faces "
        "than the shots, two or more of every class), with scikit-learn's "
        "CalibratedClassifierCV(FrozenEstimator(...), method='temperature'). 'rest': the faces of "
        "SHOTS that --k did not draw (write ./rest for a folder of that name).",
    )
    parser.add_argument(
        "--calibrate-split", nargs="+", metavar="NAME", help="Keep only these splits of --calibrate."
    )
    add_model_options(parser)
    parser.add_argument("--bank", default="default", help=f"Prompt bank: {bank_help()}. Default: default.")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="The file to write (replaced if it exists)."
    )
    parser.set_defaults(run=lambda args: run_safely(adapt, args))


def _subset(data, index):
    from sklearn.utils import Bunch

    return Bunch(
        images=[data.images[i] for i in index], target=data.target[index], filenames=data.filenames[index]
    )


def _shots(args):
    """The shots (every face of SHOTS, or ``--k`` per class) and the faces not drawn."""
    import numpy as np

    from ..datasets import sample_k_shot

    data = load_data(argparse.Namespace(data=args.shots, split=args.split, layout=args.layout))
    index, rest = np.arange(len(data.target)), np.array([], dtype=int)
    if args.k is not None:
        index, rest, _, _ = sample_k_shot(index, data.target, args.k, random_state=args.seed)
    return _subset(data, index), _subset(data, rest)


def _calibration(args, shots, rest, classes):
    from ..exceptions import DatasetError

    if args.calibrate == "rest":
        if args.k is None:
            raise DatasetError("--calibrate rest calibrates on the faces --k did not draw; give --k.")
        data = rest
    else:
        data = load_data(argparse.Namespace(data=args.calibrate, split=args.calibrate_split))
    shot_names = set(shots.filenames.tolist())
    shared = shot_names & set(data.filenames.tolist())
    if shared:
        raise DatasetError(
            f"--calibrate {args.calibrate} holds {len(shared)} of the shots (e.g. {sorted(shared)[0]}); "
            "calibrate on other faces than the shots, or the temperature learns from faces the "
            "classifier has seen."
        )
    names, counts = _counts(data.target)
    few = sorted(set(classes) - set(names[counts >= 2].tolist()))
    if few:
        raise DatasetError(
            f"--calibrate {args.calibrate} has fewer than 2 faces of the classes {few}; temperature "
            "calibration needs two faces or more of every class of the prompt bank (see "
            "docs/calibration.md)."
        )
    return data, min(5, int(counts.min()))


def adapt(args):
    """Run the command for parsed ``args``; raises on failure."""
    from .._bank_io import load_prompt_bank
    from .._few_shot import FewShotEmotionClassifier
    from .._persistence import check_output_path, save_classifier
    from ._common import build_estimator

    if not Path(args.out).is_dir():  # as evaluate's --out: made, and checked, before the long part
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    check_output_path(args.out, "clip-fer adapt --out")
    shots, rest = _shots(args)
    zero_shot = build_estimator(args, prompt_bank=load_prompt_bank(args.bank), n_images=len(shots.images))
    few_shot = FewShotEmotionClassifier(zero_shot, method=args.method).fit(shots.images, shots.target)
    counts = ", ".join(f"{c} {n}" for c, n in zip(*_counts(shots.target)))
    print(f"clip-fer adapt: {len(shots.images)} shots from {args.shots} ({counts}), model {args.model}")
    weights = f"alpha {few_shot.alpha_:g}" + ("" if few_shot.beta_ is None else f", beta {few_shot.beta_:g}")
    kept = " (the shots did not show a better weight than the prompts: zero-shot answers)"
    print(
        f"few-shot ({args.method}): {weights}, temperature {few_shot.temperature_:.3f}"
        + (kept if few_shot.alpha_ == 0 else "")
    )
    classifier = few_shot
    if args.calibrate:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator

        data, folds = _calibration(args, shots, rest, few_shot.classes_)
        # The folds only decide which faces each fold predicts: the estimator is frozen.
        classifier = CalibratedClassifierCV(FrozenEstimator(few_shot), method="temperature", cv=folds)
        classifier.fit(data.images, data.target)
        temperature = 1 / float(classifier.calibrated_classifiers_[0].calibrators[0].beta_)
        print(f"calibrated on {len(data.target)} faces from {args.calibrate}: temperature {temperature:.3f}")
    path = save_classifier(classifier, args.out)
    print(f"wrote {path}", file=sys.stdout)


def _counts(target):
    import numpy as np

    return np.unique(target, return_counts=True)
