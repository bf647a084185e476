"""The checker that compares a documentation block's shown outputs with what it gives."""

import numpy as np
import pytest
from shown_outputs import matches, run_and_check, shown_lines, shown_value


@pytest.mark.parametrize(
    ("comment", "value"),
    [
        ("array(['happy'], dtype=object)", "array(['happy'], dtype=object)"),
        ("array([['a', 'b']], dtype=object), shape (1, 2)", "array([['a', 'b']], dtype=object)"),
        ('[(1, "it\'s gone (really)")] and a warning', '[(1, "it\'s gone (really)")]'),
        ("{'a': ..., 'b': 2}", "{'a': ..., 'b': 2}"),
        ("shape (1, 7), columns in order", None),
        ("one row per face", None),
    ],
)
def test_the_shown_value_is_the_first_balanced_bracket(comment, value):
    assert shown_value(comment) == value


def test_a_wrong_comment_fails_and_a_right_one_passes():
    good = (
        "import numpy as np\nx = np.array(['a', None], dtype=object)\nx  # array(['a', None], dtype=object)\n"
    )
    assert run_and_check(good, {}, "good") == 1
    stale = good.replace("# array(['a'", "# array(['b'")
    with pytest.raises(
        AssertionError, match=r"stale, line 3: .* shows array\(\['b', None\].* gives array\(\['a'"
    ):
        run_and_check(stale, {}, "stale")


def test_dots_stand_for_any_text_and_prose_lines_are_not_checked():
    assert matches("{'decider': ..., 'k': 3}", {"decider": object(), "k": 3})
    assert not matches("{'decider': ..., 'k': 3}", {"decider": object(), "k": 1})
    assert matches("array([1, 2])", np.array([1, 2]))
    code = "y = 1  # [1]\nprint(y)  # raw\nf(\n  1)  # [2]\ny  # 1 row\n"
    assert shown_lines(code) == {}
