"""The backend seam: name parsing, the OpenAI family behind it, learned logit scale,
and the text encoder's short-context cut decided once instead of retried."""

import numpy as np
import pytest
import torch
from conftest import build_toy_clip

from clip_fer import MeanProbaDecider, ZeroShotEmotionClassifier, load_model
from clip_fer.backends._loading import parse_model_name
from clip_fer.backends.openai import _encode_tokens, accepts_short_context, import_clip
from clip_fer.exceptions import InvalidParameterError


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ViT-B/32", ("openai", "ViT-B/32")),
        ("openai:ViT-B/32", ("openai", "ViT-B/32")),
        ("/models/ViT-B-32.pt", ("openai", "/models/ViT-B-32.pt")),
        ("C:/models/x.pt", ("openai", "C:/models/x.pt")),
        ("open_clip:ViT-L-14/laion2b_s32b_b82k", ("open_clip", "ViT-L-14/laion2b_s32b_b82k")),
        (
            "open_clip:ViT-B-32//models/vitb32.safetensors",
            ("open_clip", "ViT-B-32//models/vitb32.safetensors"),
        ),
        ("open_clip:hf-hub:timm/ViT-B-16-SigLIP", ("open_clip", "hf-hub:timm/ViT-B-16-SigLIP")),
        ("hf_clip:google/siglip-base-patch16-224", ("hf_clip", "google/siglip-base-patch16-224")),
    ],
)
def test_names_pick_their_family(name, expected):
    assert parse_model_name(name) == expected


def test_openai_prefix_is_the_same_model(toy_checkpoint):
    plain = load_model(toy_checkpoint)
    assert load_model(f"openai:{toy_checkpoint}") is plain
    assert plain.family == "openai" and plain.context_length == 77


def test_logit_scale_model_is_the_checkpoints_learned_scale(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=MeanProbaDecider()).fit()
    learned = build_toy_clip().logit_scale.exp().item()  # 1/0.07, CLIP's initial value
    assert clf.logit_scale == "model" and clf.logit_scale_ == pytest.approx(learned) and clf.logit_bias_ == 0
    fixed = ZeroShotEmotionClassifier(
        model=toy_checkpoint, decider=MeanProbaDecider(), logit_scale=learned
    ).fit()
    np.testing.assert_allclose(clf.predict_proba(face_arrays), fixed.predict_proba(face_arrays), rtol=1e-6)
    hundred = ZeroShotEmotionClassifier(model=toy_checkpoint, logit_scale=100.0).fit()
    assert (hundred.logit_scale_, hundred.logit_bias_) == (100.0, 0.0)
    with pytest.raises(
        InvalidParameterError,
        match="'logit_scale' parameter of ZeroShotEmotionClassifier must be a float in \\(0, 10000\\]. Got 'learned' instead; 'model' .* is also accepted",
    ):
        ZeroShotEmotionClassifier(model=toy_checkpoint, logit_scale="learned").fit()


class _FullContextOnly(torch.nn.Module):
    """A text tower that, like OpenAI's git package, adds all 77 positions."""

    def __init__(self, clip_model, error=None):
        super().__init__()
        self.clip_model, self.error, self.lengths = clip_model, error, []

    def encode_text(self, tokens):
        self.lengths.append(tokens.shape[1])
        if self.error is not None:
            raise self.error
        if tokens.shape[1] != 77:
            raise RuntimeError(
                f"The size of tensor a ({tokens.shape[1]}) must match the size of tensor b (77)"
            )
        return self.clip_model.encode_text(tokens)


def test_short_context_is_used_only_where_the_model_takes_it():
    clip = import_clip()
    model = build_toy_clip()
    tokens = clip.tokenize(["a happy face", "this is a sad looking person"])
    assert accepts_short_context(model, torch.device("cpu"))
    full_only = _FullContextOnly(model)
    assert not accepts_short_context(full_only, torch.device("cpu"))
    with torch.inference_mode():
        expected = model.encode_text(tokens)
        torch.testing.assert_close(_encode_tokens(model, tokens), expected, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(_encode_tokens(full_only, tokens, cut=False), expected)
    assert full_only.lengths[-1] == 77


@pytest.mark.parametrize(
    "error", [torch.OutOfMemoryError("CUDA out of memory"), RuntimeError("expected scalar type Half")]
)
def test_other_runtime_errors_are_not_swallowed(error):
    # The text encoder used to retry on any RuntimeError, CUDA OOM included.
    with pytest.raises(type(error), match=str(error)):
        accepts_short_context(_FullContextOnly(build_toy_clip(), error), torch.device("cpu"))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["self", "cross", "padding"])
def test_linear_attention_equals_multihead_attention_in_every_layout(batch_first, kind):
    from clip_fer.backends._quantize import LinearAttention

    torch.manual_seed(1)
    attention = torch.nn.MultiheadAttention(32, 4, batch_first=batch_first).eval()
    tokens = torch.randn(3, 7, 32) if batch_first else torch.randn(7, 3, 32)
    # SigLIP's pooling head: one learned probe attending to every token.
    query = (torch.randn(3, 1, 32) if batch_first else torch.randn(1, 3, 32)) if kind == "cross" else tokens
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[0, 5:] = True
    kwargs = {"key_padding_mask": padding} if kind == "padding" else {}
    expected = attention(query, tokens, tokens, need_weights=False, **kwargs)[0]
    got = LinearAttention(attention)(query, tokens, tokens, need_weights=False, **kwargs)[0]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
