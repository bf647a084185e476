"""A fitted search over banks, folders and deciders, as a tidy table."""

__all__ = ["search_results_frame", "search_scoring"]

#: The scorers :func:`search_scoring` gives: scikit-learn's names, kept as they are.
_SCORERS = {"accuracy": "accuracy", "uar": "balanced_accuracy"}


def search_scoring():
    """The ``scoring=`` that makes a search report accuracy and UAR side by side.

    Returns
    -------
    scoring : dict
        ``{"accuracy": "accuracy", "uar": "balanced_accuracy"}``: scikit-learn's
        scorers; UAR (unweighted average recall) is scikit-learn's balanced
        accuracy. Pass ``refit="uar"`` (or ``"accuracy"``) with it.

    Examples
    --------
    >>> from clip_fer import search_scoring
    >>> search_scoring()
    {'accuracy': 'accuracy', 'uar': 'balanced_accuracy'}
    """
    return dict(_SCORERS)


def _shown(value):
    """A parameter value as a table cell: a bank or component by its name or repr."""
    import numpy as np

    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, np.generic):  # np.int64(3) from a grid of numpy values: 3
        value = value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _cells(column):
    """A ``param_`` column of ``cv_results_`` (a masked array) as cells; None where a
    candidate did not set the parameter."""
    import numpy as np

    data, missing = np.ma.getdata(column), np.ma.getmaskarray(column)
    return [None if gone else _shown(value) for value, gone in zip(data, missing)]


def search_results_frame(search):
    """One row per candidate of a fitted search, best first, with readable parameters.

    Parameters
    ----------
    search : fitted GridSearchCV or RandomizedSearchCV
        Any scikit-learn search; with ``scoring=search_scoring()`` (or any dict
        with ``"accuracy"`` and ``"uar"``) the table has both side by side.

    Returns
    -------
    table : pandas.DataFrame
        One column per searched parameter (``prompt_bank``,
        ``synonym_folder__reduce``, ...; a bank shown by its ``name``, another
        object by its ``repr``), then for each score its mean and standard
        deviation over the folds (``accuracy``, ``accuracy_std``, ``uar``,
        ``uar_std``; a single unnamed score is ``score``), and ``rank`` (by the
        refit score, 1 is best). Sorted by ``rank``.

    Raises
    ------
    ValueError
        When ``search`` has not been fitted.

    Examples
    --------
    >>> search = GridSearchCV(clf, {"prompt_bank": [PromptBank.openai_fer2013(), PromptBank()]},
    ...                       scoring=search_scoring(), refit="uar").fit(X, y)  # doctest: +SKIP
    >>> search_results_frame(search)  # doctest: +SKIP
      prompt_bank  accuracy  accuracy_std    uar  uar_std  rank
    0      openai     0.412         0.021  0.388    0.019     1
    """
    from ..experiments._reports import require

    pd = require("pandas", "search_results_frame")
    results = getattr(search, "cv_results_", None)
    if results is None:
        raise ValueError(
            f"search_results_frame needs a fitted search; {type(search).__name__} has no "
            "cv_results_. Call its fit(X, y) first."
        )
    names = [key.removeprefix("mean_test_") for key in results if key.startswith("mean_test_")]
    refit = getattr(search, "refit", True)
    ranked_by = refit if isinstance(refit, str) and refit in names else names[0]
    table = pd.DataFrame(
        {key.removeprefix("param_"): _cells(results[key]) for key in results if key.startswith("param_")}
    )
    for name in names:
        column = "score" if name == "score" else name
        table[column] = results[f"mean_test_{name}"]
        table[f"{column}_std"] = results[f"std_test_{name}"]
    table["rank"] = results[f"rank_test_{ranked_by}"]
    return table.sort_values("rank", kind="stable").reset_index(drop=True)
