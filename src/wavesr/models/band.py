"""BandNet: wavesr's full-band network, which extends a signal's band on STFT frames at the output rate.

What it does
------------
The paper's networks map a low-rate signal to one ``r`` times faster. A full-band input is
different: a 48 kHz file whose real content ends somewhere between 2 and 20 kHz (a phone call,
an MP3, a file once resampled from a lower rate). BandNet takes the signal *at the output rate*
(``ratio`` 1), whatever its bandwidth, and returns it at the same rate with the missing top band
generated; it never needs to be told the bandwidth, which it reads from the spectrum (one network
serves every input bandwidth). :mod:`wavesr.extend` measures the input's band and puts the
input's own content back below it after the network (:func:`wavesr.extend.put_back`).

Architecture (default config, 48 kHz)::

    x [b, 1, T]                 scaled by its RMS (the network is level-invariant), any T
    STFT  Hann 1024, hop 256    [b, 513, N]  complex, N = T / 256 + 1 frames (187.5 per second)
    features per frame          log |X| (513) ++ cos, sin of the phase below ``phase_hz`` (2 x 256)
    embed  conv k 1             [b, width, N]
    blocks x ConvNeXt-1D        h + g * pw2(gelu(pw1(norm(dw_k(h)))))   dw over frames, width x expand
    heads  conv k 1             log-magnitude (513), phase as (re, im) -> atan2 (513 + 513),
                                keep (513): sigmoid weight of the input's own bin
    Y = keep * X + (1 - keep) * exp(logmag) * e^(i phase)
    iSTFT -> [b, 1, T]          times the RMS again

It is AP-BWE's design (Lu et al., 2024: magnitude and phase predicted at the frame rate by
ConvNeXt blocks) made small: the cost is per frame, not per sample, so 48 kHz is cheap. The
``keep`` head starts near 1 and the magnitude head near silence, so an untrained network returns
its input. Every layer is a finite convolution over frames: an output frame depends on
``blocks * (kernel - 1) / 2`` frames either side (:attr:`BandNet.context`, in samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..errors import WavesrError
from .base import Upsampler, UpsamplerConfig, register

EPS = 1e-5  # floor of the magnitudes the log features see (the input is RMS-normalised)
CORE_FRAMES = 2048  # frames of the spectrum the core takes at once without gradients (memory; 11 s at 48 kHz)


@dataclass
class BandConfig(UpsamplerConfig):
    """BandNet's settings; ``ratio`` is 1 (input and output at ``sr``)."""

    ratio: int = 1
    sr: int = 48000
    n_fft: int = 1024
    hop: int = 256
    width: int = 128
    blocks: int = 7
    kernel: int = 7
    expand: int = 3
    phase_hz: float = 12000.0  # the input's phase is a feature below this frequency

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "small": {"width": 96, "blocks": 5},
        "medium": {},
        "large": {"width": 192, "blocks": 10},
    }

    def __post_init__(self) -> None:
        if self.ratio != 1:
            raise WavesrError(f"BandNet works at one rate (ratio 1), got ratio {self.ratio!r}")
        if isinstance(self.sr, bool) or int(self.sr) != self.sr or self.sr <= 0:
            raise WavesrError(f"sr must be a positive integer (Hz), got {self.sr!r}")
        for name in ("n_fft", "hop", "width", "blocks", "kernel", "expand"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise WavesrError(f"BandNet {name} must be a positive integer, got {value!r}")
        if self.hop > self.n_fft or self.kernel % 2 == 0:
            raise WavesrError("BandNet needs hop <= n_fft and an odd kernel")
        self.sr = int(self.sr)
        self.check_running()


class ConvNeXtBlock(nn.Module):
    """Depthwise convolution over frames, LayerNorm over channels, a pointwise MLP, a scaled residual."""

    def __init__(self, width: int, kernel: int, expand: int) -> None:
        super().__init__()
        self.dw = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.norm = nn.LayerNorm(width)
        self.pw1 = nn.Linear(width, width * expand)
        self.pw2 = nn.Linear(width * expand, width)
        self.gain = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, h: Tensor) -> Tensor:
        y = self.norm(self.dw(h).transpose(1, 2))
        y = self.pw2(nn.functional.gelu(self.pw1(y))) * self.gain
        return h + y.transpose(1, 2)


@register("band")
class BandNet(Upsampler):
    """The full-band network (see the module docstring)."""

    config_class = BandConfig
    config: BandConfig
    window: Tensor  # a buffer
    default_loss = "band"  # the objective ``wavesr train --loss auto`` uses (wavesr.losses)
    full_band = True  # takes and returns audio at ``sr`` (wavesr.extend runs it)

    def __init__(self, config: BandConfig | None = None) -> None:
        config = config or BandConfig()
        super().__init__(config)
        bins = config.n_fft // 2 + 1
        self.bins = bins
        self.phase_bins = min(bins, max(1, round(config.phase_hz / (config.sr / config.n_fft))))
        self.embed = nn.Conv1d(bins + 2 * self.phase_bins, config.width, 1)
        self.blocks = nn.Sequential(
            *(ConvNeXtBlock(config.width, config.kernel, config.expand) for _ in range(config.blocks))
        )
        self.norm = nn.LayerNorm(config.width)
        self.magnitude = nn.Conv1d(config.width, bins, 1, bias=True)
        self.phase = nn.Conv1d(config.width, 2 * bins, 1)
        self.keep = nn.Conv1d(config.width, bins, 1, bias=True)
        # made on the CPU even when the network is built on the meta device to check a checkpoint's
        # shapes: there, torch computes it through its decompositions, which import torch._dynamo (2 s)
        self.register_buffer("window", torch.hann_window(config.n_fft, device="cpu"), persistent=False)
        with torch.no_grad():  # untrained: the input through, nothing generated
            self.magnitude.weight.mul_(0.1)
            nn.init.constant_(self.magnitude.bias, math.log(EPS))  # type: ignore[arg-type]
            self.keep.weight.mul_(0.1)
            nn.init.constant_(self.keep.bias, 6.0)  # type: ignore[arg-type]

    @property
    def context(self) -> int:
        """Samples either side an output sample depends on (an upper bound)."""
        c = self.config
        return (c.blocks * (c.kernel - 1) // 2 + 1) * c.hop + c.n_fft

    def forward(self, x: Tensor) -> Tensor:
        n = self.check_input(x)
        c = self.config
        scale = x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-4)
        signal = (x / scale)[:, 0]
        pad = max(0, c.n_fft - n)  # shorter than one frame: padded, then cropped
        if pad:
            signal = nn.functional.pad(signal, (0, pad))
        # frames first ([b, frames, bins]) so that every pointwise layer is one matrix product
        spec = torch.view_as_real(
            torch.stft(signal, c.n_fft, c.hop, window=self.window, return_complex=True).transpose(1, 2)
        )
        out_re, out_im = self.run_core(spec[..., 0], spec[..., 1])
        y = self.synthesis(out_re, out_im, n + pad)
        return (y[:, :n] * scale[:, 0])[:, None]

    def core(self, re_in: Tensor, im_in: Tensor) -> tuple[Tensor, Tensor]:
        """Everything between the STFT and its inverse, on the input's spectrum ``[b, frames, bins]``
        (real, imaginary): the features, the network and the output spectrum (real, imaginary). What
        :mod:`wavesr.runtime` may run through ONNX Runtime instead."""
        f, b, p = nn.functional, self.bins, self.phase_bins
        magnitude = torch.sqrt(re_in * re_in + im_in * im_in)
        inverse = 1.0 / magnitude[..., :p].clamp_min(1e-9)
        w = self.embed.weight[..., 0]  # the embedding of [log |X|, cos, sin] as three products, no concat
        h = f.linear(torch.log(magnitude + EPS), w[:, :b].contiguous(), self.embed.bias)
        h = h + f.linear(re_in[..., :p] * inverse, w[:, b : b + p].contiguous())
        h = h + f.linear(im_in[..., :p] * inverse, w[:, b + p :].contiguous())
        h = self.norm(self.blocks(h.transpose(1, 2)).transpose(1, 2))
        log_magnitude = f.linear(h, self.magnitude.weight[..., 0], self.magnitude.bias).clamp(max=12.0)
        re, im = f.linear(h, self.phase.weight[..., 0], self.phase.bias).chunk(2, dim=-1)
        keep = torch.sigmoid(f.linear(h, self.keep.weight[..., 0], self.keep.bias))
        # exp(log |Y|) e^(i atan2(im, re)), written without the angle: (re, im) scaled to that magnitude
        gain = (1 - keep) * torch.exp(log_magnitude) / torch.sqrt(re * re + im * im + 1e-18)
        return keep * re_in + gain * re, keep * im_in + gain * im

    def run_core(self, re_in: Tensor, im_in: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`core`, or the faster runner :mod:`wavesr.runtime` put in its place (``self.runner``).

        Without gradients, a long input goes through in pieces of :data:`CORE_FRAMES` frames, each
        with :attr:`frame_context` frames of its neighbours either side (the reach of the blocks'
        convolutions): the same numbers as in one piece, in a fraction of the memory."""
        if torch.is_grad_enabled():
            return self.core(re_in, im_in)
        run = getattr(self, "runner", None) or self.core
        frames, margin = re_in.shape[1], self.frame_context
        if frames <= CORE_FRAMES + 2 * margin:
            return run(re_in, im_in)
        pieces = []
        for start in range(0, frames, CORE_FRAMES):
            a, b = max(0, start - margin), min(frames, start + CORE_FRAMES + margin)
            out_re, out_im = run(re_in[:, a:b], im_in[:, a:b])
            keep = slice(start - a, start - a + min(CORE_FRAMES, frames - start))
            pieces.append((out_re[:, keep], out_im[:, keep]))
        return torch.cat([p[0] for p in pieces], dim=1), torch.cat([p[1] for p in pieces], dim=1)

    @property
    def frame_context(self) -> int:
        """Frames either side an output frame of :meth:`core` depends on (its depthwise convolutions)."""
        return self.config.blocks * (self.config.kernel // 2)

    def synthesis(self, re: Tensor, im: Tensor, length: int) -> Tensor:
        """The inverse STFT of ``[b, frames, bins]`` (Hann, ``hop``, centred): ``[b, length]``, as
        ``torch.istft`` computes it, with the overlap-add done as ``n_fft / hop`` shifted sums (torch's
        fold is a third of the network's time) when the hop divides the frame."""
        c = self.config
        if c.n_fft % c.hop:
            return torch.istft(
                torch.complex(re, im).transpose(1, 2), c.n_fft, c.hop, window=self.window, length=length
            )
        frames = torch.fft.irfft(torch.complex(re, im), n=c.n_fft, dim=-1) * self.window  # [b, N, n_fft]
        b, count, _ = frames.shape
        k = c.n_fft // c.hop
        parts = frames.reshape(b, count, k, c.hop)
        out = frames.new_zeros(b, count + k - 1, c.hop)
        for j in range(k):
            out[:, j : j + count] += parts[:, :, j]
        envelope = self._envelope(count)
        y = (out.reshape(b, -1) / envelope)[:, c.n_fft // 2 :]
        return nn.functional.pad(y, (0, max(0, length - y.shape[1])))[:, :length]

    def _envelope(self, count: int) -> Tensor:
        """The summed squared window of ``count`` frames (what the overlap-add divides by), floored."""
        c = self.config
        k = c.n_fft // c.hop
        square = (self.window**2).reshape(k, c.hop)
        total = square.new_zeros(count + k - 1, c.hop)
        for j in range(k):
            total[j : j + count] += square[j]
        return total.reshape(-1).clamp_min(1e-11)
