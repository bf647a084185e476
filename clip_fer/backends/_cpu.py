"""What the CPU at hand does natively, and the bf16 policy that follows from it.

bfloat16 matrix products are native on CPUs with AVX-512 BF16 or AMX (Intel Cooper
Lake, Sapphire Rapids and later; AMD Zen 4 and later). Elsewhere PyTorch emulates
them, and ``precision="bf16"`` ran a ViT-B/32 7x slower than fp32 on an AVX2-only
AMD EPYC. There, and where the environment caps oneDNN below its bf16
instructions (``ONEDNN_MAX_CPU_ISA=AVX2``), ``bf16`` falls back to fp32 with one
warning naming the reason and what to use instead.
"""

import os
import platform
import threading
import warnings

import torch

__all__ = ["cpu_summary", "has_native_bf16", "isa_limits", "resolve_bf16"]

_WARNED = threading.Event()
# Environment variables that cap the instruction sets of torch's libraries
# (an AVX2-only CPU can be imitated on an AVX-512 one by setting them to AVX2).
_ISA_LIMITS = (
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "FBGEMM_ENABLE_INSTRUCTIONS",
    "MKL_ENABLE_INSTRUCTIONS",
)


def _flag(name):
    probe = getattr(torch.cpu, name, None)  # private probes: absent in some torch builds
    if probe is None:
        return None
    try:
        return bool(probe())
    except Exception:
        return None


def isa_limits():
    """The instruction-set limits this process's environment puts on torch's
    libraries (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``, ...), as a dict."""
    return {name: os.environ[name] for name in _ISA_LIMITS if os.environ.get(name)}


def _onednn_bf16():
    """Whether oneDNN, which runs bf16 matrix products, may use bf16 instructions
    here (False under ``ONEDNN_MAX_CPU_ISA=AVX2``); None if torch cannot say."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return None


def has_native_bf16():
    """Whether torch reports native bf16 matrix units (AVX-512 BF16 or AMX) here,
    and oneDNN is allowed to use them."""
    flags = (_flag("_is_avx512_bf16_supported"), _flag("_is_amx_tile_supported"))
    onednn = _onednn_bf16()
    if all(flag is None for flag in flags):  # an old torch: oneDNN alone decides
        return bool(onednn)
    return any(flags) and onednn is not False


def _why_not_bf16():
    if any((_flag("_is_avx512_bf16_supported"), _flag("_is_amx_tile_supported"))):
        limits = ", ".join(f"{k}={v}" for k, v in isa_limits().items()) or "no limit set in the environment"
        return f"oneDNN may not use its bf16 instructions here: {limits}"
    return f"no AVX-512 BF16 or AMX; torch reports {torch.backends.cpu.get_cpu_capability()}"


def cpu_summary():
    """One line naming the CPU, torch's capability level and its fast-path flags."""
    flags = {
        "avx2": _flag("_is_avx2_supported"),
        "avx512": _flag("_is_avx512_supported"),
        "avx512_vnni": _flag("_is_vnni_supported"),
        "avx512_bf16": _flag("_is_avx512_bf16_supported"),
        "amx": _flag("_is_amx_tile_supported"),
    }
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            model = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    present = ", ".join(name for name, on in flags.items() if on) or "none reported"
    limits = "".join(f"; limited by {k}={v}" for k, v in isa_limits().items())
    return (
        f"{model}; torch capability {torch.backends.cpu.get_cpu_capability()}; "
        f"native: {present}; quantized engine {torch.backends.quantized.engine}; "
        f"fp32 image towers {_fp32_linears()}{limits}"
    )


def _fp32_linears():
    """Which library runs a CPU fp32 image tower's linear layers here, and why."""
    from ._onednn import capped_below_avx2, onednn_linear_available

    if onednn_linear_available():
        return "through oneDNN"
    if not torch.backends.mkldnn.enabled:
        return "through torch's default BLAS (torch.backends.mkldnn.enabled is False)"
    cap = capped_below_avx2()
    return "through torch's default BLAS" + (f" ({cap} caps oneDNN below AVX2)" if cap else "")


def resolve_bf16(device, native=None):
    """The precision that ``"bf16"`` runs at on ``device``: ``"bf16"``, or on a CPU
    without native bf16 ``"fp32"`` (warned once per process).

    ``native`` overrides the CPU probe (for tests).
    """
    if device.type != "cpu":
        return "bf16"
    native = has_native_bf16() if native is None else native
    if native:
        return "bf16"
    if not _WARNED.is_set():
        _WARNED.set()
        warnings.warn(
            "precision='bf16' runs at fp32 on this CPU: it has no native bfloat16 "
            f"({_why_not_bf16()}), "
            "where bf16 is emulated and was about 7x slower than fp32. Use precision='int8' "
            "for speed here, or 'fp32' to silence this warning.",
            RuntimeWarning,
            stacklevel=4,
        )
    return "fp32"
