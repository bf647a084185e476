"""open_clip models (LAION, DataComp, EVA, SigLIP in open_clip, ...).

Names: ``"open_clip:ARCH/PRETRAINED"``, where everything after the first ``/`` is
a pretrained tag (``"open_clip:ViT-L-14/laion2b_s32b_b82k"``) or the path of a
local weights file (``"open_clip:ViT-B-32//models/vitb32.safetensors"``); or
open_clip's own schema names ``"open_clip:hf-hub:ORG/REPO"`` and
``"open_clip:local-dir:/path/to/folder"``. Needs ``pip install "clip-fer[open-clip]"``.
"""

import os

import torch

from ..exceptions import MissingDependencyError, ModelLoadError
from ._base import ImageTower, LoadedModel, check_sentence_lengths, describe
from ._device import place
from ._identity import file_part, tree_part
from ._offline import hub_offline

__all__ = ["OpenClipModel", "identify", "load", "parse"]

_SCHEMAS = ("hf-hub:", "local-dir:")


def import_open_clip():
    try:
        import open_clip
    except ImportError as exc:
        raise MissingDependencyError(
            f"'open_clip:' models need the open_clip_torch package ({exc}). Install it "
            'with `pip install "clip-fer[open-clip]"`.'
        ) from exc
    return open_clip


class OpenClipModel(LoadedModel):
    """An open_clip model with its own tokenizer, context length and transform."""

    family = "open_clip"
    # A ResNet tower's attention pooling reads its projections' weights directly.
    image_tower = ImageTower(("visual",), keep=("attnpool.",))

    def __init__(self, model, preprocess, tokenizer, device, precision, *, weights_identity=None):
        self.tokenizer = tokenizer
        bias = getattr(model, "logit_bias", None)
        context = getattr(tokenizer, "context_length", None) or model.context_length
        super().__init__(
            model,
            preprocess,
            device,
            precision,
            weights_identity=weights_identity,
            embed_dim=0,
            context_length=context,
            logit_scale=model.logit_scale.detach().float().exp().item(),
            logit_bias=0.0 if bias is None else bias.detach().float().item(),
        )
        with torch.inference_mode():
            self.embed_dim = int(self.encode_text(["a face"]).shape[-1])

    def encode_image(self, pixels):
        return self.model.encode_image(self.to_device(pixels))

    def encode_text(self, sentences):
        tokens = self.tokenizer(sentences, context_length=self.context_length)
        # A sentence fits when its first tokens are the same at a longer context;
        # the tokenizer would otherwise truncate it silently.
        longer = self.tokenizer(sentences, context_length=4 * self.context_length)
        check_sentence_lengths(
            sentences, (tokens != longer[:, : self.context_length]).any(dim=1).tolist(), self.context_length
        )
        return self.model.encode_text(tokens.to(self.device))


def parse(spec):
    """``"ARCH/PRETRAINED"`` -> ``(arch, pretrained)``; schema names -> ``(spec, None)``."""
    if spec.startswith(_SCHEMAS):
        return spec, None
    arch, _, pretrained = spec.partition("/")
    return arch, pretrained


def identify(spec, download_root=None):
    """The architecture's config as open_clip holds it now (an edited and re-registered
    config is another model) with the weights file's bytes, a ``local-dir:`` folder's
    files, or else the name (a pretrained tag or a Hub name)."""
    arch, pretrained = parse(spec)
    if arch.startswith("local-dir:") and os.path.isdir(arch[len("local-dir:") :]):
        return ["open_clip", tree_part(arch[len("local-dir:") :])]
    if arch.startswith(_SCHEMAS):
        return ["open_clip", "name", spec]
    config = import_open_clip().get_model_config(arch)
    if pretrained and os.path.isfile(pretrained):
        return ["open_clip", arch, config, file_part(pretrained)]
    return ["open_clip", arch, config, "name", pretrained]


def _check_name(open_clip, name, arch, pretrained):
    if arch.startswith(_SCHEMAS):
        return
    if arch not in open_clip.list_models():
        raise ModelLoadError(
            f"The model {name!r} names the open_clip architecture {arch!r}, which open_clip "
            "does not know (see open_clip.list_models(); a custom config can be added with "
            "open_clip.add_model_config)."
        )
    if not pretrained:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise ModelLoadError(
            f"The model {name!r} names no weights. Use 'open_clip:{arch}/TAG' with a "
            f"pretrained tag ({', '.join(tags) or 'none known'}) or "
            f"'open_clip:{arch}//path/to/weights.safetensors'."
        )
    if os.path.isfile(pretrained):
        return
    if os.sep in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors")):
        raise ModelLoadError(
            f"The model {name!r} names the weights file {pretrained!r}, which does not exist."
        )
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if pretrained not in tags:
        raise ModelLoadError(
            f"The model {name!r} names the pretrained tag {pretrained!r}, which open_clip "
            f"does not have for {arch}; its tags are: {', '.join(tags) or 'none'}. A local "
            f"weights file is passed as 'open_clip:{arch}//path/to/weights.safetensors'."
        )


def load(spec, device, precision, download_root):
    """Load ``"ARCH/PRETRAINED"`` (or a schema name) as an :class:`OpenClipModel`."""
    open_clip = import_open_clip()
    name = f"open_clip:{spec}"
    arch, pretrained = parse(spec)
    _check_name(open_clip, name, arch, pretrained)
    local = bool(pretrained) and os.path.isfile(pretrained)
    try:
        with hub_offline(needed=not local and not arch.startswith("local-dir:")):
            if pretrained and not local:  # the weights first: no download, no model built
                open_clip.download_pretrained(
                    open_clip.get_pretrained_cfg(arch, pretrained), cache_dir=download_root
                )
            model, _, preprocess = open_clip.create_model_and_transforms(
                arch, pretrained=pretrained or None, device="cpu", cache_dir=download_root
            )
            tokenizer = open_clip.get_tokenizer(arch, cache_dir=download_root)
    except Exception as exc:
        if local:
            raise ModelLoadError(
                f"The weights file {pretrained!r} could not be loaded into open_clip's {arch} "
                f"({describe(exc)}). It must be a state dict of that architecture "
                "(.pt, .bin or .safetensors)."
            ) from exc
        if arch.startswith(_SCHEMAS):
            hint = (
                "download its folder (open_clip_config.json and the weights) where there "
                "is one and pass 'open_clip:local-dir:/path/to/folder'"
            )
        else:
            hint = (
                f"download the weights where there is one and pass their path: "
                f"'open_clip:{arch}//path/to/weights.safetensors'"
            )
        raise ModelLoadError(
            f"The open_clip model {name!r} could not be loaded ({describe(exc)}). "
            f"If it needs a download and this machine has no network, {hint}."
        ) from exc
    model = place(model, device, precision)
    return OpenClipModel(model.eval(), preprocess, tokenizer, device, precision)
