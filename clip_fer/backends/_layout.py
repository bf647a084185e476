"""Running OpenAI CLIP's image transformer batch-first on the CPU.

OpenAI's ``VisionTransformer`` permutes its tokens to sequence-first ``(L, N, D)``
before the transformer, as a view: the memory stays batch-first. Every linear
layer and layer norm of the 12 blocks then receives a non-contiguous tensor and
copies it first (with int8, ``quantized::linear_dynamic`` copies each input:
about a quarter of the image tower's time in a profile on a 2-core AMD EPYC).
:class:`BatchFirstTransformer` turns the view back into the batch-first memory it
is, runs the blocks on it with batch-first attention, and hands the result back
sequence-first, so the tower's own code around it is unchanged and no block copies.
"""

from torch import nn

from ._quantize import LinearAttention

__all__ = ["BatchFirstTransformer", "batch_first_image_tower"]


class BatchFirstTransformer(nn.Module):
    """An OpenAI ``clip.model.Transformer`` (sequence-first in and out) whose blocks
    run on batch-first tensors; the blocks' attention is :class:`LinearAttention`."""

    def __init__(self, transformer):
        super().__init__()
        self.width, self.layers = transformer.width, transformer.layers
        self.resblocks = transformer.resblocks
        for block in self.resblocks:
            block.attn = LinearAttention(block.attn, batch_first=True)

    def forward(self, x):
        return self.resblocks(x.transpose(0, 1)).transpose(0, 1)


def _convertible(transformer):
    blocks = getattr(transformer, "resblocks", None)
    return (
        blocks is not None
        and len(blocks) > 0
        and all(
            isinstance(getattr(block, "attn", None), nn.MultiheadAttention)
            and not block.attn.batch_first
            and block.attn._qkv_same_embed_dim
            and getattr(block, "attn_mask", None) is None
            for block in blocks
        )
    )


def batch_first_image_tower(visual):
    """``visual`` with its transformer run batch-first when it is an OpenAI
    sequence-first ViT with no attention mask; any other tower (ResNet) unchanged."""
    transformer = getattr(visual, "transformer", None)
    if _convertible(transformer):
        visual.transformer = BatchFirstTransformer(transformer)
    return visual
