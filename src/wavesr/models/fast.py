"""FastNet: wavesr's own network, a low-rate U-Net, many times faster than AudioUNet on a CPU (BENCHMARKS.md).

Why it is fast
--------------
AudioUNet (Kuleshov et al., 2017) first interpolates the input to the high rate and then runs
wide convolutions there, where most of its cost lies. But the input holds no more information
than its low-rate samples, so FastNet never works above the low rate: a U-Net runs at the
low rate and below it, and its last layer writes ``r`` high-rate samples per low-rate step
with a sub-pixel shuffle (Shi et al., 2016). Like AudioUNet it owns its interpolation: the
network's output is a *residual* added to the cubic spline of the input, so it only learns
what the spline misses.

Architecture (``medium`` preset, ``r`` = ratio; rates for r = 4, i.e. 4 kHz in, 16 kHz out)::

    lr [b, 1, T]            any T; before each down step the features get zeros up to a whole stride
    embed   conv(1 -> 32, k 3)                                           [b, 32, T]         4 kHz
    level i = 0 .. L-2                                                   (4 kHz, 1 kHz, 250 Hz)
        depth[i] residual blocks                            -> skip_i
        down    conv(w_i -> w_i+1, k = 2 stride, stride 4)               [b, w_i+1, T / 4^(i+1)]
    bottleneck (level L-1, 62.5 Hz, 256 channels): 4 residual blocks dilated 1, 2, 4, 8
    level i = L-2 .. 0
        up      conv(w_i+1 -> 4 w_i, k 1) -> subpixel(4), + skip_i, one residual block
    head    conv(32 -> frame * r, k 3) -> subpixel(frame * r)             [b, 1, T * r]
    output  skip(lr) + head, cropped to time_lr * r      skip: the cubic spline, or band-limited (sinc)

    residual block:  h + g * conv_k(act(h)),  g a learnable per-channel gain starting at 0.1

``act`` is LeakyReLU(0.2) before every convolution but the first. Widths 32 / 96 / 160 / 256:
1.7 M parameters, ~284 M multiply-accumulates per second of 16 kHz output at r = 4 (the cost is
proportional to the *input* rate: twice that at r = 2, half at r = 8). ``small``: widths
24 / 64 / 128 / 192, 0.87 M parameters, ~147 M MAC/s.

Design choices
--------------
- **No bias and no normalisation anywhere.** With bias-free convolutions and a positively
  homogeneous activation the whole model (spline included) is homogeneous of degree one:
  ``model(a * lr) = a * model(lr)`` for every ``a > 0``. Quiet and loud passages are treated
  alike, silence stays exactly silent, and nothing depends on statistics of the rest of the
  signal (bias-free networks generalise across signal levels; Mohan et al., ICLR 2020).
  Training without normalisation is kept stable by the residual gains ``g`` (LayerScale;
  Touvron et al., 2021).
- **A level at the low rate itself.** A first version began with 1 ms frames (a stride-4 first
  layer, ``frame=4``); a 32-channel level at the input's own rate scored better on both SNR and
  LSD for about a quarter more computation (docs/design.md).
- **Bounded receptive field, frame-aligned.** Every layer is a finite convolution, so an output
  sample depends only on input within :attr:`FastNet.context` low-rate samples either side
  (an upper bound; 2304 = 0.58 s at r = 4). Chunks that start at multiples of
  :attr:`FastNet.hop_multiple` (64) low-rate samples and overlap by ``context`` reproduce the
  whole-signal output to float precision (tests/test_fast.py). Chunks that start elsewhere see
  the strided layers at another phase, and a trained network's output then differs (the
  high-frequency part it cannot predict changes with the phase), so a chunker must align chunk
  starts to ``hop_multiple``.
- **Any length, ending at the array's edge.** Training patches fill their arrays, so the network
  learned signals that run up to the edge of every layer. An input of another length is not
  padded with zero *samples* to a multiple of ``hop_multiple`` (a first version did): the first
  convolution's window reaches into such zeros and the network hears the abrupt end as a click.
  Instead each level's features are padded with zeros to a whole stride before it is strided
  down, and the decoder crops every level back to its own length. Inputs whose length is a
  multiple of ``hop_multiple`` (every training patch, every chunk but a stream's last) are
  computed exactly as before, and excerpts of other lengths score higher (docs/design.md).
- **The head starts at zero**, so an untrained network returns exactly its skip interpolation.
- **Which interpolation to add to** (``skip``): the cubic spline (AudioUNet's choice, the default,
  and what the first shipped models used) or windowed-sinc band-limited interpolation
  (:mod:`wavesr.models.sinc`), which is closer to the original than the spline on held-out
  speech; with it the network only has to add what lies above the low-resolution band. The
  shipped models use ``sinc``.
- **Its own training objective**: ``default_loss = "rmse"`` (per-example RMSE, the original
  code's), chosen by ``wavesr train --loss auto``: the batch-mean squared error is dominated by
  loud, noisy patches and teaches the network to add high frequencies to clean vowels, where the
  spline is already accurate; per-example RMSE weighs every patch's relative error. Of rmse, l2
  and l2+stft trained for the same steps, only rmse beat the spline on both SNR and LSD
  (docs/design.md).

Full band (``fastband``)
------------------------
:class:`FastBandNet` is the same U-Net for a full-band input at the output rate (48 kHz), the
time-domain alternative to :class:`~wavesr.models.band.BandNet`'s STFT frames: ``ratio`` 1, a
strided front end (``frame`` 8: level 0 at 6 kHz steps, then 1.5 kHz, 375 Hz, 94 Hz), and its
output added to the input itself, so that it learns only what the input lacks. Being
homogeneous it needs no level normalisation. Measured against BandNet at equal steps in
BENCHMARKS.md ("candidate networks").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import WavesrError
from .audiounet import subpixel1d
from .base import Upsampler, UpsamplerConfig, register
from .sinc import HALF_WIDTH as SINC_HALF_WIDTH
from .sinc import SincUpsampler
from .spline import KERNEL_HALF_WIDTH, CubicSplineUpsampler

LEAKY_SLOPE = 0.2
SKIPS = ("cubic", "sinc")


@dataclass
class FastConfig(UpsamplerConfig):
    """FastNet settings (the defaults are the ``medium`` preset).

    ``widths[i]`` is the channel count of level ``i``; level 0 runs at ``sr_lowres / frame``
    steps per second and each further level ``stride`` times slower. ``depth[i]`` is the number
    of residual blocks of level ``i`` in the encoder (the last level is the bottleneck, whose
    blocks are dilated 1, 2, 4, ...); each decoder level has one block.
    """

    frame: int = 1  # low-rate samples per level-0 step (1, or even: a strided first layer)
    stride: int = 4  # time reduction between levels (even)
    widths: list[int] = field(default_factory=lambda: [32, 96, 160, 256])
    depth: list[int] = field(default_factory=lambda: [1, 1, 1, 4])
    kernel: int = 3  # kernel of the residual blocks (odd)
    layer_scale: float = 0.1  # initial gain of every residual branch
    skip: str = "cubic"  # the interpolation the output adds to: cubic (spline) or sinc (band-limited)

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "small": {"widths": [24, 64, 128, 192], "depth": [1, 1, 1, 3]},
        "medium": {},
    }

    SKIPS: ClassVar[tuple[str, ...]] = SKIPS

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_levels()

    def check_levels(self) -> None:
        """The levels, strides, kernel, gains and skip are well formed."""
        self.widths, self.depth = [int(w) for w in self.widths], [int(d) for d in self.depth]
        if not self.widths or len(self.widths) != len(self.depth):
            raise WavesrError(
                f"fast: widths and depth need one entry per level, got {self.widths} and {self.depth}"
            )
        if min(self.widths) < 1 or min(self.depth) < 0:
            raise WavesrError("fast: widths must be positive and depths non-negative")
        if self.frame < 1 or (self.frame > 1 and self.frame % 2):
            raise WavesrError(f"fast: frame must be 1 or even, got {self.frame}")
        if self.stride < 2 or self.stride % 2:
            raise WavesrError(f"fast: stride must be even and at least 2, got {self.stride}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise WavesrError(f"fast: kernel must be odd and positive, got {self.kernel}")
        if self.layer_scale <= 0:
            raise WavesrError(f"fast: layer_scale must be positive, got {self.layer_scale}")
        if self.skip not in self.SKIPS:
            raise WavesrError(f"fast: skip must be one of {', '.join(self.SKIPS)}, got {self.skip!r}")


@dataclass
class FastBandConfig(FastConfig):
    """FastNet at one rate for full-band input (:class:`FastBandNet`): ``ratio`` 1, ``frame``
    output-rate samples per level-0 step (the strided front end), the output added to the input
    itself (``skip`` ``"none"``). ``small`` is FastNet's small widths."""

    ratio: int = 1
    sr: int = 48000
    frame: int = 8
    skip: str = "none"

    SKIPS: ClassVar[tuple[str, ...]] = ("none",)

    def __post_init__(self) -> None:
        if self.ratio != 1:
            raise WavesrError(f"fastband works at one rate (ratio 1), got ratio {self.ratio!r}")
        if isinstance(self.sr, bool) or int(self.sr) != self.sr or self.sr <= 0:
            raise WavesrError(f"sr must be a positive integer (Hz), got {self.sr!r}")
        self.sr = int(self.sr)
        self.check_running()
        self.check_levels()


def _strided(c_in: int, c_out: int, stride: int) -> nn.Conv1d:
    """``[b, c_in, t]`` -> ``[b, c_out, t / stride]``, windows of ``2 stride`` (3 when ``stride`` is 1)."""
    if stride == 1:
        return nn.Conv1d(c_in, c_out, 3, padding=1, bias=False)
    return nn.Conv1d(c_in, c_out, 2 * stride, stride=stride, padding=stride // 2, bias=False)


class ResBlock(nn.Module):
    """``h + g * conv(act(h))``, bias-free, with per-channel gains ``g``: ``[b, c, t]`` kept."""

    def __init__(self, channels: int, kernel: int, dilation: int, layer_scale: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2, bias=False
        )
        self.scale = nn.Parameter(torch.full((channels, 1), float(layer_scale)))

    def forward(self, h: Tensor) -> Tensor:
        return h + self.scale * self.conv(F.leaky_relu(h, LEAKY_SLOPE))


class Up(nn.Module):
    """Sub-pixel upsampling: ``[b, c_in, t]`` -> ``[b, c_out, t * stride]``."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv1d(c_in, c_out * stride, 1, bias=False)

    def forward(self, h: Tensor) -> Tensor:
        return subpixel1d(self.conv(F.leaky_relu(h, LEAKY_SLOPE)), self.stride)


@register("fast")
class FastNet(Upsampler):
    """Low-rate U-Net with a sub-pixel head: ``[batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``."""

    config_class = FastConfig
    config: FastConfig
    default_loss = "rmse"  # the objective ``wavesr train --loss auto`` uses (see the module docstring)

    def __init__(self, config: FastConfig | None = None) -> None:
        super().__init__(config or FastConfig())
        cfg = self.config
        w, s, levels = cfg.widths, cfg.stride, len(cfg.widths)
        self.skip: nn.Module = (
            nn.Identity()
            if cfg.skip == "none"
            else CubicSplineUpsampler(cfg.ratio)
            if cfg.skip == "cubic"
            else SincUpsampler(cfg.ratio)
        )
        self.embed = _strided(1, w[0], cfg.frame)
        self.encoder = nn.ModuleList()
        for i in range(levels):
            dilations = [2**j for j in range(cfg.depth[i])] if i == levels - 1 else [1] * cfg.depth[i]
            self.encoder.append(
                nn.Sequential(*(ResBlock(w[i], cfg.kernel, d, cfg.layer_scale) for d in dilations))
            )
        self.down = nn.ModuleList(_strided(w[i], w[i + 1], s) for i in range(levels - 1))
        self.up = nn.ModuleList(Up(w[i + 1], w[i], s) for i in range(levels - 1))
        self.decoder = nn.ModuleList(
            ResBlock(w[i], cfg.kernel, 1, cfg.layer_scale) for i in range(levels - 1)
        )
        self.head = nn.Conv1d(w[0], cfg.frame * cfg.ratio, 3, padding=1, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, a=LEAKY_SLOPE)
        nn.init.zeros_(self.head.weight)  # an untrained network is its skip interpolation

    @property
    def hop_multiple(self) -> int:
        """Low-rate samples per step of the deepest level (the stride grid of the whole network);
        chunks that start at multiples of it see the same frames as the whole signal."""
        return self.config.frame * self.config.stride ** (len(self.config.widths) - 1)

    @property
    def context(self) -> int:
        """Upper bound, in low-rate samples, on how far either side an output sample looks (the
        network's receptive field plus the spline's kernel), rounded up to a multiple of
        :attr:`hop_multiple` so that chunks overlapping by it stay aligned."""
        cfg = self.config
        size = cfg.frame  # low-rate samples per step at the current level
        reach = size + 2 * cfg.frame  # one step, plus the embedding's window
        for i, blocks in enumerate(self.encoder):
            for block in blocks.children():  # one level's ResBlocks
                assert isinstance(block, ResBlock)
                reach += size * block.conv.dilation[0] * (cfg.kernel - 1)
            if i < len(self.down):
                reach += size * 2 * cfg.stride  # down window
                size *= cfg.stride
        for _ in self.decoder:
            size //= cfg.stride
            reach += size * (cfg.stride + cfg.kernel - 1)  # one deeper step, then the decoder block
        reach += 2 * size + max(KERNEL_HALF_WIDTH, SINC_HALF_WIDTH)  # the head's kernel, the skip's
        return -(-reach // self.hop_multiple) * self.hop_multiple

    def forward(self, lr: Tensor) -> Tensor:
        """``lr [batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``, any ``time_lr >= 1``.

        Without gradients, the faster runner :mod:`wavesr.runtime` may have put in place
        (``self.runner``) computes it, for inputs as long as it takes."""
        self.check_input(lr)
        runner = getattr(self, "runner", None)
        if runner is not None and not torch.is_grad_enabled() and lr.shape[-1] >= runner.min_length:
            return runner(lr)[0]
        t, s = lr.shape[-1], self.config.stride
        x = F.pad(lr, (0, (-t) % self.config.frame))  # [b, 1, T]: t rounded up to a whole frame
        h = self.embed(x)  # [b, w0, T / frame]
        skips = []
        for i, blocks in enumerate(self.encoder):
            h = blocks(h)
            if i < len(self.down):
                skips.append(h)
                h = F.pad(
                    F.leaky_relu(h, LEAKY_SLOPE), (0, (-h.shape[-1]) % s)
                )  # zero features to a whole stride
                h = self.down[i](h)  # [b, w_i+1, ceil(n_i / stride)]
        for i in reversed(range(len(self.decoder))):
            skip = skips[i]
            h = self.decoder[i](
                self.up[i](h)[..., : skip.shape[-1]] + skip
            )  # [b, w_i, n_i]: this level's length
        y = self.head(F.leaky_relu(h, LEAKY_SLOPE))  # [b, frame * r, T / frame]
        y = subpixel1d(y, self.config.frame * self.ratio)  # [b, 1, T * r]
        return self.skip(lr) + y[..., : t * self.ratio]


@register("fastband")
class FastBandNet(FastNet):
    """The time-domain full-band candidate: FastNet at the output rate (module docstring, "Full band").

    ``[batch, 1, time]`` at ``sr`` -> the same, the missing band added as a residual."""

    config_class = FastBandConfig
    config: FastBandConfig
    default_loss = "band"  # the full-band objective (wavesr.losses.band_loss), as BandNet's
    full_band = True  # takes and returns audio at ``sr`` (wavesr.extend runs it)
