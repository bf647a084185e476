"""The ``clip-fer`` entry point: a parser with one subcommand per module."""

import sys

from . import evaluate, experiment, predict, video

__all__ = ["build_parser", "main"]

_COMMANDS = (predict, evaluate, experiment, video)


def build_parser():
    """The ``clip-fer`` argument parser, every subcommand registered."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="clip-fer", description="Zero-shot facial emotion recognition with CLIP."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage, 130 Ctrl-C)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        print(f"clip-fer: interrupted ({args.command}).", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
