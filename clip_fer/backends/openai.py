"""OpenAI's CLIP (the ``clip`` package): released names and local checkpoints.

Names: ``"ViT-B/32"`` (any of ``clip.available_models()``), ``"openai:ViT-B/32"``,
or the path of a checkpoint file (a JIT archive or a state dict).
"""

import os
import urllib.error
import warnings

import torch

from ..exceptions import ModelLoadError
from ._base import ImageTower, LoadedModel, check_sentence_lengths
from ._clip_files import load_checkpoint, release_names, release_urls, token_count, tokenize
from ._device import place
from ._identity import file_part
from ._offline import require_host

__all__ = ["OpenAIModel", "identify", "import_clip", "load"]


def import_clip():
    """Import OpenAI's ``clip`` module (PyPI: clip-anytorch), quietly."""
    with warnings.catch_warnings():
        # clip imports pkg_resources, deprecated by setuptools; we pin setuptools<81.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        try:
            import clip
        except ImportError as exc:
            raise ModelLoadError(
                f"The 'clip' package cannot be imported ({exc}). Install it with "
                '`pip install clip-anytorch "setuptools<81"`.'
            ) from exc
    return clip


def _is_size_mismatch(exc):
    return (
        isinstance(exc, RuntimeError)
        and not isinstance(exc, torch.OutOfMemoryError)
        and ("must match the size" in str(exc) or "size mismatch" in str(exc))
    )


def accepts_short_context(model, device):
    """Whether ``model.encode_text`` takes fewer positions than its context.

    clip-anytorch's ``CLIP`` slices its positional embedding and causal mask to
    the input's length; the code of OpenAI's git package adds all 77 positions
    and fails on a shape mismatch. Decided once per model, on a 2-token probe.
    """
    probe = torch.zeros(1, 2, dtype=torch.long, device=device)
    try:
        with torch.inference_mode():
            model.encode_text(probe)
    except RuntimeError as exc:
        if not _is_size_mismatch(exc):
            raise
        return False
    return True


def _encode_tokens(model, tokens, cut=True):
    """``model.encode_text`` on tokens cut after the longest sentence's end token.

    Under CLIP's causal mask, positions after the end token never reach it, so the
    cut changes nothing but the cost (77 positions -> about 10 for FER prompts).
    With ``cut=False`` (code that needs all positions, see
    :func:`accepts_short_context`) the tokens are passed whole.
    """
    if cut:
        length = int(tokens.argmax(dim=-1).max()) + 1  # the end token has the largest id
        tokens = tokens[:, :length]
    return model.encode_text(tokens)


def _quiet_clip_load(clip, name, device, download_root):
    # clip.load first tries torch.jit.load, which torch >= 2.10 flags as deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return clip.load(name, device=device, jit=False, download_root=download_root)


class OpenAIModel(LoadedModel):
    """An OpenAI CLIP: ``clip.tokenize`` (77 tokens), its own preprocessing."""

    family = "openai"
    # A ResNet tower's attention pooling reads its projections' weights directly.
    image_tower = ImageTower(("visual",), keep=("attnpool.",), sequence_first=True)

    def __init__(self, model, preprocess, device, precision, *, weights_identity=None):
        super().__init__(
            model,
            preprocess,
            device,
            precision,
            weights_identity=weights_identity,
            embed_dim=model.text_projection.shape[1],
            context_length=model.context_length,
            logit_scale=model.logit_scale.detach().float().exp().item(),
        )
        self._cut = accepts_short_context(model, device)

    def encode_image(self, pixels):
        return self.model.encode_image(self.to_device(pixels))

    def encode_text(self, sentences):
        try:
            tokens = tokenize(sentences, self.context_length)
        except RuntimeError:  # clip.tokenize's way of saying "too long"
            lengths = [token_count(s) for s in sentences]
            check_sentence_lengths(sentences, [n > self.context_length for n in lengths], self.context_length)
            raise
        return _encode_tokens(self.model, tokens.to(self.device), self._cut)


def identify(name, download_root=None):
    """A checkpoint file by its bytes; a released name by its name (``clip.load``
    checks the file it downloads against the SHA-256 that ``clip`` lists for it)."""
    if os.path.isfile(name):
        return ["openai", file_part(name)]
    return ["openai", "name", name]  # a released name, or load() says it is neither


def load(name, device, precision, download_root):
    """Load an OpenAI CLIP name or checkpoint file as an :class:`OpenAIModel`.

    A checkpoint file is read without importing the ``clip`` package (see
    ``_clip_files``); a name imports it to download.
    """
    try:
        names = release_names()
    except ImportError:
        import_clip()  # raises the install hint
        raise
    if name in names:
        clip = import_clip()
        try:
            url = release_urls()[name]
            root = download_root or os.path.expanduser("~/.cache/clip")
            if not os.path.isfile(os.path.join(root, os.path.basename(url))):
                require_host(url)  # fails in seconds, not at urllib's pace
            model, preprocess = _quiet_clip_load(clip, name, device, download_root)
        except (urllib.error.URLError, OSError) as exc:
            target = name.replace("/", "-")
            raise ModelLoadError(
                f"The CLIP model {name!r} could not be downloaded ({exc}). Without "
                "network access, copy the checkpoint file here and pass its path, "
                f"e.g. ZeroShotEmotionClassifier(model='/path/to/{target}.pt'), or "
                f"place it as ~/.cache/clip/{target}.pt."
            ) from exc
    elif os.path.isfile(name):
        try:
            model, preprocess = load_checkpoint(name, device)
        except Exception as exc:
            raise ModelLoadError(
                f"The checkpoint {name!r} could not be loaded as a CLIP model "
                f"({type(exc).__name__}: {exc}). It must be an OpenAI CLIP JIT "
                "archive or a state dict saved with torch.save(model.state_dict())."
            ) from exc
    else:
        raise ModelLoadError(
            f"The model {name!r} is neither a CLIP model name "
            f"({', '.join(names)}) nor an existing checkpoint file. "
            "Other families: 'open_clip:ARCH/PRETRAINED' or 'hf_clip:NAME_OR_DIR'."
        )
    model = place(model, device, precision)
    return OpenAIModel(model.eval(), preprocess, device, precision)
