"""The opt-in int8 CPU path: dynamic int8 quantisation of CLIP's image tower.

``torch.ao.quantization.quantize_dynamic`` converts ``nn.Linear`` layers, but
``nn.MultiheadAttention`` keeps its input projection as a bare parameter, so the
attention projections would stay in fp32. Each attention module is first replaced
by an equivalent one made of plain ``nn.Linear`` layers, so they are quantised too.
"""

import warnings

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["quantize_image_tower", "LinearAttention"]


class LinearAttention(nn.Module):
    """Self-attention computing what an ``nn.MultiheadAttention`` computes, with
    ``nn.Linear`` projections; inputs are sequence-first ``(L, N, D)`` like CLIP's."""

    def __init__(self, attention):
        super().__init__()
        dim = attention.embed_dim
        self.num_heads = attention.num_heads
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        with torch.no_grad():
            self.in_proj.weight.copy_(attention.in_proj_weight)
            self.in_proj.bias.copy_(attention.in_proj_bias)
            self.out_proj.weight.copy_(attention.out_proj.weight)
            self.out_proj.bias.copy_(attention.out_proj.bias)

    def forward(self, query, key=None, value=None, need_weights=False, attn_mask=None):
        # Only self-attention (query is key is value) occurs in CLIP's towers.
        length, batch, dim = query.shape
        heads = self.num_heads
        qkv = self.in_proj(query).reshape(length, batch, 3, heads, dim // heads)
        q, k, v = qkv.permute(2, 1, 3, 0, 4)  # each (N, H, L, head_dim)
        mask = None if attn_mask is None else attn_mask.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.permute(2, 0, 1, 3).reshape(length, batch, dim)
        return self.out_proj(out), None


def _replace_attention(module):
    for name, child in module.named_children():
        if isinstance(child, nn.MultiheadAttention) and child._qkv_same_embed_dim:
            setattr(module, name, LinearAttention(child))
        else:
            _replace_attention(child)


def quantize_image_tower(visual):
    """Return ``visual`` (a CLIP image tower, fp32, CPU) with int8 linear layers.

    The ResNet towers' attention pooling reads its projections' weights directly
    rather than calling them, so it stays in fp32.
    """
    visual = visual.float().cpu().eval()
    _replace_attention(visual)
    with warnings.catch_warnings():
        # Eager-mode dynamic quantisation is deprecated in favour of torchao, which
        # is not a dependency; it still works in torch 2.x.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        called = {
            name: default_dynamic_qconfig
            for name, module in visual.named_modules()
            if type(module) is nn.Linear and not name.startswith("attnpool.")
        }
        return quantize_dynamic(visual, called, dtype=torch.qint8)
