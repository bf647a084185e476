"""No part of clip_fer uses another part's private names (issue 18).

A part is the top-level package or one subpackage; ``tools/private_names.py``
says what counts. On the main branch before issue 18 it found 14 uses (video
calling three private estimator methods, Ray reading ``_loaded_model`` and
``_fitted_component``, the CLI importing ``_classes`` and ``_to_parquet``, ...).
"""

import importlib.util
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("private_names", ROOT / "tools" / "private_names.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_part_uses_another_parts_private_names():
    found = _tool().uses()
    assert found == [], "\n".join(f"{m}:{line}: {what}" for m, line, what in found)


def test_the_counter_finds_each_kind_of_use(tmp_path):
    # A package of two parts, with one use of each kind the counter looks for.
    tool = _tool()
    package = tmp_path / "clip_fer"
    (package / "video").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_core.py").write_text(
        textwrap.dedent(
            """
            class Model:
                def _private(self):
                    return self._private_too()

            def _helper():
                return 1
            """
        )
    )
    (package / "video" / "__init__.py").write_text("")
    (package / "video" / "_use.py").write_text(
        textwrap.dedent(
            """
            from .._core import Model, _helper
            from . import _local

            def run(model):
                return model._private(), _helper(), _local.x, model.public
            """
        )
    )
    (package / "video" / "_local.py").write_text("x = 1\n_y = 2\n")
    tool.ROOT = tmp_path
    found = tool.uses(package)
    assert [what for _, _, what in found] == ["from clip_fer._core import _helper", "model._private"]
