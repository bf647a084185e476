"""The ``clip-fer`` entry point: a parser with one subcommand per module."""

import os
import select
import sys

from . import adapt, benchmark, evaluate, experiment, predict, video

__all__ = ["build_parser", "main"]

_COMMANDS = (predict, evaluate, experiment, benchmark, video, adapt)


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
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage, 130 Ctrl-C,
    141 stdout closed early, as by ``| head``)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        print(f"clip-fer: interrupted ({args.command}).", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        return 141  # what a shell reports for a command killed by SIGPIPE; nothing to say


def _stdout_closed():
    """Whether stdout's reader has gone; if so, point stdout at devnull so that
    Python's flush at exit does not print a second error."""
    try:
        fd = sys.stdout.fileno()
        if hasattr(select, "poll"):  # a pipe with no reader polls as an error
            poll = select.poll()
            poll.register(fd, select.POLLOUT)
            if not any(event & (select.POLLERR | select.POLLHUP) for _, event in poll.poll(0)):
                return False
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to redirect
        pass
    return True
