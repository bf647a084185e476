"""search_results_frame: a search over banks, folders and deciders as a tidy table."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, KFold

from clip_fer import (
    PromptBank,
    RankVoteDecider,
    SynonymFolder,
    ZeroShotEmotionClassifier,
    search_results_frame,
    search_scoring,
)

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")


@pytest.fixture
def search(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, synonym_folder=SynonymFolder(), decider=RankVoteDecider()
    ).fit()
    embeddings = clf.embed(face_arrays)
    y = clf.set_params(precomputed=True).fit().predict(embeddings)
    y[::3] = "sad"  # not every label the model's own, so the scores differ from 1
    mine = PromptBank(["a {} face"], {c: [c] for c in clf.classes_}, name="mine")
    grid = {
        "prompt_bank": [PromptBank.openai_fer2013(), mine],
        "synonym_folder__reduce": ["mean", "max"],
    }
    search = GridSearchCV(clone(clf), grid, cv=KFold(3), scoring=search_scoring(), refit="uar")
    return search.fit(embeddings, y), embeddings, y


def test_the_table_reads_by_name_with_uar_beside_accuracy(search):
    search, embeddings, y = search
    table = search_results_frame(search)
    assert list(table.columns) == [
        "prompt_bank",
        "synonym_folder__reduce",
        "accuracy",
        "accuracy_std",
        "uar",
        "uar_std",
        "rank",
    ]
    assert sorted(table.prompt_bank.unique()) == ["mine", "openai"]
    assert table["rank"].tolist() == sorted(table["rank"]) and table["rank"].iloc[0] == 1
    assert "PromptBank(name='openai')" in str(search.cv_results_["param_prompt_bank"])
    # Each row's UAR is balanced accuracy over the folds, recomputed here by hand.
    for _, row in table.iterrows():
        bank = (
            PromptBank.openai_fer2013()
            if row.prompt_bank == "openai"
            else search.param_grid["prompt_bank"][1]
        )
        candidate = clone(search.estimator).set_params(
            prompt_bank=bank, synonym_folder__reduce=row.synonym_folder__reduce
        )
        folds = [
            balanced_accuracy_score(y[test], clone(candidate).fit().predict(embeddings[test]))
            for _, test in KFold(3).split(embeddings)
        ]
        assert row.uar == pytest.approx(np.mean(folds)) and row.uar_std == pytest.approx(np.std(folds))


def test_a_single_score_and_an_unfitted_search(search):
    search, embeddings, y = search
    single = GridSearchCV(search.estimator, {"decider__top_k": np.array([1, 3])}, cv=KFold(3)).fit(
        embeddings, y
    )
    table = search_results_frame(single)
    assert list(table.columns) == ["decider__top_k", "score", "score_std", "rank"]
    assert sorted(table.decider__top_k.map(repr)) == ["1", "3"]  # numbers, not np.int64(1)
    assert table.score.tolist() == sorted(single.cv_results_["mean_test_score"], reverse=True)
    with pytest.raises(ValueError, match="needs a fitted search"):
        search_results_frame(GridSearchCV(search.estimator, {"decider__top_k": [1]}))


def test_the_report_experiment_banks_read_by_name(search):
    """Each drawn bank is named after its key: the table and best_params_ tell them apart."""
    from clip_fer import report_experiment_banks

    search, embeddings, y = search
    banks = report_experiment_banks(sizes=(1, 2), n_draws=2)
    assert [bank.name for bank in banks.values()] == list(banks)
    drawn = GridSearchCV(search.estimator, {"prompt_bank": list(banks.values())}, cv=KFold(3)).fit(
        embeddings, y
    )
    table = search_results_frame(drawn)
    assert sorted(table.prompt_bank) == sorted(banks)
    best = drawn.best_params_["prompt_bank"]
    assert repr(best).startswith(f"PromptBank(name={best.name!r}") and best.name in banks
