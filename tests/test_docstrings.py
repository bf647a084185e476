"""The public API's docstrings: their examples run, and every parameter is documented."""

import dataclasses
import doctest
import importlib
import inspect

import pytest

import clip_fer

# Modules whose docstring examples run in the default test run. Examples that
# need a real model or photo are marked ``# doctest: +SKIP`` where they stand.
DOCTEST_MODULES = [
    "clip_fer._bank_io",
    "clip_fer._classifier",
    "clip_fer._deciders",
    "clip_fer._folding",
    "clip_fer._prompt_bank",
    "clip_fer._records",
    "clip_fer.datasets",
    "clip_fer.metrics",
    "clip_fer.utils._install",
    "clip_fer.utils._param_validation",
    "clip_fer.faces._cropping",
    "clip_fer.faces._detectors",
    "clip_fer.faces._drawing",
    "clip_fer.experiments._experiment",
    "clip_fer.experiments._reports",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional dependency is missing
        pytest.skip(f"{name} cannot be imported here: {exc}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {name: getattr(clip_fer, name) for name in clip_fer._EXPORTS}
    for test in finder.find(module, globs=dict(vars(module), **globs)):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see stdout)"


def test_the_doctests_are_not_all_skipped():
    # Guards the test above: it must find examples that really run.
    module = importlib.import_module("clip_fer._folding")
    tests = doctest.DocTestFinder().find(module)
    assert sum(len(t.examples) for t in tests) >= 2


def _public_callables():
    for name in sorted(clip_fer._EXPORTS):
        obj = getattr(clip_fer, name)
        if not callable(obj) or (inspect.isclass(obj) and issubclass(obj, BaseException)):
            continue
        yield f"{obj.__module__}.{name}", obj
        if inspect.isclass(obj):
            for attribute, value in vars(obj).items():
                if not attribute.startswith("_") and inspect.isfunction(value):
                    yield f"{obj.__module__}.{name}.{attribute}", getattr(obj, attribute)


def _is_record_type(obj):
    """Dataclasses and named tuples document their fields as Attributes."""
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or hasattr(obj, "_fields"))


PUBLIC = list(_public_callables())


@pytest.mark.parametrize("qualname, obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_every_public_parameter_is_documented(qualname, obj):
    validate = pytest.importorskip("numpydoc.validate").validate
    if _is_record_type(obj):
        from numpydoc.docscrape import ClassDoc

        documented = {p.name.split(":")[0].strip() for p in ClassDoc(obj)["Attributes"]}
        documented = {n.strip() for names in documented for n in names.split(",")}
        fields = getattr(obj, "_fields", None) or [f.name for f in dataclasses.fields(obj)]
        assert set(fields) <= documented, f"{qualname}: fields {set(fields) - documented} not in Attributes"
        return
    errors = [(code, message) for code, message in validate(qualname)["errors"] if code in ("PR01", "PR02")]
    assert not errors, f"{qualname}: {errors}"


def test_the_parameter_test_can_fail():
    validate = pytest.importorskip("numpydoc.validate").validate
    codes = [code for code, _ in validate("tests.test_docstrings._undocumented")["errors"]]
    assert "PR01" in codes


def _undocumented(alpha):
    """A function whose parameter is not documented.

    Returns
    -------
    None
    """
