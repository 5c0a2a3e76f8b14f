"""Where networks run: one function turns a device name (flags, configs, the API) into a torch device."""

from __future__ import annotations

import itertools
from typing import Any

import torch

from . import checks
from .errors import WavesrError


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a network's first parameter or buffer (CPU for a network without any)."""
    for t in itertools.chain(model.parameters(), model.buffers()):
        return t.device
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None, model: Any = None) -> torch.device:
    """``None``: where ``model`` is (CPU without one); ``"auto"``: CUDA when available, else CPU;
    else the device named (``cpu``, ``cuda``, ``cuda:N``, ``mps``), refused when it is not here."""
    if device is None:
        return model_device(model) if model is not None else torch.device("cpu")
    if not isinstance(device, torch.device):
        checks.device_name(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise WavesrError(f"device {str(device)!r}: CUDA is not available here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise WavesrError(f"device {str(device)!r}: MPS is not available here")
    return dev
