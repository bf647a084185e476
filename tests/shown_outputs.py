"""Run a documentation block and check the outputs its comments show.

A line of a block that is a single expression followed by a comment that starts with a
Python value (``array(``, ``[``, ``{``, ``(``, a quote) shows what that expression gives:
``clf.predict([face])  # array(['happy'], dtype=object)``. The value is the comment's
first balanced bracket (or quoted string); text after it (", shape (1, 3)", "and one
warning") is prose. ``...`` in the shown value stands for any text. The expression's
``repr`` must match the shown value, whitespace aside, so a stale comment fails.
"""

import ast
import re

_STARTS_A_VALUE = re.compile(r"(array\(|[A-Za-z_][\w.]*\(|[\[{(]|'|\")")
_OPEN, _CLOSE = "([{", ")]}"


def shown_value(comment):
    """The value a comment shows (its first balanced bracket or string), or None."""
    comment = comment.strip()
    if not _STARTS_A_VALUE.match(comment):
        return None
    depth, quote = 0, None
    for end, char in enumerate(comment):
        if quote:
            if char == quote:
                quote = None
                if depth == 0:
                    return comment[: end + 1]
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth == 0:
                return comment[: end + 1]
    return None


def matches(shown, value):
    """Whether ``repr(value)`` is what ``shown`` shows (``...`` any text, whitespace aside)."""
    flat = re.sub(r"\s+", " ", repr(value))
    pattern = ".*?".join(re.escape(part) for part in re.sub(r"\s+", " ", shown).split("..."))
    return re.fullmatch(pattern, flat, flags=re.S) is not None


def shown_lines(code):
    """``{line number: shown value}`` for the block's one-line expressions with a shown output."""
    lines = code.splitlines()
    shown = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Expr) and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            comment = line[node.end_col_offset :].strip()
            if comment.startswith("#"):
                value = shown_value(comment[1:])
                if value is not None:
                    shown[node.lineno] = value
    return shown


def run_and_check(code, namespace, where):
    """Execute ``code`` in ``namespace`` and check every shown output; returns how many.

    Raises AssertionError naming the line whose output differs from its comment.
    """
    shown = shown_lines(code)
    tree = ast.parse(code)
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.Expr) and node.lineno in shown:
            target = ast.Subscript(
                value=ast.Name("__shown__", ast.Load()), slice=ast.Constant(node.lineno), ctx=ast.Store()
            )
            tree.body[i] = ast.copy_location(ast.Assign(targets=[target], value=node.value), node)
    ast.fix_missing_locations(tree)
    namespace["__shown__"] = {}
    exec(compile(tree, where, "exec"), namespace)
    made = namespace.pop("__shown__")
    lines = code.splitlines()
    for lineno, value in shown.items():
        assert matches(value, made[lineno]), (
            f"{where}, line {lineno}: `{lines[lineno - 1].strip()}` shows {value} but gives {made[lineno]!r}"
        )
    return len(shown)
