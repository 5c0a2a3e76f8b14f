"""AudioUNet: the network of Kuleshov, Enam & Ermon, *Audio Super-Resolution Using Neural Nets* (2017).

Architecture (the paper's Figure 1 and section 3; sizes of the original code)::

    lr [b, 1, T/r] --cubic spline--> x [b, 1, T] (padded to a multiple of 2^(B+1))
      down block i = 0..B-1:  conv(stride 2, k_i, f_i) -> batch norm -> ReLU     [b, f_i, T / 2^(i+1)]
      bottleneck:             conv(stride 2, k_B-1, f_B-1) -> dropout -> ReLU     [b, f_B-1, T / 2^(B+1)]
      up block i = B-1..0:    conv(k_i, 2 f_i) -> dropout -> ReLU -> subpixel(2)  [b, f_i, T / 2^(i+1)]
                              concatenated with down block i's output              [b, 2 f_i, T / 2^(i+1)]
      last:                   conv(k=9, 2) -> subpixel(2)                          [b, 1, T]
    output = last + x   (additive residual: the network only improves the cubic spline)

The paper uses B = 8 blocks, batch norm and ReLU; the original code (kuleshov/audio-super-res)
trained B = 4 with LeakyReLU(0.2) in the down blocks and bottleneck and no batch norm, with
filters [128, 384, 512, 512, ...] and kernel sizes [65, 33, 17, 9, ...]; up blocks use ReLU in both.
That variant is ``AudioUNetConfig.original()`` (or ``build_model("audiounet", preset="original")``).
Convolutions start with He (Kaiming) normal weights (the original code used orthogonal ones,
which take 15-20 s to draw for the paper-size network on a 2-core CPU); the last layer
starts near zero (normal, std 1e-3) as in the original code, so an untrained network returns
(almost exactly) the cubic spline.

Sizes (``count_parameters``, derived layer by layer in tests/test_models.py): the paper's B = 8
network has 118,172,802 parameters, the original code's B = 4 variant 70,977,154. The two cost
about the same per second of audio (~0.9 s per second at r = 4 on a 2-core CPU): the outer
blocks, at the highest time resolution, do most of the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import WavesrError
from .base import Upsampler, UpsamplerConfig, register
from .spline import CubicSplineUpsampler

ACTIVATIONS = ("relu", "leaky_relu")
LEAKY_SLOPE = 0.2


def subpixel1d(x: Tensor, r: int) -> Tensor:
    """One-dimensional sub-pixel shuffle (Shi et al., 2016): channels into time.

    ``out[b, c, t * r + i] = x[b, c * r + i, t]``: each group of ``r`` consecutive channels becomes
    ``r`` consecutive time steps of one output channel.

    Parameters
    ----------
    x : ``[batch, channels * r, time]``.

    Returns
    -------
    ``[batch, channels, time * r]``.
    """
    b, cr, t = x.shape
    if cr % r:
        raise ValueError(f"subpixel1d: {cr} channels is not a multiple of r = {r}")
    return x.reshape(b, cr // r, r, t).transpose(2, 3).reshape(b, cr // r, t * r)


def _activation(name: str) -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE) if name == "leaky_relu" else nn.ReLU()


class DownBlock(nn.Module):
    """conv (stride 2) -> [batch norm] -> activation: ``[b, c_in, t]`` -> ``[b, c_out, t / 2]``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, batch_norm: bool, activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, stride=2, padding=kernel // 2, bias=not batch_norm)
        self.norm = nn.BatchNorm1d(c_out) if batch_norm else nn.Identity()
        self.act = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(x)))


class Bottleneck(nn.Module):
    """conv (stride 2) -> dropout -> activation: ``[b, c_in, t]`` -> ``[b, c_out, t / 2]``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, stride=2, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)
        self.act = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.drop(self.conv(x)))


class UpBlock(nn.Module):
    """conv -> dropout -> ReLU -> subpixel(2): ``[b, c_in, t]`` -> ``[b, c_out, 2 t]``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, 2 * c_out, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)
        self.act = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        return subpixel1d(self.act(self.drop(self.conv(x))), 2)


@dataclass
class AudioUNetConfig(UpsamplerConfig):
    """AudioUNet settings; the defaults are the paper's network (B = 8, batch norm, ReLU).

    ``filters`` and ``kernel_sizes`` list the down blocks from the input inwards (the first
    ``blocks`` entries are used; the bottleneck repeats the deepest block's), ``width`` scales
    every filter count (``round(f * width)``, at least 1), for small networks.
    """

    blocks: int = 8
    filters: list[int] = field(default_factory=lambda: [128, 384, 512, 512, 512, 512, 512, 512])
    kernel_sizes: list[int] = field(default_factory=lambda: [65, 33, 17, 9, 9, 9, 9, 9])
    width: float = 1.0
    activation: str = "relu"  # down blocks and bottleneck: "relu" | "leaky_relu" (slope 0.2)
    up_activation: str = "relu"  # up blocks (ReLU in the paper and the original code)
    batch_norm: bool = True  # in the down blocks
    dropout: float = 0.5  # bottleneck and up blocks
    last_kernel: int = 9

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "original": {"blocks": 4, "activation": "leaky_relu", "batch_norm": False},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        self.filters, self.kernel_sizes = list(self.filters), list(self.kernel_sizes)
        if not 1 <= self.blocks <= min(len(self.filters), len(self.kernel_sizes)):
            raise WavesrError(
                f"audiounet: blocks must be 1..{min(len(self.filters), len(self.kernel_sizes))} "
                f"(one entry of filters and kernel_sizes per block), got {self.blocks}"
            )
        for k in self.kernel_sizes[: self.blocks] + [self.last_kernel]:
            if k < 1 or k % 2 == 0:
                raise WavesrError(f"audiounet: kernel sizes must be odd and positive, got {k}")
        if min(self.filters[: self.blocks]) < 1 or self.width <= 0:
            raise WavesrError("audiounet: filter counts and width must be positive")
        for a in (self.activation, self.up_activation):
            if a not in ACTIVATIONS:
                raise WavesrError(
                    f"audiounet: unknown activation {a!r} (choose from {', '.join(ACTIVATIONS)})"
                )
        if not 0 <= self.dropout < 1:
            raise WavesrError(f"audiounet: dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def original(cls, **overrides: Any) -> AudioUNetConfig:
        """The original code's variant: B = 4, LeakyReLU(0.2), no batch norm."""
        return cls.preset("original", **overrides)

    def widths(self) -> list[int]:
        """Filter counts of the ``blocks`` down blocks after ``width`` scaling."""
        return [max(1, round(f * self.width)) for f in self.filters[: self.blocks]]


@register("audiounet")
class AudioUNet(Upsampler):
    """The paper's AudioUNet: ``[batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``."""

    config_class = AudioUNetConfig
    config: AudioUNetConfig

    def __init__(self, config: AudioUNetConfig | None = None) -> None:
        super().__init__(config or AudioUNetConfig())
        cfg = self.config
        f, k = cfg.widths(), cfg.kernel_sizes[: cfg.blocks]
        self.cubic = CubicSplineUpsampler(cfg.ratio)
        self.down = nn.ModuleList(
            DownBlock(c_in, c_out, kk, cfg.batch_norm, cfg.activation)
            for c_in, c_out, kk in zip([1] + f[:-1], f, k)
        )
        self.bottleneck = Bottleneck(f[-1], f[-1], k[-1], cfg.dropout, cfg.activation)
        # up blocks, deepest first; each after the deepest also takes the skip concatenated before it
        c_ins = [f[-1]] + [2 * c for c in f[:0:-1]]
        self.up = nn.ModuleList(
            UpBlock(c_in, c_out, kk, cfg.dropout, cfg.up_activation)
            for c_in, c_out, kk in zip(c_ins, f[::-1], k[::-1])
        )
        self.last = nn.Conv1d(2 * f[0], 2, cfg.last_kernel, padding=cfg.last_kernel // 2)
        self._init_weights()

    def _init_weights(self) -> None:
        slope = LEAKY_SLOPE if self.config.activation == "leaky_relu" else 0.0
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, a=slope)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.last.weight, std=1e-3)

    @property
    def multiple(self) -> int:
        """The high-rate length the layers need a multiple of: 2^(blocks + 1)."""
        return 2 ** (self.config.blocks + 1)

    def forward(self, lr: Tensor) -> Tensor:
        """``lr [batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``, any ``time_lr >= 1``.

        The cubic input is padded on the right to a multiple of ``2^(blocks + 1)`` (reflection,
        or zeros when it is shorter than the padding) and the output cropped back.
        """
        self.check_input(lr)
        x = self.cubic(lr)  # [b, 1, T]
        t = x.shape[-1]
        pad = -t % self.multiple
        if pad:
            x = F.pad(x, (0, pad), mode="reflect" if pad < t else "constant")
        h, skips = x, []
        for down in self.down:
            h = down(h)  # [b, f_i, T_pad / 2^(i+1)]
            skips.append(h)
        h = self.bottleneck(h)  # [b, f_B-1, T_pad / 2^(B+1)]
        for up, skip in zip(self.up, reversed(skips)):
            h = torch.cat([up(h), skip], dim=1)  # [b, 2 f_i, T_pad / 2^(i+1)]
        y = subpixel1d(self.last(h), 2).to(x.dtype) + x  # [b, 1, T_pad]; residual added in x's precision
        return y[..., :t]
