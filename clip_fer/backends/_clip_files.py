"""OpenAI CLIP checkpoint files, tokens and preprocessing without ``import clip``.

Importing the ``clip`` package imports torchvision, whose ``__init__`` imports its
detection ops and through them ``torch._dynamo`` and sympy: on a 2-core AMD EPYC
that was more than half of a cold ``clip-fer predict`` (profiled with
``python -X importtime``). A checkpoint file needs none of it: the model is built
by ``clip/model.py`` (torch only), sentences are tokenised by
``clip/simple_tokenizer.py``, and the preprocessing is CLIP's resize, centre crop
and normalisation, written here with PIL. The two ``clip`` modules are executed
from the installed package's files without running the package's ``__init__``;
where ``clip`` is already imported, its own modules are used.
"""

import ast
import functools
import importlib.util
import os
import sys
import threading
import warnings

import numpy as np
import torch
from PIL import Image

__all__ = [
    "ClipPreprocess",
    "clip_submodule",
    "load_checkpoint",
    "release_names",
    "release_urls",
    "token_count",
    "tokenize",
]

_MEAN = (0.48145466, 0.4578275, 0.40821073)
_STD = (0.26862954, 0.26130258, 0.27577711)
_MODULES = {}
_LOCK = threading.Lock()


def clip_submodule(name):
    """``clip.<name>`` (``"model"`` or ``"simple_tokenizer"``), without importing ``clip``."""
    full = f"clip.{name}"
    with _LOCK:
        if full in sys.modules:
            return sys.modules[full]
        if full not in _MODULES:
            package = importlib.util.find_spec("clip")  # finds the package, runs nothing
            if package is None or not package.submodule_search_locations:
                raise ImportError("No module named 'clip'")
            path = os.path.join(list(package.submodule_search_locations)[0], f"{name}.py")
            spec = importlib.util.spec_from_file_location(f"clip_fer._clip_{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # so that its classes pickle by reference
            spec.loader.exec_module(module)
            _MODULES[full] = module
        return _MODULES[full]


class ClipPreprocess:
    """CLIP's image preprocessing: the short side resized to ``n_px`` (bicubic, by
    PIL), a centred ``n_px`` square, RGB, scaled to [0, 1] and normalised with CLIP's
    mean and standard deviation. The same numbers as ``clip``'s torchvision pipeline
    on PIL images (tested against it)."""

    def __init__(self, n_px):
        self.n_px = int(n_px)

    def __repr__(self):
        return f"ClipPreprocess({self.n_px})"

    def __call__(self, image):
        n = self.n_px
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        size = (n, int(n * long / short)) if width <= height else (int(n * long / short), n)
        if size != (width, height):
            image = image.resize(size, Image.BICUBIC)
        width, height = image.size
        top, left = int(round((height - n) / 2.0)), int(round((width - n) / 2.0))
        image = image.crop((left, top, left + n, top + n)).convert("RGB")
        pixels = torch.from_numpy(np.array(image, np.uint8, copy=True)).permute(2, 0, 1)
        pixels = pixels.float().div(255)
        mean = torch.as_tensor(_MEAN, dtype=torch.float32)[:, None, None]
        std = torch.as_tensor(_STD, dtype=torch.float32)[:, None, None]
        return pixels.sub_(mean).div_(std)


def load_checkpoint(path, device):
    """``(model, preprocess)`` of an OpenAI checkpoint file, as ``clip.load(path,
    jit=False)`` gives them: a JIT archive (TorchScript: code, trusted files only)
    or a state dict (read with torch.load's defaults: weights only), rebuilt as
    ``clip.model.CLIP``, fp32 on the CPU."""
    build_model = clip_submodule("model").build_model
    with open(path, "rb") as file, warnings.catch_warnings():
        # torch >= 2.10 flags torch.jit as deprecated; clip.load tries it first too.
        warnings.filterwarnings("ignore", message=".*torch.jit", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            state_dict = torch.jit.load(file, map_location="cpu").eval().state_dict()
        except RuntimeError:
            file.seek(0)
            state_dict = torch.load(file, map_location="cpu")
    model = build_model(state_dict).to(device)
    if str(device) == "cpu":
        model.float()
    return model, ClipPreprocess(model.visual.input_resolution)


@functools.cache
def _bpe():
    return clip_submodule("simple_tokenizer").SimpleTokenizer()


@functools.cache
def release_urls():
    """``{name: download URL}`` of the released models (``clip.available_models()``),
    read from the ``_MODELS`` literal of ``clip/clip.py`` without importing it."""
    package = importlib.util.find_spec("clip")
    if package is None or not package.submodule_search_locations:
        raise ImportError("No module named 'clip'")
    path = os.path.join(list(package.submodule_search_locations)[0], "clip.py")
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_MODELS" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    raise ImportError(f"clip's model names were not found in {path}")


def release_names():
    """The names ``clip.available_models()`` lists."""
    return tuple(release_urls())


def tokenize(sentences, context_length):
    """Token ids of ``sentences`` as CLIP's ``clip.tokenize`` makes them: start token,
    BPE, end token, zero padding; shape ``(n, context_length)``. A sentence longer
    than the context raises ``RuntimeError`` (as ``clip.tokenize`` does)."""
    tokenizer = _bpe()
    start, end = tokenizer.encoder["<|startoftext|>"], tokenizer.encoder["<|endoftext|>"]
    out = torch.zeros(len(sentences), context_length, dtype=torch.long)
    for i, sentence in enumerate(sentences):
        tokens = [start, *tokenizer.encode(sentence), end]
        if len(tokens) > context_length:
            raise RuntimeError(f"Input {sentence} is too long for context length {context_length}")
        out[i, : len(tokens)] = torch.tensor(tokens)
    return out


def token_count(sentence):
    """Tokens ``sentence`` takes, start and end tokens included."""
    return len(_bpe().encode(sentence)) + 2
