"""The one place that turns ``device`` and ``precision`` settings into a model's placement.

Every family calls :func:`place` on the module it built, after
:func:`resolve_device` and :func:`resolve_precision` have checked the settings.
"""

import torch

from ..exceptions import InvalidParameterError
from ..utils._param_validation import check_device, check_option
from ._cpu import resolve_bf16

__all__ = ["PRECISIONS", "place", "resolve_device", "resolve_precision"]

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")


def resolve_device(device, owner="load_model"):
    """``"auto"`` -> CUDA when present, else CPU; any other value is checked.

    Parameters
    ----------
    device : str or torch.device
    owner : str, default="load_model"
        Named in the error message.

    Returns
    -------
    device : torch.device
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, torch.device):
        check_device(device, "device", owner)
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"The 'device' parameter is {str(device)!r} but CUDA is not available here; "
            "use device='auto' or 'cpu'."
        )
    return resolved


def resolve_precision(precision, device, owner="load_model"):
    """``"auto"`` -> fp16 on CUDA, fp32 on CPU; other values are checked against the
    device, and ``"bf16"`` on a CPU without native bf16 runs at fp32 (warned once).

    Parameters
    ----------
    precision : {"auto", "fp32", "fp16", "bf16", "int8"}
    device : torch.device
        As :func:`resolve_device` returns it.
    owner : str, default="load_model"
        Named in the error message.

    Returns
    -------
    precision : {"fp32", "fp16", "bf16", "int8"}
    """
    check_option(precision, "precision", owner, PRECISIONS)
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise InvalidParameterError(
            "The 'precision' parameter is 'fp16' but the device is "
            f"{device.type!r}; fp16 needs CUDA. Use precision='auto', 'fp32', 'bf16' "
            "or 'int8'."
        )
    if precision == "bf16":
        return resolve_bf16(device)  # fp32, warned, on a CPU without native bf16
    if precision == "int8" and device.type != "cpu":
        raise InvalidParameterError(
            "The 'precision' parameter is 'int8' but the device is "
            f"{device.type!r}; int8 is a CPU path. Use precision='auto' or 'fp16'."
        )
    return precision


def place(module, device, precision):
    """``module`` on ``device`` in the dtype its weights keep under ``precision``
    (fp16 for "fp16"; fp32 otherwise: bf16 is autocast, int8 quantises afterwards),
    in eval mode."""
    dtype = torch.float16 if precision == "fp16" else torch.float32
    return module.to(device=device, dtype=dtype).eval()
