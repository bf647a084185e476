"""Tiny models of each backend family, built in-process and saved as users save them.

- open_clip: two small configs registered with ``open_clip.add_model_config`` (a
  CLIP-style one and a SigLIP-style one with a learned bias, bidirectional text
  attention and last-position pooling), weights written as ``.safetensors`` / ``.pt``.
- transformers: ``CLIPModel`` and ``SiglipModel`` from small configs, written with
  ``save_pretrained`` together with a tokenizer and an image processor. The CLIP
  tokenizer is built from the BPE vocabulary that the ``clip`` package ships; the
  SigLIP tokenizer is a SentencePiece model trained here on a few sentences.

Each builder runs once per test process (``functools.cache``) into one temporary
folder, so the suite pays for it once.
"""

import atexit
import functools
import gzip
import io
import json
import shutil
import tempfile
from pathlib import Path

import torch

_ROOT = Path(tempfile.mkdtemp(prefix="clip-fer-toy-families-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

WIDTH = 64  # open_clip infers heads as width // head_width; HF takes heads from config

OPEN_CLIP_CONFIGS = {
    "ClipFerToy-ViT": {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": WIDTH, "head_width": 32, "patch_size": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": WIDTH, "heads": 2, "layers": 1},
    },
    # SigLIP's numerics in open_clip's CLIP class: learned bias, no causal mask, last-token pooling.
    "ClipFerToy-Sigmoid": {
        "embed_dim": 32,
        "init_logit_bias": -10,
        "init_logit_scale": 2.302585,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": WIDTH, "head_width": 32, "patch_size": 16},
        "text_cfg": {
            "context_length": 64,
            "vocab_size": 49408,
            "width": WIDTH,
            "heads": 2,
            "layers": 1,
            "no_causal_mask": True,
            "pool_type": "last",
        },
    },
}

# Sentences the SentencePiece tokenizer is trained on: the default banks' words.
SENTENCES = [
    "a photo of a {} looking face.",
    "this is {} person",
    "person with {} look",
    "a photo of a face showing the emotion: {}.",
    "a face that looks {}",
]
WORDS = [
    "angry",
    "annoyed",
    "furious",
    "frown",
    "disgusted",
    "dislike",
    "disgust",
    "scared",
    "nervous",
    "fearful",
    "fear",
    "glad",
    "happy",
    "thrilled",
    "blank",
    "neutral",
    "miserable",
    "sad",
    "pitiful",
    "shocked",
    "surprised",
    "astonished",
    "surprise",
    "cheerful",
    "gloomy",
    "face",
]


@functools.cache
def open_clip_models():
    """``{config name: weights path}`` of the toy open_clip models (configs registered)."""
    import open_clip
    from safetensors.torch import save_file

    folder = _ROOT / "open_clip"
    folder.mkdir()
    for name, config in OPEN_CLIP_CONFIGS.items():
        (folder / f"{name}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder)
    paths = {}
    for seed, name in enumerate(OPEN_CLIP_CONFIGS):
        torch.manual_seed(seed)
        model = open_clip.create_model(name)
        if name.endswith("Sigmoid"):
            paths[name] = folder / f"{name}.safetensors"
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, paths[name])
        else:
            paths[name] = folder / f"{name}.pt"
            torch.save(model.state_dict(), paths[name])
    return {name: str(path) for name, path in paths.items()}


def clip_bpe_tokenizer_files(folder):
    """``vocab.json`` and ``merges.txt`` of OpenAI's CLIP BPE, from the ``clip`` package's vocabulary."""
    import clip.simple_tokenizer as simple

    with gzip.open(simple.default_bpe()) as bpe:
        merges = bpe.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    byte_chars = list(simple.bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars]
    vocab += ["".join(merge.split()) for merge in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


# Every tiny transformers tower: one layer, width 32.
_TINY_TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)


@functools.cache
def hf_clip_folder():
    """A ``save_pretrained`` folder of a tiny transformers CLIPModel."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder = _ROOT / "hf-clip"
    folder.mkdir()
    tokenizer_files = _ROOT / "clip-bpe"
    tokenizer_files.mkdir()
    clip_bpe_tokenizer_files(tokenizer_files)
    tokenizer = CLIPTokenizer(
        vocab=str(tokenizer_files / "vocab.json"),
        merges=str(tokenizer_files / "merges.txt"),
        pad_token="<|endoftext|>",
    )
    config = CLIPConfig(
        text_config=dict(
            vocab_size=49408,
            **_TINY_TOWER,
            max_position_embeddings=77,
        ),
        vision_config=dict(
            image_size=32,
            patch_size=16,
            **_TINY_TOWER,
        ),
        projection_dim=24,
    )
    torch.manual_seed(3)
    CLIPModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return str(folder)


@functools.cache
def hf_siglip_folder():
    """A ``save_pretrained`` folder of a tiny transformers SiglipModel with a trained
    SentencePiece tokenizer."""
    import sentencepiece as spm
    from transformers import (
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
        SiglipTokenizer,
    )

    folder = _ROOT / "hf-siglip"
    folder.mkdir()
    corpus = [template.format(word) for template in SENTENCES for word in WORDS]
    model_bytes = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 4),
        model_writer=model_bytes,
        vocab_size=120,
        model_type="unigram",
        hard_vocab_limit=False,
        unk_id=2,
        eos_id=1,
        pad_id=0,
        bos_id=-1,
        minloglevel=2,
    )
    sp_path = _ROOT / "siglip-spiece.model"
    sp_path.write_bytes(model_bytes.getvalue())
    tokenizer = SiglipTokenizer(vocab_file=str(sp_path), model_max_length=64)
    config = SiglipConfig(
        text_config=dict(
            vocab_size=tokenizer.vocab_size,
            **_TINY_TOWER,
            max_position_embeddings=64,
        ),
        vision_config=dict(
            image_size=32,
            patch_size=16,
            **_TINY_TOWER,
        ),
    )
    torch.manual_seed(4)
    model = SiglipModel(config).eval()
    with torch.no_grad():  # SigLIP's released init: scale log(10), bias -10
        model.logit_scale.fill_(2.302585)
        model.logit_bias.fill_(-10.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


@functools.cache
def hf_siglip2_folder():
    """A ``save_pretrained`` folder of a tiny transformers Siglip2Model (NaFlex: its
    processor returns patches, a patch mask and the patch grid's shape), with a
    character-level Siglip2Tokenizer (released SigLIP 2 models use Gemma's vocabulary)."""
    from transformers import (
        Siglip2Config,
        Siglip2ImageProcessor,
        Siglip2Model,
        Siglip2Tokenizer,
    )

    folder = _ROOT / "hf-siglip2"
    folder.mkdir()
    corpus = [template.format(word) for template in SENTENCES for word in WORDS]
    vocab = {token: i for i, token in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"])}
    for char in sorted({c for sentence in corpus for c in sentence.lower().replace(" ", "\u2581")}):
        vocab.setdefault(char, len(vocab))
    tokenizer = Siglip2Tokenizer(vocab=vocab, merges=[])
    config = Siglip2Config(
        text_config=dict(
            vocab_size=len(vocab),
            **_TINY_TOWER,
            max_position_embeddings=64,
        ),
        vision_config=dict(
            num_patches=16,
            patch_size=8,
            **_TINY_TOWER,
        ),
    )
    torch.manual_seed(5)
    model = Siglip2Model(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(2.302585)
        model.logit_bias.fill_(-10.0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Siglip2ImageProcessor(patch_size=8, max_num_patches=16).save_pretrained(folder)
    return str(folder)
