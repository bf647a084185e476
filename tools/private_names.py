"""Count the private names that one part of clip_fer uses from another.

A part is the top-level package (``clip_fer/*.py``) or one subpackage
(``clip_fer/video``, ``clip_fer/cli``, ...). A use is counted when a module

- imports a name starting with one underscore from a module of another part
  (``from ..faces._cropping import _clip_faces``), or
- reads an attribute starting with one underscore, that clip_fer defines, on
  anything but ``self``, ``cls`` or a module of its own part
  (``estimator._loaded_model()``): it reaches into another object's privacy.

Private names of other libraries (torch's, open_clip's) are not counted.

Private *modules* (``clip_fer/backends/_images.py``) are fine to import from;
their public names are the part's interface, as in scikit-learn.

Usage (from the repository root)::

    python tools/private_names.py          # list every use and print the count
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "clip_fer"


def _part(module):
    """'' for the top-level package, else the subpackage's name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else ""


def _module_name(path):
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] + ["__init__"]
    return ".".join(parts)


def _resolve(module, node):
    """The absolute module an ``ImportFrom`` node reads from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def _defined(package):
    """The private names clip_fer itself defines (functions, classes, attributes)."""
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if _private(name)}


def _is_module(dotted):
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def uses(package=PACKAGE):
    """Every ``(module, line, what)`` use of another part's private name."""
    found = []
    defined = _defined(package)
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path)
        own = _part(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, node)
                for alias in node.names:
                    target = f"{source}.{alias.name}"
                    if source.startswith("clip_fer") and _part(target + ".x") == own:
                        local_modules.add(alias.asname or alias.name)
                    if not source.startswith("clip_fer") or not _private(alias.name) or _is_module(target):
                        continue
                    if _part(source + ".x") != own:
                        found.append((module, node.lineno, f"from {source} import {alias.name}"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in defined:
                value = node.value
                if isinstance(value, ast.Name) and (value.id in ("self", "cls") or value.id in local_modules):
                    continue
                if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super":
                    continue
                found.append((module, node.lineno, f"{ast.unparse(node)}"))
    return found


def main():
    found = uses()
    for module, line, what in found:
        print(f"{module}:{line}: {what}")
    print(f"{len(found)} uses of another part's private names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
