"""Files from elsewhere run no code: prompt banks and checkpoints."""

import json
import os
import pickle

import pytest
import torch
from conftest import Payload

from clip_fer import ZeroShotEmotionClassifier, load_prompt_bank
from clip_fer.exceptions import ModelLoadError, PromptBankError


def test_checkpoint_with_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"visual.proj": Payload(marker)}, path)
    with pytest.raises(ModelLoadError, match="evil.pt' could not be loaded as a CLIP model"):
        ZeroShotEmotionClassifier(model=str(path)).fit()
    assert not marker.exists()


def test_report_pt_with_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "3 templates 3 labels 1.pt"
    with open(path, "wb") as f:
        pickle.dump({"emotions": Payload(marker)}, f, protocol=2)
    with pytest.raises(
        PromptBankError, match=r"could not be read as a plain dictionary with torch.load\(weights_only=True\)"
    ):
        load_prompt_bank(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (
            {"templates": ["a {} face"], "synonyms": {"happy": ["glad"]}, "code": "rm -rf"},
            r"unknown keys \['code'\]",
        ),
        ({"templates": "a {} face", "synonyms": {"happy": ["glad"]}}, "'templates' must be a list of str"),
        ({"templates": ["a {} face"], "synonyms": {"happy": "glad"}}, "must be a list of words"),
        ({"templates": ["a {} face"], "synonyms": {"happy": [1]}}, "every word must be a non-empty str"),
        ({"emotions": {"templates": ["a {} face"]}}, "lacks the key 'labels'"),
    ],
)
def test_json_banks_are_schema_checked(tmp_path, content, message):
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(content))
    with pytest.raises(PromptBankError, match=message):
        load_prompt_bank(path)


def test_fitted_estimator_pickle_holds_no_tensors(toy_checkpoint):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    found = []

    class Spy(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, (torch.Tensor, torch.nn.Module)):
                found.append(type(obj).__name__)
            return NotImplemented

    import io

    Spy(io.BytesIO()).dump(clf)
    assert found == []
    assert os.path.getsize(toy_checkpoint) > 50 * len(pickle.dumps(clf))
