"""The interface every loaded model implements, and what the families share.

A family (``openai.py``, ``open_clip.py``, ``hf.py``, or one registered with
:func:`~clip_fer.backends.register_family`) turns a name into a
:class:`LoadedModel`. The encoding loops, the embedding caches, the int8 and bf16
paths and the estimator use only what this class exposes, so they never know
which family runs.
"""

import contextlib
import re

import torch

from ..exceptions import ModelLoadError, PromptBankError
from ._identity import digest, weights_digest

__all__ = ["LoadedModel", "ModelReference", "check_sentence_lengths", "describe", "normalized"]


class LoadedModel:
    """A CLIP-family model ready for inference, as kept in the process-wide cache.

    Subclasses implement :meth:`encode_image` and :meth:`encode_text`. One built
    in memory (a family class called on a model the caller made or fine-tuned) is
    accepted as ``model=`` by the estimator; it is identified by its weights.

    A loaded model is shared, never copied: ``copy.copy`` and ``copy.deepcopy``
    (so ``sklearn.base.clone`` too) return the same object, and pickling writes a
    :class:`ModelReference` (its identity, no weights) that must be given back
    the model before it can encode anything.

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
    weights_identity : str
        A hash of what determines the model's outputs: the bytes of its weights
        and of its architecture config, tokenizer and image-processor files
        (:func:`load_model`), or of its in-memory ``state_dict`` and its
        preprocessing (a model built in memory). Independent of the device and
        precision it runs at.
    identity : str
        ``weights_identity`` with the numerics (family, device, precision):
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
        *,
        embed_dim,
        context_length,
        logit_scale,
        logit_bias=0.0,
        weights_identity=None,
    ):
        self.model = model
        self.preprocess = preprocess
        self.device = torch.device(device)
        self.precision = precision
        self.embed_dim = int(embed_dim)
        self.context_length = int(context_length)
        self.logit_scale = float(logit_scale)
        self.logit_bias = float(logit_bias)
        self._weights_identity = weights_identity

    @property
    def weights_identity(self):
        """Content hash of the model (see the class docstring)."""
        if self._weights_identity is not None:
            return self._weights_identity
        # Built in memory: its weights (re-hashed when a tensor is updated in place)
        # and what the family adds about its preprocessing and tokenizer.
        if getattr(self, "_processing", None) is None:
            self._processing = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(self.describe_processing()))
        return digest("object", self.family, weights_digest(self.model), self._processing)

    @weights_identity.setter
    def weights_identity(self, value):
        # Set by load_model to the hash of the files the model was loaded from.
        self._weights_identity = value

    @property
    def identity(self):
        """``family:weights_identity:device:precision``, the embedding caches' key."""
        return f"{self.family}:{self.weights_identity}:{self.device}:{self.precision}"

    def describe_processing(self):
        """What besides the weights decides this model's outputs, for the identity of a
        model built in memory: by default its preprocessing's ``repr``, its
        tokenizer's type and its context length. Families refine it."""
        tokenizer = getattr(self, "tokenizer", None)
        return [repr(self.preprocess), type(tokenizer).__qualname__, self.context_length]

    def __repr__(self):
        return f"{type(self).__name__}({self.identity})"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return ModelReference, (self.weights_identity, repr(self))

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


class ModelReference:
    """What a pickled :class:`LoadedModel` becomes: its identity, never its weights.

    An estimator given a model object and pickled (or sent to another process)
    carries this in place of the model; it must be given the model back with
    ``set_params(model=...)``, and the model given must have the same
    ``weights_identity``.

    Parameters
    ----------
    weights_identity : str
        The pickled model's ``weights_identity``.
    description : str
        Its ``repr``, for messages.
    """

    def __init__(self, weights_identity, description):
        self.weights_identity = weights_identity
        self.description = description

    def __repr__(self):
        return f"ModelReference({self.description})"

    def __eq__(self, other):
        return isinstance(other, ModelReference) and other.weights_identity == self.weights_identity

    def __hash__(self):
        return hash(self.weights_identity)

    def error(self, owner="the estimator", give_back="set_params(model=loaded)"):
        """The :class:`ModelLoadError` that using this reference raises.

        ``give_back`` is the call that gives the owner its model back.
        """
        return ModelLoadError(
            f"{owner} holds {self.description!r}, a model object that was pickled or sent "
            "to another process: model objects travel without their weights. Give the "
            f"model back with {give_back} (the same weights), or use a model "
            "name or checkpoint path, which is loaded in every process."
        )


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
