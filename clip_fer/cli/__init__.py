"""The ``clip-fer`` command line, one module per command.

``clip-fer --help`` imports neither torch nor the model code: each command imports
what it needs when it runs.
"""

from ._main import build_parser, main
from .predict import expand_paths

__all__ = ["build_parser", "expand_paths", "main"]
