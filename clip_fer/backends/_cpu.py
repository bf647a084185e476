"""What the CPU at hand does natively, and the bf16 policy that follows from it.

bfloat16 matrix products are native on CPUs with AVX-512 BF16 or AMX (Intel Cooper
Lake, Sapphire Rapids and later; AMD Zen 4 and later). Elsewhere PyTorch emulates
them, and ``precision="bf16"`` ran a ViT-B/32 7x slower than fp32 on an AVX2-only
AMD EPYC. There, ``bf16`` falls back to fp32 with one warning naming the reason
and what to use instead.
"""

import platform
import threading
import warnings

import torch

__all__ = ["cpu_summary", "has_native_bf16", "resolve_bf16"]

_WARNED = threading.Event()


def _flag(name):
    probe = getattr(torch.cpu, name, None)  # private probes: absent in some torch builds
    if probe is None:
        return None
    try:
        return bool(probe())
    except Exception:
        return None


def has_native_bf16():
    """Whether torch reports native bf16 matrix units (AVX-512 BF16 or AMX) here."""
    flags = (_flag("_is_avx512_bf16_supported"), _flag("_is_amx_tile_supported"))
    if any(flags):
        return True
    if all(flag is None for flag in flags):  # an old torch: ask oneDNN instead
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except Exception:
            return False
    return False


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
    return (
        f"{model}; torch capability {torch.backends.cpu.get_cpu_capability()}; "
        f"native: {present}; quantized engine {torch.backends.quantized.engine}"
    )


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
            f"(no AVX-512 BF16 or AMX; torch reports {torch.backends.cpu.get_cpu_capability()}), "
            "where bf16 is emulated and was about 7x slower than fp32. Use precision='int8' "
            "for speed here, or 'fp32' to silence this warning.",
            RuntimeWarning,
            stacklevel=4,
        )
    return "fp32"
