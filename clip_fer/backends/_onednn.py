"""fp32 linear layers through oneDNN on the CPU.

PyTorch runs an fp32 ``nn.Linear`` through MKL's sgemm, which on AMD CPUs takes
its AVX2 code even where AVX-512 is present. On a 2-core AMD EPYC (AVX2, AVX-512
with VNNI and BF16), a 768 -> 3072 layer on 800 tokens ran at 97 GFLOP/s per core
through MKL and 218 through oneDNN with its weight packed once; OpenAI's ViT-B/32
image tower (random weights) went from 11.1 to 23.1 images/s on one thread (ONNX
Runtime fp32: 24.0), with embeddings within 3e-6 of MKL's. As with MKL, an image's
embedding is not bit for bit the same alone and among others (within 1e-6 in the
tests), and the same for the first images of a batch and that batch cut short.

The packing is used only where this process's torch has the operators, a probe
layer reproduces ``F.linear`` and ``torch.backends.mkldnn.enabled`` is on when the
model is loaded, and the environment does not cap oneDNN below AVX2
(``ONEDNN_MAX_CPU_ISA=SSE41`` or ``AVX``: MKL, which that cap does not bind, has AVX2's
fused multiply-add and twice SSE4.1's width); elsewhere layers stay as they are.

A packed layer runs ``F.linear`` on its unpacked weight instead when oneDNN is
switched off after loading, for an input that needs a gradient (oneDNN's operator
has no backward), for an input that is not fp32 (so it fails as ``nn.Linear``
would), and while traced (``torch.jit.trace``, ``torch.onnx.export``) or compiled
(``torch.compile``), which cannot take a oneDNN tensor in their graphs.
``model.double()``, ``.half()`` or ``.to(device)`` convert a packed layer as they
would an ``nn.Linear`` (it keeps a plain weight unless fp32 on the CPU).
"""

import functools
import os
import platform

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OneDNNLinear", "capped_below_avx2", "onednn_linear_available", "pack_linears"]


def _ops():
    ops = torch.ops.mkldnn
    return ops._reorder_linear_weight, ops._linear_pointwise


def onednn_linear_available():
    """Whether fp32 linear layers can run through oneDNN here (x86-64, torch built
    with oneDNN and its packed-linear operators, a probe layer agreeing with
    ``F.linear`` to 1e-5, ``torch.backends.mkldnn.enabled`` not switched off, and
    oneDNN not capped below AVX2 by the environment)."""
    return bool(torch.backends.mkldnn.enabled) and not capped_below_avx2() and _probe()


def capped_below_avx2():
    """The variable and value where the environment caps oneDNN below AVX2
    (``ONEDNN_MAX_CPU_ISA`` or ``DNNL_MAX_CPU_ISA`` set to ``SSE41`` or ``AVX``), else None."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):  # oneDNN reads the first one set
        value = os.environ.get(name, "").strip()
        if value:
            return f"{name}={value}" if value.upper() in ("SSE41", "AVX") else None
    return None


@functools.cache
def _probe():
    if platform.machine().lower() not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        return False
    try:
        generator = torch.Generator().manual_seed(0)
        probe = nn.Linear(24, 40)
        with torch.no_grad():
            probe.weight.copy_(torch.randn(40, 24, generator=generator))
            x = torch.randn(3, 5, 24, generator=generator)
            expected = F.linear(x, probe.weight, probe.bias)
            reorder, pointwise = _ops()
            packed = reorder(probe.weight.detach().contiguous(), None)
            got = pointwise(x.reshape(-1, 24), packed, probe.bias.detach(), "none", [], "").reshape(3, 5, 40)
            return torch.allclose(got, expected, atol=1e-5, rtol=1e-5)
    except Exception:  # operators missing or refused in this build
        return False


class OneDNNLinear(nn.Module):
    """What an fp32 ``nn.Linear`` computes, with its weight packed for oneDNN.

    For inference: the weight is no longer a parameter (an input's gradient is
    computed through ``F.linear``; the weight gets none). ``state_dict()`` still holds
    ``weight`` and ``bias`` as the plain tensors they were (so a model saved from it
    loads into an ``nn.Linear``), and the module can be deep-copied and pickled.
    """

    def __init__(self, linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._pack(linear.weight, linear.bias)

    def _pack(self, weight, bias):
        weight = weight.detach().float().contiguous()
        # Unpickled where torch cannot pack (another CPU, a build without oneDNN):
        # the weight stays plain and the layer runs F.linear.
        self.packed = _probe()
        self.packed_weight = _ops()[0](weight, None) if self.packed else weight.clone()
        self.bias = None if bias is None else bias.detach().float().clone()

    def forward(self, x):
        if not self.packed or _unpacked(x):
            return F.linear(x, self._dense_weight(), self.bias)
        _, pointwise = _ops()
        rows = x.reshape(-1, self.in_features).contiguous()
        out = pointwise(rows, self.packed_weight, self.bias, "none", [], "")
        return out.reshape(*x.shape[:-1], self.out_features)

    def _dense_weight(self):
        if not self.packed:
            return self.packed_weight
        if not torch.jit.is_tracing():
            return self.weight()
        # Unpacked outside the trace, so the trace (and an ONNX export) holds the
        # plain weight as a constant rather than a oneDNN tensor it cannot handle.
        state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            return self.weight()
        finally:
            torch._C._set_tracing_state(state)

    def weight(self):
        """The weight as a plain ``(out_features, in_features)`` tensor (a copy)."""
        return self.packed_weight.to_dense() if self.packed else self.packed_weight.clone()

    def _apply(self, fn, recurse=True):
        # model.double(), .half(), .to(device): as an nn.Linear would be; anything but
        # fp32 on the CPU keeps a plain weight and runs F.linear.
        weight = fn(self.weight()).detach()
        bias = None if self.bias is None else fn(self.bias).detach()
        if weight.dtype == torch.float32 and weight.device.type == "cpu":
            self._pack(weight, bias)
        else:
            self.packed, self.packed_weight, self.bias = False, weight, bias
        return self

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = self.weight()
        if self.bias is not None:
            destination[prefix + "bias"] = self.bias

    def _load_from_state_dict(self, state_dict, prefix, metadata, strict, missing, unexpected, errors):
        names = ["weight"] + ([] if self.bias is None else ["bias"])
        found = {name: state_dict[prefix + name] for name in names if prefix + name in state_dict}
        missing.extend(prefix + name for name in names if name not in found)
        if "weight" in found:
            self._pack(found["weight"], found.get("bias", self.bias))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["packed_weight"] = self.weight()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._pack(state["packed_weight"], state["bias"])

    def __deepcopy__(self, memo):
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(self.weight())
            if self.bias is not None:
                linear.bias.copy_(self.bias)
        return OneDNNLinear(linear)

    def extra_repr(self):
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


def _compiling():
    compiler = getattr(torch, "compiler", None)  # torch >= 2.1; is_compiling >= 2.3
    return bool(getattr(compiler, "is_compiling", lambda: False)())


def _unpacked(x):
    """Whether ``x`` goes through ``F.linear`` rather than the packed weight."""
    return (
        torch.jit.is_tracing()
        or _compiling()
        or not torch.backends.mkldnn.enabled
        or x.dtype != torch.float32
        or (x.requires_grad and torch.is_grad_enabled())
    )


def pack_linears(module, names):
    """Replace, in place, the ``nn.Linear`` submodules of ``module`` named in
    ``names`` (qualified names) by :class:`OneDNNLinear`; returns ``module``."""
    for name in names:
        parent_name, _, child_name = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, child_name, OneDNNLinear(getattr(parent, child_name)))
    return module
