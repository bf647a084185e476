"""``clip-fer benchmark``: every model x prompt bank x data set, into one table."""

import argparse
import time
from pathlib import Path

from .._options import LAYOUT_NAMES
from ..utils._install import install_hint
from ._common import add_group_size_option, add_model_options, bank_help, build_estimator, run_safely
from ._ray_engine import add_cluster_options, add_engine_option

__all__ = ["add_parser", "benchmark", "parse_data_spec"]

K = 3

_EPILOG = """\
data sets (--data, repeated): [NAME[:LAYOUT][@SPLIT[,SPLIT]]=]PATH
  rafdb=data/RAF-DB              NAME is the row's name; a NAME that is a layout
                                 name reads PATH in that layout
  raf-test:rafdb@test=data/RAF   NAME raf-test, layout rafdb, split test
  fer@public_test=data/fer2013   a NAME that is no layout: the layout is detected
                                 from the files (see --layout of evaluate), else a
                                 FER2013 CSV, class/*.jpg or split/class/*.jpg
  data/fer2013/public_test       no NAME: the folder's name
  layouts: {layouts}
  Each data set is scored over its own classes: a bank's extra classes are
  dropped for it; a class the bank lacks is an error, before any encoding.

outputs (in --out DIR):
  results.csv, results.md   one row per data set x model x bank: dataset, layout,
                            split, model, bank, classes, n (images scored),
                            n_skipped, uar (mean per-class recall), war
                            (accuracy), top3, macro_f1, ece (15 bins), nll
  groups.csv                the same scores per group of the people pictured, for
                            data sets that record groups; small = fewer images
                            than --min-group-size (shown, to be read with care)
  results.png               UAR by data set (needs matplotlib; skipped without)
  cells/                    one JSON file per finished cell: a run started again
                            with the same --out skips the cells already there
  embeddings/               image embeddings (the --cache-dir default; with
                            --engine ray, Parquet shards), so a resumed run does
                            not encode the images of an unfinished model again

example:
  clip-fer benchmark --data fer2013@public_test=data/fer2013 \\
      --model models/my-clip.pt --bank default --bank openai --out results/benchmark
"""


def add_parser(commands):
    """Register ``benchmark`` on the ``clip-fer`` subcommands."""
    import textwrap

    layouts = "\n".join(textwrap.wrap(", ".join(LAYOUT_NAMES), 68, subsequent_indent=" " * 11))
    parser = commands.add_parser(
        "benchmark",
        help="Score every model x prompt bank x data set (UAR, WAR, top-3, macro F1, ECE).",
        description="Score every combination of models, prompt banks and labelled data sets,\n"
        "each image encoded once per model, and write one table. A run started again\n"
        "with the same --out skips the finished combinations.",
        epilog=_EPILOG.replace("{layouts}", layouts),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="[NAME[:LAYOUT][@SPLIT]=]PATH",
        help="A labelled data set (repeat for more); see below.",
    )
    add_model_options(parser, many=True)
    parser.add_argument(
        "--bank",
        action="append",
        metavar="BANK",
        help=f"Prompt bank (repeat for more): {bank_help()}. Default: default.",
    )
    parser.add_argument(
        "--out", metavar="DIR", required=True, help="Folder for the results (created if needed)."
    )
    add_group_size_option(parser)
    parser.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="An unreadable image, or an item a layout's files cannot label (a code outside "
        "its table, a missing image, a face box outside its image): 'raise' stops with its "
        "name (exit 1); 'skip' leaves it out (an image counted in n_skipped, an item in one "
        "warning). Default: raise.",
    )
    group = parser.add_argument_group("scaling out (--engine ray; needs the ray extra)")
    add_engine_option(
        group,
        "Where images are encoded: local, this process; ray, a pool of actors on Ray Data "
        "(a local cluster, or --address), the embeddings written to DIR/embeddings as Parquet "
        "shards. The banks are scored here either way.",
    )
    add_cluster_options(group)
    parser.set_defaults(run=lambda args: run_safely(benchmark, args))


def parse_data_spec(text, layouts=LAYOUT_NAMES):
    """``[NAME[:LAYOUT][@SPLIT[,SPLIT]]=]PATH`` as ``(name, layout, split, path)``.

    A NAME that is one of ``layouts`` is also the layout; another NAME leaves the
    layout to detection (None). Without a NAME, the name is the folder's or file's.
    ``split`` is a list of split names, or None.
    """
    from ..exceptions import InvalidParameterError

    key, equals, path = text.partition("=")
    if not equals:
        key, path = "", text
    if not path:
        raise InvalidParameterError(f"--data {text!r} names no path; write NAME=PATH.")
    key, at, splits = key.partition("@")
    name, colon, layout = key.partition(":")
    split = [s for s in splits.split(",") if s] if at else None
    if (at and not split) or (colon and not layout):
        raise InvalidParameterError(
            f"--data {text!r}: write [NAME[:LAYOUT][@SPLIT[,SPLIT]]=]PATH, e.g. raf:rafdb@test=data/RAF-DB."
        )
    if layout and layout not in layouts:
        raise InvalidParameterError(
            f"--data {text!r}: no layout {layout!r}; the layouts are {', '.join(layouts)}."
        )
    if not layout and name in layouts:
        layout = name
    name = name or Path(path).name or path
    return name, layout or None, split, path


def _load(name, layout, split, path, on_error):
    """One data set, with the layout it was read as."""
    from ..datasets import load_dataset

    data = load_dataset(path, split, layout=layout, on_error=on_error)
    data.setdefault("layout", layout or ("fer2013" if Path(path).is_file() else "folder"))
    return data


def benchmark(args):
    """Run the command for parsed ``args``; raises on failure."""
    from .._bank_io import load_prompt_bank
    from ..exceptions import InvalidParameterError
    from ..experiments._benchmark import run_benchmark
    from ..experiments._reports import has_matplotlib, markdown_table, require

    require("pandas", "clip-fer benchmark")
    require("tabulate", "clip-fer benchmark")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # fail before the long part
    start = time.perf_counter()
    specs = [parse_data_spec(text, LAYOUT_NAMES) for text in args.data]
    names = [spec[0] for spec in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidParameterError(
            f"--data names {twice} more than once; give each data set its own NAME (NAME=PATH)."
        )
    datasets = {spec[0]: _load(*spec, args.on_error) for spec in specs}
    banks = {source: load_prompt_bank(source) for source in dict.fromkeys(args.bank or ["default"])}
    models = list(dict.fromkeys(args.model or ["ViT-B/32"]))
    if args.cache_dir is None and args.engine == "local":
        args.cache_dir = str(out / "embeddings")
    n_images = max(len(data.target) for data in datasets.values())
    first = argparse.Namespace(**{**vars(args), "model": models[0]})  # run_benchmark sets each
    estimator = build_estimator(first, n_images=n_images).set_params(on_error=args.on_error)
    plots = has_matplotlib()
    options = dict(estimator=estimator, k=K, min_group_size=args.min_group_size, plots=plots)
    if args.engine == "ray":
        from ._ray_engine import embed_on_ray, ray_session

        with ray_session(args.address):
            result = run_benchmark(
                datasets, models, banks, out, embed=embed_on_ray(args, out / "embeddings"), **options
            )
    else:
        result = run_benchmark(datasets, models, banks, out, **options)

    print(
        f"clip-fer benchmark: {len(datasets)} data sets x {len(models)} models x {len(banks)} banks; "
        f"{len(result.computed)} scored now, {len(result.reused)} read back from {out / 'cells'}\n"
    )
    print(markdown_table(result.table.drop(columns=["nll"])))
    if len(result.groups):
        small = result.groups[result.groups["small"]]
        print(
            f"\nper group: {len(result.groups)} rows in groups.csv"
            + (
                f"; {len(small)} groups have fewer than {args.min_group_size} images (flagged small)"
                if len(small)
                else ""
            )
        )
    print(f"\nwrote {', '.join(p.name for p in result.paths)} to {out}")
    if not plots:
        print(f"note: matplotlib is not installed, so results.png was skipped ({install_hint('report')})")
    print(f"done in {time.perf_counter() - start:.1f} s")
