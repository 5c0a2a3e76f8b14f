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

Causal (``causal=true``, the live model)
----------------------------------------
Every depthwise convolution sees its frame and the ``kernel - 1`` before it, and each frame is
divided by its own running level (the RMS of it and the ``level_frames - 1`` frames before it,
:meth:`BandNet.frame_level`) instead of the whole input's RMS; the STFT's frames are zero-padded
at both ends. An output sample then depends on the input up to ``n_fft`` samples after it and
nothing later, so :class:`FrameStream` runs the network frame by frame, each frame once, with
the same output as ``forward`` on the whole input. Such a network puts the input's band back on
its frames (``forward(x, band, strength)``, :func:`put_back_frames`, :attr:`BandNet.frames_put_back`),
which looks nothing ahead, where the other networks' band is put back after them by
:func:`wavesr.audio.put_back` over a whole chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
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
    # causal: every output frame from this and earlier frames only, so that a live stream runs the
    # network frame by frame (BandNet.streamer), each frame's level from the last level_frames frames
    causal: bool = False
    level_frames: int = 32

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
        if not isinstance(self.causal, bool):
            raise WavesrError(f"BandNet causal must be true or false, got {self.causal!r}")
        if (
            isinstance(self.level_frames, bool)
            or int(self.level_frames) != self.level_frames
            or self.level_frames < 1
        ):
            raise WavesrError(f"BandNet level_frames must be a positive integer, got {self.level_frames!r}")
        if self.causal and self.n_fft % self.hop:
            raise WavesrError("a causal BandNet needs a hop that divides n_fft (its stream adds frames up)")
        self.sr = int(self.sr)
        self.check_running()


class ConvNeXtBlock(nn.Module):
    """Depthwise convolution over frames, LayerNorm over channels, a pointwise MLP, a scaled residual.

    ``causal``: the convolution sees this frame and the ``kernel - 1`` before it (zeros before the
    first), so :meth:`step` can run it on new frames with the last ones kept as its state."""

    def __init__(self, width: int, kernel: int, expand: int, causal: bool = False) -> None:
        super().__init__()
        self.causal, self.kernel = causal, kernel
        self.dw = nn.Conv1d(width, width, kernel, padding=0 if causal else kernel // 2, groups=width)
        self.norm = nn.LayerNorm(width)
        self.pw1 = nn.Linear(width, width * expand)
        self.pw2 = nn.Linear(width * expand, width)
        self.gain = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, h: Tensor) -> Tensor:
        return self._rest(h, self.dw(nn.functional.pad(h, (self.kernel - 1, 0)) if self.causal else h))

    def step(self, h: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """A causal block on new frames ``h [b, width, n]``; ``state`` holds the ``kernel - 1`` frames
        before them (zeros at the start). Returns the output frames and the next state."""
        seen = torch.cat([state, h], dim=2)
        # the last kernel - 1 frames by a constant (negative) index: an export then has no shape arithmetic
        after = seen[:, :, 1 - self.kernel :] if self.kernel > 1 else seen[:, :, :0]
        return self._rest(h, self.dw(seen)), after

    def _rest(self, h: Tensor, conv: Tensor) -> Tensor:
        y = self.norm(conv.transpose(1, 2))
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
            *(
                ConvNeXtBlock(config.width, config.kernel, config.expand, config.causal)
                for _ in range(config.blocks)
            )
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
        if c.causal:  # all of it in the past, and its level's frames too
            return (c.blocks * (c.kernel - 1) + c.level_frames + 1) * c.hop + c.n_fft
        return (c.blocks * (c.kernel - 1) // 2 + 1) * c.hop + c.n_fft

    @property
    def frames_put_back(self) -> bool:
        """Whether the input's band is put back inside the network (``forward(x, band=...)``, on its
        frames) rather than after it by :func:`wavesr.audio.put_back`: so for a causal network."""
        return self.config.causal

    def forward(self, x: Tensor, band: float | None = None, strength: float = 1.0) -> Tensor:
        """``[b, 1, T]`` at ``sr`` -> the same, the band above the input's extended. A causal network
        given ``band`` (Hz) keeps the input's own frames below it (:func:`put_back_frames`)."""
        n = self.check_input(x)
        c = self.config
        if c.causal:
            return self._causal(x, n, band, strength)
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

    def _causal(self, x: Tensor, n: int, band: float | None, strength: float) -> Tensor:
        """A causal network's forward: zero-padded frames, each scaled by its running level."""
        c = self.config
        signal = x[:, 0]
        pad = max(0, c.n_fft - n)
        if pad:
            signal = nn.functional.pad(signal, (0, pad))
        spec = torch.stft(
            signal, c.n_fft, c.hop, window=self.window, return_complex=True, pad_mode="constant"
        ).transpose(1, 2)
        re, im = spec.real.contiguous(), spec.imag.contiguous()
        level = self.frame_level(re * re + im * im)
        out_re, out_im = self.run_core(re / level, im / level)
        out_re, out_im = out_re * level, out_im * level
        if band is not None:
            out_re, out_im = put_back_frames(re, im, out_re, out_im, c.sr, c.n_fft, band, strength)
        return self.synthesis(out_re, out_im, n + pad)[:, :n][:, None]

    def frame_power(self, power: Tensor) -> Tensor:
        """Each frame's mean power per sample, from its bins' ``|X|^2`` ``[b, frames, bins]``: ``[b, frames]``
        (white noise of variance v gives about v)."""
        return power.sum(dim=-1) / (self.bins * float(self.window.pow(2).sum()))

    def frame_level(self, power: Tensor) -> Tensor:
        """Each frame's level ``[b, frames, 1]``: the RMS over it and the ``level_frames - 1`` before it
        (fewer at the start), at least 1e-4; a causal network's frames are divided by it."""
        c = self.config
        p = self.frame_power(power)
        total = nn.functional.avg_pool1d(
            nn.functional.pad(p[:, None], (c.level_frames - 1, 0)), c.level_frames, 1
        )
        count = torch.arange(1, p.shape[1] + 1, device=p.device).clamp(max=c.level_frames)
        return (total[:, 0] * c.level_frames / count).sqrt().clamp_min(1e-4)[..., None]

    def streamer(self, channels: int = 1, band: float | None = None, strength: float = 1.0) -> FrameStream:
        """A causal network run frame by frame on audio that arrives in blocks (:class:`FrameStream`)."""
        if not self.config.causal:
            raise WavesrError("only a causal BandNet streams frame by frame (causal=true)")
        if not self.training and self.window.device.type == "cpu":
            from ..runtime import accelerate_step

            accelerate_step(self)  # its frame step in ONNX Runtime, where it reproduces torch
        return FrameStream(self, channels, band, strength)

    def frame_step(self) -> Any:
        """:meth:`stream_step` on numpy arrays, for :class:`FrameStream`: in ONNX Runtime where
        :func:`wavesr.runtime.accelerate_step` put a runner in place (``self.step_runner``), else torch."""
        runner = getattr(self, "step_runner", None)
        if runner is not None:
            return runner
        device = self.window.device

        def step(spec: np.ndarray, level: np.ndarray, mix: np.ndarray, states: np.ndarray) -> tuple[Any, Any]:
            with torch.inference_mode():
                out, after = self.stream_step(
                    *(torch.from_numpy(a).to(device) for a in (spec, level, mix, states))
                )
            return out.cpu().numpy(), after.cpu().numpy()

        return step

    def stream_step(self, spec: Tensor, level: Tensor, mix: Tensor, states: Tensor) -> tuple[Tensor, Tensor]:
        """:class:`FrameStream`'s step on new frames, in four arrays and out in two: the input spectrum
        ``[channels, frames, bins, 2]``
        (real, imaginary), each frame's level ``[channels, frames, 1]``, the put-back weights ``mix``
        ``[2, bins]`` (keep, gain: :func:`put_back_weights`; zeros and ones to keep nothing) and the
        blocks' states one after the other ``[channels, width, blocks * (kernel - 1)]``. Returns the
        output spectrum (the same layout) and the next states: what ``forward`` computes for those
        frames."""
        re, im = spec[..., 0], spec[..., 1]
        k = self.config.kernel - 1
        blocks = [states[:, :, i * k : (i + 1) * k] for i in range(len(self.blocks))]
        out_re, out_im, after = self.core_step(re / level, im / level, blocks)
        keep, gain = mix[0], mix[1] * level  # as forward: the level back on, the input's band put back
        out = torch.stack([re * keep + out_re * gain, im * keep + out_im * gain], dim=-1)
        return out, torch.cat(after, dim=2)

    def core(self, re_in: Tensor, im_in: Tensor) -> tuple[Tensor, Tensor]:
        """Everything between the STFT and its inverse, on the input's spectrum ``[b, frames, bins]``
        (real, imaginary): the features, the network and the output spectrum (real, imaginary). What
        :mod:`wavesr.runtime` may run through ONNX Runtime instead."""
        h = self._embedded(re_in, im_in)
        h = self.norm(self.blocks(h.transpose(1, 2)).transpose(1, 2))
        return self._heads(h, re_in, im_in)

    def core_step(
        self, re_in: Tensor, im_in: Tensor, states: list[Tensor]
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """:meth:`core` of a causal network on new frames, each block's last frames in ``states``
        (:meth:`ConvNeXtBlock.step`); returns the output spectrum and the next states."""
        h = self._embedded(re_in, im_in).transpose(1, 2)
        after = []
        for block, state in zip(self.blocks, states):
            assert isinstance(block, ConvNeXtBlock)
            h, state = block.step(h, state)
            after.append(state)
        out_re, out_im = self._heads(self.norm(h.transpose(1, 2)), re_in, im_in)
        return out_re, out_im, after

    def _embedded(self, re_in: Tensor, im_in: Tensor) -> Tensor:
        """The features of each frame, embedded: ``[b, frames, width]``."""
        f, b, p = nn.functional, self.bins, self.phase_bins
        magnitude = torch.sqrt(re_in * re_in + im_in * im_in)
        inverse = 1.0 / magnitude[..., :p].clamp_min(1e-9)
        w = self.embed.weight[..., 0]  # the embedding of [log |X|, cos, sin] as three products, no concat
        h = f.linear(torch.log(magnitude + EPS), w[:, :b].contiguous(), self.embed.bias)
        h = h + f.linear(re_in[..., :p] * inverse, w[:, b : b + p].contiguous())
        return h + f.linear(im_in[..., :p] * inverse, w[:, b + p :].contiguous())

    def _heads(self, h: Tensor, re_in: Tensor, im_in: Tensor) -> tuple[Tensor, Tensor]:
        """The output spectrum from the blocks' features and the input spectrum."""
        b = self.bins  # the three heads as one product, split by constant indices
        heads = (self.magnitude, self.phase, self.keep)
        weight = torch.cat([head.weight[..., 0] for head in heads])
        bias = torch.cat([head.bias for head in heads if head.bias is not None])
        out = nn.functional.linear(h, weight, bias)
        log_magnitude = out[..., :b].clamp(max=12.0)
        re, im = out[..., b : 2 * b], out[..., 2 * b : 3 * b]
        keep = torch.sigmoid(out[..., 3 * b :])
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


def put_back_weights(bins: int, sr: float, n_fft: int, cutoff: float, strength: float = 1.0):
    """Per bin, what :func:`put_back_frames` weighs the input's and the network's spectrum by:
    ``(keep, gain)`` float32 numpy arrays of ``bins`` (:func:`wavesr.audio.put_back_weights`)."""
    from ..audio import put_back_weights as weights

    w, scale = weights(np.arange(bins) * (sr / n_fft), cutoff, strength)
    return 1 - w, w * scale


def put_back_frames(
    re_in: Tensor,
    im_in: Tensor,
    re: Tensor,
    im: Tensor,
    sr: float,
    n_fft: int,
    cutoff: float,
    strength: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """:func:`wavesr.audio.put_back` on STFT frames ``[b, frames, bins]``, frame by frame: the input's
    bins below ``cutoff``, the network's above, cross-faded over ``audio.PUT_BACK_BAND`` x ``cutoff``,
    the generated band scaled by ``strength`` (reached by ``audio.STRENGTH_RAMP`` x ``cutoff``). Unlike
    ``put_back`` no level is matched over the file: nothing here looks ahead (a causal network's)."""
    if cutoff <= 0 or cutoff >= sr / 2:
        return re_in, im_in
    keep, gain = (
        torch.from_numpy(w).to(re) for w in put_back_weights(re.shape[-1], sr, n_fft, cutoff, strength)
    )
    return re_in * keep + re * gain, im_in * keep + im * gain


class FrameStream:
    """A causal :class:`BandNet` on audio that arrives in blocks: :meth:`push` ``[channels, n]`` float32
    samples at ``sr`` (numpy), get back those of the output now final; :meth:`flush` at the end.

    Each frame is computed once, when its ``n_fft`` samples have arrived (the blocks' last frames kept
    as their state, :meth:`BandNet.core_step`), and an output sample is final once every frame over it
    is added: it lags the input by at most ``n_fft`` samples (:attr:`lookahead`). The output, after
    :meth:`flush`, is the network's on the whole input (``forward(x, band, strength)``) up to float
    rounding, whatever the block sizes; what the stream holds is bounded (:meth:`buffered`). Around
    the network everything is numpy (a few frames at a time, torch's per-call cost would dominate):
    the framing, torch's FFT, each frame's level, the inverse FFT and the overlap-add. The step
    between (:meth:`BandNet.stream_step`: the network, the level put back, the input's band mixed in)
    runs in ONNX Runtime where :func:`wavesr.runtime.accelerate_step` could export it.
    """

    def __init__(self, model: BandNet, channels: int, band: float | None, strength: float) -> None:
        c = model.config
        self.c, self.channels = c, channels
        self.window = model.window.detach().cpu().numpy().astype(np.float32)
        self.square = self.window**2
        self.per_sample = float(model.bins * self.square.sum())  # frame_power's divisor
        self.half = c.n_fft // 2
        self.lookahead = c.n_fft  # samples an output sample waits for at most
        self.pending = np.zeros((channels, self.half), np.float32)  # padded input not yet framed away
        self.frames = 0  # frames computed
        self.n_in = 0
        self.states = np.zeros((channels, c.width, len(model.blocks) * (c.kernel - 1)), np.float32)
        self.powers = np.zeros((channels, c.level_frames - 1), np.float32)
        k = c.n_fft // c.hop
        self.sum = np.zeros((channels, (k - 1) * c.hop), np.float32)  # overlap-add of later frames
        self.weight = np.zeros((k - 1) * c.hop, np.float32)  # and of their squared windows
        # once k - 1 frames are in, the squared windows over a final hop always sum to the same (inverse
        # ``full``), and those over the later positions to ``tail``: no weights are added per frame
        segments = self.square.reshape(k, c.hop)
        self.full = (1.0 / np.maximum(segments.sum(axis=0), 1e-11)).astype(np.float32)
        self.tail = np.concatenate([segments[q + 1 :].sum(axis=0) for q in range(k - 1)]).astype(np.float32)
        self.index = np.zeros((0, c.n_fft), np.intp)  # the samples of each of the next frames
        self.emitted = 0  # padded positions given out (the first ``half`` are the padding's, dropped)
        self.mix = np.stack(  # keep, gain per bin (nothing kept, the network's alone, without a band)
            put_back_weights(model.bins, c.sr, c.n_fft, band, strength)
            if band is not None and 0 < band < c.sr / 2
            else (np.zeros(model.bins), np.ones(model.bins))
        ).astype(np.float32)
        self.step = model.frame_step()

    def buffered(self) -> int:
        """Samples per channel held (input to frame, overlap-add, states): bounded."""
        return self.pending.shape[1] + self.sum.shape[1] + self.c.level_frames + self.states.shape[2]

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add ``[channels, n]`` input samples; return ``[channels, m]`` output samples now final."""
        self.n_in += x.shape[1]
        self.pending = np.concatenate([self.pending, np.asarray(x, np.float32)], axis=1)
        return self._frames(last=False)

    def flush(self) -> np.ndarray:
        """The rest of the output: ``n`` samples in all for ``n`` pushed, as ``forward`` gives."""
        pad = max(0, self.c.n_fft - self.n_in)  # shorter than a frame: padded as forward pads it
        given = max(0, self.emitted - self.half)  # signal samples given before this call
        self.pending = np.pad(self.pending, ((0, 0), (0, pad + self.half)))
        out = np.concatenate([self._frames(last=True), self.sum / np.maximum(self.weight, 1e-11)], axis=1)
        return out[:, : max(0, self.n_in - given)]

    def _frames(self, last: bool) -> np.ndarray:
        c = self.c
        count = (self.pending.shape[1] - c.n_fft) // c.hop + 1 if self.pending.shape[1] >= c.n_fft else 0
        if last:  # forward's frames, not more: the ones whose start lies in the padded input
            count = min(count, (self.n_in + max(0, c.n_fft - self.n_in)) // c.hop + 1 - self.frames)
        if count <= 0:
            return np.zeros((self.channels, 0), np.float32)
        if count > self.index.shape[0]:
            self.index = np.arange(count)[:, None] * c.hop + np.arange(c.n_fft)
        frames = self.pending[:, self.index[:count]] * self.window  # [ch, count, n_fft]
        # torch's transform, as forward's torch.stft: above a band-limited input's cutoff the bins hold
        # rounding noise, which another FFT computes otherwise and the log features would amplify
        spec = torch.view_as_real(torch.fft.rfft(torch.from_numpy(frames), dim=-1)).numpy()
        flat = spec.reshape(*spec.shape[:2], -1)
        power = np.einsum("...i,...i->...", flat, flat) / self.per_sample  # BandNet.frame_power
        seen = np.concatenate([self.powers, power], axis=1)
        running = np.cumsum(seen, axis=1, dtype=np.float64)  # window sums as differences (few frames)
        totals = running[:, c.level_frames - 1 :].copy()
        totals[:, 1:] -= running[:, : count - 1]
        index = np.minimum(np.arange(self.frames + 1, self.frames + count + 1), c.level_frames)
        level = np.maximum(np.sqrt(totals / index), 1e-4).astype(np.float32)[..., None]
        self.powers = seen[:, seen.shape[1] - (c.level_frames - 1) :]
        out, self.states = self.step(spec, level, self.mix, self.states)
        # numpy's inverse: the fastest here on a few frames (benchmarks/live_sizes.py --ffts)
        wave = np.fft.irfft(out.view(np.complex64)[..., 0], n=c.n_fft, axis=-1) * self.window
        span = (count - 1) * c.hop + c.n_fft  # overlap-add over the new frames' span
        acc = np.zeros((self.channels, span), np.float32)
        acc[:, : self.sum.shape[1]] = self.sum
        for j in range(count):
            acc[:, j * c.hop : j * c.hop + c.n_fft] += wave[:, j]
        done = count * c.hop  # positions no later frame reaches
        if self.frames >= c.n_fft // c.hop - 1:  # every frame over them is in: the constant weights
            final = (acc[:, :done].reshape(-1, count, c.hop) * self.full).reshape(self.channels, done)
            self.weight = self.tail
        else:
            weight = np.zeros(span, np.float32)
            weight[: self.weight.shape[0]] = self.weight
            for j in range(count):
                weight[j * c.hop : j * c.hop + c.n_fft] += self.square
            final = acc[:, :done] / np.maximum(weight[:done], 1e-11)
            self.weight = weight[done:]
        self.sum = acc[:, done:]
        self.pending = self.pending[:, done:]
        self.frames += count
        skip = max(0, self.half - self.emitted)  # the padding's positions
        self.emitted += done
        return final[:, skip:]
