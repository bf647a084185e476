"""The interface every model family implements, and what they share.

A family module (``openai.py``, ``open_clip.py``, ``hf.py``) turns a name into a
:class:`LoadedModel`. The encoding loops, the embedding caches, the int8 and bf16
paths and the estimator use only what this class exposes, so they never know
which family runs.
"""

import contextlib
import os

import torch

from ..exceptions import PromptBankError

__all__ = ["LoadedModel", "check_sentence_lengths", "describe", "file_source", "normalized"]


class LoadedModel:
    """A CLIP-family model ready for inference, as kept in the process-wide cache.

    Subclasses implement :meth:`encode_image` and :meth:`encode_text`.

    Attributes
    ----------
    model : torch.nn.Module
        The family's own module (an OpenAI ``CLIP``, an open_clip model, a
        ``transformers`` model), in eval mode on ``device``.
    preprocess : callable
        PIL image -> what :meth:`encode_image` takes for one image (a tensor, or
        a dict of tensors for models whose processor returns several), the
        family's own preprocessing.
    device : torch.device
    precision : {"fp32", "fp16", "bf16", "int8"}
    identity : str
        Names the weights and the numerics (family, source, device, precision):
        embeddings cached under one identity are valid for every estimator with it.
    embed_dim : int
        Width of the image and text embeddings.
    context_length : int
        Tokens per sentence the text tower takes.
    logit_scale : float
        The model's learned multiplier of cosine similarities (``exp`` of the
        stored parameter).
    logit_bias : float
        The model's learned additive bias (SigLIP); 0 for softmax-trained CLIPs.
    """

    family = None

    def __init__(
        self,
        model,
        preprocess,
        device,
        precision,
        identity,
        *,
        embed_dim,
        context_length,
        logit_scale,
        logit_bias=0.0,
    ):
        self.model = model
        self.preprocess = preprocess
        self.device = device
        self.precision = precision
        self.identity = identity
        self.embed_dim = int(embed_dim)
        self.context_length = int(context_length)
        self.logit_scale = float(logit_scale)
        self.logit_bias = float(logit_bias)

    def __repr__(self):
        return f"{type(self).__name__}({self.identity})"

    @property
    def input_dtype(self):
        """The dtype pixels are cast to: fp16 for ``precision="fp16"``, else fp32."""
        return torch.float16 if self.precision == "fp16" else torch.float32

    def autocast(self):
        """bf16 autocast for ``precision="bf16"``; a no-op context otherwise."""
        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def to_device(self, pixels):
        """Move a batch from the DataLoader to the model: floating tensors take
        :attr:`input_dtype`, integer ones (masks, shapes) keep theirs."""
        if isinstance(pixels, dict):
            return {name: self.to_device(value) for name, value in pixels.items()}
        dtype = self.input_dtype if pixels.is_floating_point() else pixels.dtype
        return pixels.to(self.device, dtype=dtype, non_blocking=True)

    def encode_image(self, pixels):
        """Image embeddings (not normalised) of a preprocessed batch on the CPU."""
        raise NotImplementedError

    def encode_text(self, sentences):
        """Text embeddings (not normalised) of a list of sentences.

        Tokenisation is the family's own, at its own context length. A sentence
        longer than the context raises :class:`PromptBankError`.
        """
        raise NotImplementedError


def normalized(features):
    """L2-normalised rows as a float32 numpy array on the CPU."""
    features = features.float()
    return (features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu().numpy()


def file_source(path):
    """What identifies a weights file or a saved folder's contents: path, sizes and
    modification times (a file rewritten on disk is another source)."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        entries = []
        for root, _, files in os.walk(path):
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                entries.append(
                    (os.path.relpath(os.path.join(root, name), path), stat.st_size, stat.st_mtime_ns)
                )
        return ("dir", path, tuple(sorted(entries)))
    stat = os.stat(path)
    return ("file", path, stat.st_mtime_ns, stat.st_size)


def check_sentence_lengths(sentences, too_long, context_length):
    """Raise :class:`PromptBankError` naming the first sentence flagged in ``too_long``."""
    for sentence, flag in zip(sentences, too_long):
        if flag:
            raise PromptBankError(
                f"A sentence is longer than the model's {context_length}-token "
                f"context, e.g. {sentence!r}; shorten its template or words."
            )


def describe(exc):
    """``"Type: message"`` of an exception on one line, for wrapping it in ours."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
