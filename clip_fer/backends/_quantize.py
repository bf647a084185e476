"""The CPU fast paths of a CLIP image tower's linear layers: dynamic int8
quantisation (``precision="int8"``), and fp32 through oneDNN (see ``_onednn``).

``torch.ao.quantization.quantize_dynamic`` converts ``nn.Linear`` layers, but
``nn.MultiheadAttention`` keeps its input projection as a bare parameter, so the
attention projections would stay in fp32. Each attention module is first replaced
by an equivalent one made of plain ``nn.Linear`` layers, so they are quantised too.
"""

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ._activations import fold_quick_gelu
from ._onednn import onednn_linear_available, pack_linears

__all__ = ["LinearAttention", "convert_tower", "linear_attention"]


class LinearAttention(nn.Module):
    """What an ``nn.MultiheadAttention`` (same width for query, key and value)
    computes, with one ``nn.Linear`` input projection and one output projection.

    Sequence-first ``(L, N, D)`` inputs like OpenAI CLIP's, or batch-first when the
    replaced module was (open_clip, SigLIP's pooling head) or ``batch_first=True``. Self-attention runs
    one projection; cross-attention (a pooling probe attending to the tokens)
    projects query and key/value separately and keeps the parts it needs.

    Its ``state_dict`` names the input projection as ``nn.MultiheadAttention`` does
    (``in_proj_weight``, ``in_proj_bias``), so a model saved from it (fp32) loads
    into its own library's classes, and it loads their state dicts.
    """

    def __init__(self, attention, batch_first=None):
        super().__init__()
        dim = attention.embed_dim
        self.num_heads = attention.num_heads
        self.batch_first = attention.batch_first if batch_first is None else batch_first
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        with torch.no_grad():
            self.in_proj.weight.copy_(attention.in_proj_weight)
            self.in_proj.bias.copy_(attention.in_proj_bias)
            self.out_proj.weight.copy_(attention.out_proj.weight)
            self.out_proj.bias.copy_(attention.out_proj.bias)
        self._register_state_dict_hook(_save_as_multihead)
        self._register_load_state_dict_pre_hook(_load_as_multihead)

    def _heads(self, x, part):
        # x: (N, L, 3 * D) projections -> part ``part`` as (N, H, L, head_dim)
        batch, length, _ = x.shape
        heads = self.num_heads
        return x.reshape(batch, length, 3, heads, -1)[:, :, part].transpose(1, 2)

    def forward(self, query, key=None, value=None, need_weights=False, attn_mask=None, key_padding_mask=None):
        key = query if key is None else key
        value = key if value is None else value
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        projected = self.in_proj(query)
        q = self._heads(projected, 0)
        if key is query:
            k, v = self._heads(projected, 1), self._heads(projected, 2)
        else:
            projected_key = self.in_proj(key)
            k = self._heads(projected_key, 1)
            v = self._heads(projected_key if value is key else self.in_proj(value), 2)
        mask = None if attn_mask is None else _additive(attn_mask, q.dtype)
        if key_padding_mask is not None:
            padding = _additive(key_padding_mask, q.dtype)[:, None, None, :]
            mask = padding if mask is None else mask + padding
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)  # (N, L, D)
        out = self.out_proj(out)
        return (out if self.batch_first else out.transpose(0, 1)), None


_MULTIHEAD_NAMES = {"in_proj.weight": "in_proj_weight", "in_proj.bias": "in_proj_bias"}


def _save_as_multihead(module, state_dict, prefix, local_metadata):
    for ours, theirs in _MULTIHEAD_NAMES.items():
        if prefix + ours in state_dict:  # an int8 projection has packed parameters instead
            state_dict[prefix + theirs] = state_dict.pop(prefix + ours)


def _load_as_multihead(state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
    for ours, theirs in _MULTIHEAD_NAMES.items():
        if prefix + theirs in state_dict:
            state_dict[prefix + ours] = state_dict.pop(prefix + theirs)


def _additive(mask, dtype):
    """A boolean mask (True: not attended) or an additive one, as additive floats."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)


def _replace_attention(module):
    for name, child in module.named_children():
        if isinstance(child, nn.MultiheadAttention) and child._qkv_same_embed_dim:
            setattr(module, name, LinearAttention(child))
        else:
            _replace_attention(child)


def linear_attention(module):
    """``module`` with every ``nn.MultiheadAttention`` in it (same width for query, key
    and value) replaced by :class:`LinearAttention`; returns ``module``.

    Under CPU bf16 autocast, ``nn.MultiheadAttention``'s packed input projection
    spends most of its time copying (open_clip's ViT-B-32 ran at 0.6x fp32 with it,
    2.6x with :class:`LinearAttention`, on an AMD EPYC with native bf16).
    """
    _replace_attention(module)
    return module


def convert_tower(module, precision, keep=()):
    """Convert, in place, the ``nn.Linear`` layers of ``module`` (an image tower or a
    part of one, fp32, CPU) to fast ones for ``precision``: dynamic int8 for
    ``"int8"``; for ``"fp32"``, oneDNN-packed where :func:`onednn_linear_available`
    (else unchanged). QuickGELU MLPs are folded into one ``SiLU`` first (see
    ``_activations``) and attention is made of plain linear layers
    (:class:`LinearAttention`), so its projections are converted too. Returns
    ``module``.

    Layers whose qualified name contains one of ``keep`` stay as they are (a ResNet
    tower's attention pooling reads its projections' weights rather than calling
    them; Siglip2's patch embedding is a Linear whose ``weight.dtype`` its caller
    reads). ``module`` itself is not replaced: a bare linear layer is converted by
    passing a module that holds it.
    """
    module = module.float().cpu().eval()
    if not _convertible(precision):
        return module
    fold_quick_gelu(module)
    _replace_attention(module)
    return _convert(module, lambda name: not any(part in name for part in keep), precision)


def _convertible(precision):
    if precision == "int8":
        return True
    if precision == "fp32":
        return onednn_linear_available()
    raise ValueError(f"no linear-layer conversion for precision {precision!r}")


def _convert(module, select, precision):
    linears = module.named_modules()
    names = [name for name, child in linears if type(child) is nn.Linear and name and select(name)]
    if precision == "fp32":
        return pack_linears(module, names)
    with warnings.catch_warnings():
        # Eager-mode dynamic quantisation is deprecated in favour of torchao, which
        # is not a dependency; it still works in torch 2.x.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        qconfig = dict.fromkeys(names, default_dynamic_qconfig)
        return quantize_dynamic(module, qconfig, dtype=torch.qint8, inplace=True)
