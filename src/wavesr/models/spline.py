"""Cubic B-spline interpolation in torch: the paper's baseline and AudioUNet's first layer.

Kuleshov et al. (2017) interpolate the low-rate signal with an interpolating cubic B-spline
(``scipy.interpolate.splrep/splev``) and let the network improve on it; :func:`wavesr.audio.interpolate`
(``method="cubic"``) is that spline in numpy, with not-a-knot ends. This module computes the
*same* numbers in torch, so that each network contains its interpolation (GPU, autograd, export).

Method
------
Interpolation is linear in the samples: ``y = x @ S_n`` for an ``[n, n * r]`` matrix. Far from
the ends a cubic spline is shift invariant: the interpolating spline through ``x`` is the
zero-stuffed ``x`` convolved with the *cardinal* cubic spline ``eta`` (``eta(0) = 1``,
``eta(k) = 0`` at the other integers), which decays like ``(2 - sqrt(3))^|t| = 0.268^|t|``. So::

    y = conv_transpose(x, eta, stride r)          # eta cut at +-KERNEL_HALF_WIDTH low-rate samples
        + x[:EDGE] @ A   on the first EDGE * r outputs   # not-a-knot start
        + x[-EDGE:] @ B  on the last  EDGE * r outputs   # not-a-knot end and the r - 1
                                                           # samples extrapolated past x[-1]

``eta``, ``A`` and ``B`` are read off ``S_n`` of a long reference signal (``audio.interpolate`` on
the identity), so they are exact by construction: no edge extension has to be guessed. Both cuts
(kernel and edge blocks) drop terms below ~1e-9 of the signal scale; in float32 the whole output
agrees with ``audio.interpolate`` to ~1e-6 of the signal scale, edges included. Inputs shorter than
``MIN_LENGTH`` low-rate samples (where both ends interact, and where scipy lowers the degree for
fewer than 4 samples) use the exact dense ``S_n``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import audio
from .base import Upsampler, UpsamplerConfig, register

KERNEL_HALF_WIDTH = 20  # low-rate samples each side of the cardinal spline kept (|eta| < 1e-11 beyond)
EDGE = 20  # low-rate samples at each end whose not-a-knot correction is applied
MIN_LENGTH = 2 * EDGE  # shorter inputs use the dense operator


@functools.cache
def _dense_operator(n: int, ratio: int) -> np.ndarray:
    """``[n, n * ratio]`` float64: row ``i`` is ``audio.interpolate`` of the ``i``-th unit impulse."""
    return audio.interpolate(np.eye(n), ratio, "cubic")


@functools.cache
def spline_factors(ratio: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cardinal kernel and the two edge corrections for ``ratio`` (float64).

    Returns
    -------
    kernel : ``[2 * KERNEL_HALF_WIDTH * ratio + 1]``, ``eta(j / ratio - KERNEL_HALF_WIDTH)``.
    left : ``[EDGE, EDGE * ratio]``, added as ``x[:EDGE] @ left`` to the first outputs.
    right : ``[EDGE, EDGE * ratio]``, added as ``x[-EDGE:] @ right`` to the last outputs.
    """
    k, r = KERNEL_HALF_WIDTH, ratio
    n = 4 * max(k, EDGE) + 1  # impulse in the middle is 2 * max(k, EDGE) samples from either end
    exact = _dense_operator(n, r)
    c = n // 2
    kernel = exact[c, (c - k) * r : (c + k) * r + 1].copy()
    conv = np.zeros_like(exact)  # what the truncated convolution alone computes
    for i in range(n):
        lo, hi = (i - k) * r, (i + k) * r + 1
        conv[i, max(lo, 0) : min(hi, n * r)] = kernel[max(lo, 0) - lo : min(hi, n * r) - lo]
    diff = exact - conv
    left = diff[:EDGE, : EDGE * r].copy()
    right = diff[n - EDGE :, (n - EDGE) * r :].copy()
    return kernel, left, right


def _tensor(a: np.ndarray, like: Tensor) -> Tensor:
    return torch.as_tensor(a, dtype=like.dtype, device=like.device)


def _spline_apply(lr: Tensor, ratio: int, kernel: Tensor, left: Tensor, right: Tensor) -> Tensor:
    """The interpolation of a flat batch ``[batch, 1, n]`` given the factors (as tensors)."""
    n = lr.shape[-1]
    if n < MIN_LENGTH:
        return lr @ _tensor(_dense_operator(n, ratio), lr)
    k, e = KERNEL_HALF_WIDTH, EDGE
    y = F.conv_transpose1d(
        lr, kernel.view(1, 1, -1), stride=ratio, padding=k * ratio, output_padding=ratio - 1
    )  # [batch, 1, n * ratio]
    head = y[..., : e * ratio] + lr[..., :e] @ left
    tail = y[..., -e * ratio :] + lr[..., -e:] @ right
    return torch.cat([head, y[..., e * ratio : -e * ratio], tail], dim=-1)


def cubic_upsample(lr: Tensor, ratio: int) -> Tensor:
    """Interpolating cubic B-spline, as ``audio.interpolate(lr, ratio, "cubic")``, in torch.

    Parameters
    ----------
    lr : ``[..., time_lr]`` float tensor, samples at times ``0, r, 2r, ...`` of the output grid.
    ratio : integer upsampling ratio >= 2.

    Returns
    -------
    ``[..., time_lr * ratio]``, same dtype and device; differentiable in ``lr``.
    """
    ratio = audio.check_ratio(ratio)
    if lr.shape[-1] < 1:
        raise ValueError("cannot interpolate zero-length audio")
    kernel, left, right = (_tensor(a, lr) for a in spline_factors(ratio))
    flat = lr.reshape(-1, 1, lr.shape[-1])
    return _spline_apply(flat, ratio, kernel, left, right).reshape(*lr.shape[:-1], -1)


class CubicSplineUpsampler(torch.nn.Module):
    kernel: Tensor  # buffers
    left: Tensor
    right: Tensor

    """:func:`cubic_upsample` as a module whose fixed factors are (non-persistent) buffers.

    The buffers follow ``.to(device)`` and are not saved in state dicts (they are derived).
    """

    def __init__(self, ratio: int) -> None:
        super().__init__()
        self.ratio = audio.check_ratio(ratio)
        kernel, left, right = spline_factors(self.ratio)
        self.register_buffer("kernel", torch.tensor(kernel, dtype=torch.float32), persistent=False)
        self.register_buffer("left", torch.tensor(left, dtype=torch.float32), persistent=False)
        self.register_buffer("right", torch.tensor(right, dtype=torch.float32), persistent=False)

    def forward(self, lr: Tensor) -> Tensor:
        """``[..., time_lr]`` -> ``[..., time_lr * ratio]``, in ``lr``'s dtype even under autocast."""
        flat = lr.reshape(-1, 1, lr.shape[-1])
        factors = (t.to(lr.dtype) for t in (self.kernel, self.left, self.right))
        with torch.autocast(lr.device.type, enabled=False):  # keep the residual path exact
            return _spline_apply(flat, self.ratio, *factors).reshape(*lr.shape[:-1], -1)


@dataclass
class SplineConfig(UpsamplerConfig):
    """The spline has no settings beyond ``ratio`` and ``sr``."""


@register("spline")
class CubicSpline(Upsampler):
    """The paper's cubic B-spline baseline as a network with no trainable parameters."""

    config_class = SplineConfig
    config: SplineConfig

    def __init__(self, config: SplineConfig | None = None) -> None:
        super().__init__(config or SplineConfig())
        self.spline = CubicSplineUpsampler(self.ratio)

    def forward(self, lr: Tensor) -> Tensor:
        """``[batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``."""
        self.check_input(lr)
        return self.spline(lr)
