"""Hugging Face ``transformers`` models: CLIPModel, SiglipModel, Siglip2Model, and
any model with ``get_image_features`` and ``get_text_features``.

Names: ``"hf_clip:NAME_OR_DIR"``, a Hub model id (``"hf_clip:google/siglip-base-patch16-224"``)
or a local folder written by ``save_pretrained`` of the model, its tokenizer and
its image processor. Needs ``pip install "clip-fer[hf]"``.

Each model keeps its own numerics: its tokenizer, its text context length, its
image processor, its learned logit scale and bias. SigLIP's text tower reads the
last position, and was trained on sentences padded to the full length with no
attention mask (the pad token doubles as the end token), so SigLIP-family
sentences are padded to ``max_length`` and passed as ``input_ids`` alone; the
other models get padding to the longest sentence and an attention mask.
"""

import os

import torch

from ..exceptions import MissingDependencyError, ModelLoadError
from ._base import ImageTower, LoadedModel, check_sentence_lengths, describe
from ._device import place
from ._identity import tree_part
from ._offline import hub_offline

__all__ = ["HFModel", "identify", "load"]

# Model types whose text tower pools the last position, padded to max_length as trained.
_LAST_POSITION = ("siglip", "siglip2")
# The model's children that make up its image tower (vision_model, visual_projection).
_IMAGE_TOWER = ("vision", "visual")
# A model with no learned scale gets CLIP's.
_DEFAULT_SCALE = 100.0


def import_transformers():
    try:
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            f"'hf_clip:' models need the transformers package ({exc}). Install it with "
            '`pip install "clip-fer[hf]"`.'
        ) from exc
    return transformers


def _features(output):
    """``get_*_features`` return a tensor (transformers 4) or a pooled output (5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ProcessorTransform:
    """PIL image -> the model's own processed pixels (a dict when the processor
    returns more than ``pixel_values``, e.g. Siglip2's masks and shapes)."""

    def __init__(self, image_processor):
        self.image_processor = image_processor

    def __call__(self, image):
        out = self.image_processor(images=image, return_tensors="pt")
        if set(out.keys()) == {"pixel_values"}:
            return out["pixel_values"][0]
        return {name: value[0] for name, value in out.items()}


class HFModel(LoadedModel):
    """A ``transformers`` model with its own tokenizer and image processor."""

    family = "hf_clip"

    def __init__(self, model, image_processor, tokenizer, device, precision, *, weights_identity=None):
        config = model.config
        text_config = getattr(config, "text_config", config)
        context = getattr(text_config, "max_position_embeddings", None) or tokenizer.model_max_length
        self.tokenizer = tokenizer
        self.pad_to_max_length = config.model_type in _LAST_POSITION
        scale, bias = getattr(model, "logit_scale", None), getattr(model, "logit_bias", None)
        super().__init__(
            model,
            ProcessorTransform(image_processor),
            device,
            precision,
            weights_identity=weights_identity,
            embed_dim=0,
            context_length=context,
            logit_scale=_DEFAULT_SCALE if scale is None else scale.detach().float().exp().item(),
            logit_bias=0.0 if bias is None else bias.detach().float().item(),
        )
        with torch.inference_mode():
            self.embed_dim = int(self.encode_text(["a face"]).shape[-1])

    @property
    def image_tower(self):
        """The children named ``vision*`` and ``visual*``; Siglip2's patch embedding,
        whose ``weight.dtype`` its caller reads, keeps its layer."""
        names = tuple(name for name, _ in self.model.named_children() if name.startswith(_IMAGE_TOWER))
        return ImageTower(names, keep=("patch_embedding",))

    def describe_processing(self):
        """The config and the tokenizer's vocabulary (the image processor's settings
        are in the preprocessing's fingerprint)."""
        tokenizer = self.tokenizer
        backend = getattr(tokenizer, "backend_tokenizer", None)
        vocabulary = backend.to_str() if backend is not None else sorted(tokenizer.get_vocab().items())
        return [
            self.model.config.to_json_string(),
            type(tokenizer).__qualname__,
            vocabulary,
            self.context_length,
        ]

    def tokenize(self, sentences):
        """The text tower's inputs for ``sentences``, as the model was trained."""
        lengths = [len(ids) for ids in self.tokenizer(list(sentences), verbose=False)["input_ids"]]
        check_sentence_lengths(sentences, [n > self.context_length for n in lengths], self.context_length)
        if self.pad_to_max_length:
            encoded = self.tokenizer(
                list(sentences), padding="max_length", max_length=self.context_length, return_tensors="pt"
            )
            return {"input_ids": encoded["input_ids"]}
        encoded = self.tokenizer(list(sentences), padding=True, return_tensors="pt")
        return {name: encoded[name] for name in ("input_ids", "attention_mask") if name in encoded}

    def encode_text(self, sentences):
        inputs = {name: value.to(self.device) for name, value in self.tokenize(sentences).items()}
        return _features(self.model.get_text_features(**inputs))

    def encode_image(self, pixels):
        pixels = self.to_device(pixels)
        if isinstance(pixels, dict):
            return _features(self.model.get_image_features(**pixels))
        return _features(self.model.get_image_features(pixel_values=pixels))


def identify(spec, download_root=None):
    """A ``save_pretrained`` folder by every file in it (weights, config, tokenizer,
    image processor); a Hub id by its name."""
    spec = os.path.expanduser(spec)
    if os.path.isdir(spec):
        return ["hf_clip", tree_part(spec)]
    return ["hf_clip", "name", spec]


def load(spec, device, precision, download_root):
    """Load a Hub id or a ``save_pretrained`` folder as an :class:`HFModel`."""
    transformers = import_transformers()
    name = f"hf_clip:{spec}"
    spec = os.path.expanduser(spec)
    local = os.path.isdir(spec)
    if not local and (spec.startswith((".", os.sep)) or spec.count("/") > 1):
        raise ModelLoadError(f"The model {name!r} names the folder {spec!r}, which does not exist.")
    try:
        with hub_offline(needed=not local):
            model = transformers.AutoModel.from_pretrained(spec, cache_dir=download_root, dtype=torch.float32)
            tokenizer = transformers.AutoTokenizer.from_pretrained(spec, cache_dir=download_root)
            image_processor = transformers.AutoImageProcessor.from_pretrained(spec, cache_dir=download_root)
    except (OSError, ValueError, KeyError) as exc:
        if local:
            raise ModelLoadError(
                f"The folder {spec!r} could not be loaded as a transformers model "
                f"({describe(exc)}). It must hold what save_pretrained writes "
                "for the model, its tokenizer and its image processor (or a processor)."
            ) from exc
        raise ModelLoadError(
            f"The Hugging Face model {name!r} could not be loaded ({describe(exc)}). "
            "Without network access, download it where there is one (`hf download "
            f"{spec} --local-dir DIR`, or save_pretrained of the model, tokenizer and image "
            "processor) and pass the folder: model='hf_clip:/path/to/DIR'."
        ) from exc
    # transformers builds a tokenizer with no vocabulary from a folder that lacks its files:
    # every word is unknown, every sentence encodes alike, every image gets 1/n per class.
    probe = tokenizer("happy angry face", add_special_tokens=False)["input_ids"]
    if tokenizer.unk_token_id is not None and all(i == tokenizer.unk_token_id for i in probe):
        raise ModelLoadError(
            f"The model {name!r} has a tokenizer with no vocabulary (every word is unknown): "
            "its tokenizer files (tokenizer.json, or vocab.json and merges.txt, or a "
            "SentencePiece model) are missing. Save them into it with "
            "tokenizer.save_pretrained(DIR)."
        )
    missing = [m for m in ("get_image_features", "get_text_features") if not hasattr(model, m)]
    if missing:
        raise ModelLoadError(
            f"The model {name!r} loads as {type(model).__name__}, which has no "
            f"{' or '.join(missing)}; hf_clip: needs an image-text model such as CLIPModel or SiglipModel."
        )
    model = place(model, device, precision)
    return HFModel(model.eval(), image_processor, tokenizer, device, precision)
