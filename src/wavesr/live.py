"""Live super-resolution: blocks of any size in, upsampled blocks out, at a fixed latency.

:class:`wavesr.inference.Stream` is a *file* pipeline: its chunks are 10 s long (20 s for a
full-band network), so its first output comes a chunk late. :class:`LiveStream` is for audio that
arrives as it is made (a call, a microphone, an ``ffmpeg`` pipe; ``wavesr stream``): every block
pushed returns the output that is final, and the output lags the input by a constant
:attr:`LiveStream.latency`.

Pipeline
--------
::

    input (sr_in) --resample--> network rate --windows, cross-faded--> model.sr [--resample--> sr_out]

Windows
-------
The networks are not causal: an output sample depends on input on both sides of it (BandNet:
:attr:`~wavesr.models.band.BandNet.context` = 6656 samples, 139 ms, either side; FastNet: 2304
low-rate samples, 0.58 s at x4). The stream cuts the network-rate signal into hops of ``H``
samples (``block``) and runs the network once per hop, on a window of ``P`` samples of past context
(``context``), the hop, and ``A`` samples of look-ahead (``lookahead``)::

    window k      [ ... P ... | kH ========== (k+1)H | ... A ... ]
    weight        0 0 0 0 0 0 /1 1 1 1 1 1 1 1 1 1 1 1\\ 0 0 0 0 0
                              |F|                    |F|

Window ``k`` counts with weight 1 over its hop and fades out with a raised cosine over the ``F``
samples after it (``F = min(H, A / 2)``), while window ``k + 1`` fades in there: the weights sum
to one everywhere, so no block edge is a step. Output up to ``(k + 1) H`` is final once window ``k``
has run, which needs input up to ``(k + 1) H + A``: the algorithmic latency is ``H + A`` at the
network's rate, plus the resamplers' delays (below), whatever the size of the blocks pushed.
Window starts are moved back to the network's stride grid (:func:`wavesr.inference.chunk_sizes`:
FastNet's 64 low-rate samples, BandNet's STFT hop of 256), as the offline chunks are; the first
window starts at the input's first sample and the last ends at its last sample, where the offline
chunks do. Each window goes through :meth:`wavesr.inference.Stream.run_chunk`, so it gets
everything an offline chunk gets: the paper models' input conditioning, the self-ensemble passes,
and for a full-band network the put-back of the input's own band below ``band``
(:func:`wavesr.audio.put_back`, per window: the cross-fades join the windows' gains smoothly). The
soft limiter acts sample by sample, as offline.

With ``P`` and ``A - F`` at least the network's receptive field and the offline resampler
(``quality="VHQ"``), every output sample sees what it sees offline: the stream equals
``wavesr upsample`` up to float rounding for the paper models (FastNet is bias-free and has no
normalisation); a full-band network normalises each window by its RMS and puts the band back per
window, which the offline path does per 20 s chunk, so there the two differ slightly
(tests/test_stream.py and BENCHMARKS.md state the bounds). With the short look-ahead that meets a
40 ms latency, output differs from the offline one by what the missing context changes
(BENCHMARKS.md, "Live streaming").

Frame by frame (a causal network)
---------------------------------
A causal BandNet (``causal=true``: every frame from this and earlier frames only; the shipped
``speech-48k-live``) needs no windows: :meth:`~wavesr.models.band.BandNet.streamer` computes each
STFT frame once, when its ``n_fft`` samples have arrived, keeping each block's last frames as its
state, and overlap-adds the output; the input's band is put back on the frames
(:func:`~wavesr.models.band.put_back_frames`), as the offline path does for such a network. An
output sample waits at most ``n_fft`` samples (10.7 ms at 48 kHz for the live model) plus the
resamplers' delays, whatever the blocks pushed, and the output is the offline one up to float
rounding (with ``exact``: ONNX Runtime's, which runs the frame step). Every frame is computed once,
so a block costs about what its frames cost, not a window's (BENCHMARKS.md, "Live streaming").

Resampling
----------
soxr's streaming resampler (``soxr.ResampleStream``, the offline path's) holds its output back in
blocks: fed 10 ms blocks, its VHQ output for 8 -> 48 kHz lags the input by 22 to 170 ms, and by
tens of ms at every quality but its quick cubic one (measured with soxr 1.1). The live path
(``quality="live"``, the default) therefore uses :class:`Resampler`, a polyphase windowed-sinc
filter (Kaiser, beta 8) that reaches :data:`RESAMPLE_HALF_WIDTH` samples of the lower of the two
rates either side of each output sample: a constant delay of 48 samples of the lower rate and one
of the input (6.1 ms when the lower rate is 8 kHz, 3.1 ms at 16 kHz, 1.1 ms at 44.1 kHz), a pass
band flat within 0.01 dB to 0.9 of the lower Nyquist frequency (-6 dB at 0.95) and at least 65 dB
of stop band from 1.0 of it (the top of the band is where the paper models' input channel and the
full-band put-back replace the signal anyway). On speech at 8 kHz resampled to 48 kHz it is 43 dB
SNR from soxr's VHQ (a 24-sample reach: 30 dB). ``quality="VHQ"`` uses soxr as offline: the
output is that of the file pipeline, at a latency that is no longer constant.

Band of a full-band input
-------------------------
A file's band is measured before it is upsampled (:func:`wavesr.audio.file_cutoff`); a live
stream's future is unknown, so ``band`` (Hz, ``wavesr stream --cutoff``) says where the input's
content ends, and by default it is the input's Nyquist frequency (``sr_in / 2``), as for a file
whose content fills its rate: an 8 kHz call gets the band from 4 to 24 kHz generated; an input at
44.1 kHz or more is full band already and is copied through (resampled if the rates differ),
as :func:`wavesr.extend.plan` decides for files. A copied stream has no hop: each block goes out
as it comes, and its latency is the resampler's delay alone (none at the same rate).

Memory
------
The stream holds the window's samples, one fade of output and the resamplers' filter states: a
few thousand samples per channel whatever the length of the stream (:meth:`LiveStream.buffered`;
tests/test_stream.py, benchmarks/stream.py streams an hour).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr
import torch

from . import audio, checks, inference
from .errors import WavesrError
from .extend import plan

if TYPE_CHECKING:
    from .models.base import Upsampler

LATENCY_BUDGET = 0.040  # seconds: the default look-ahead fills what the block and the resamplers leave
BLOCK_SECONDS = 0.010  # default hop (the algorithmic block)
MIN_LOOKAHEAD_SECONDS = 0.005  # the default look-ahead never goes below this
MAX_CONTEXT_SECONDS = 0.060  # the default past context: the receptive field, at most this
RESAMPLE_HALF_WIDTH = 48  # samples of the lower rate either side of an output sample (the resampler's reach)
RESAMPLE_BETA = 8.0  # Kaiser window: at least 65 dB of stop band at this reach
RESAMPLE_CUTOFF = 0.95  # x the lower Nyquist frequency (transition from 0.9 to 1.0)
QUALITIES = ("live", "VHQ")


def _fraction(rate: float) -> Fraction:
    return Fraction(rate).limit_denominator(1000)


class Resampler:
    """A streaming polyphase resampler with a constant delay (see Resampling in the module docstring).

    :meth:`process` takes ``[channels, n]`` float32 blocks and returns the output samples whose
    inputs have all arrived; :meth:`flush` the rest (zeros after the end), ``round(n_in * sr_out /
    sr_in)`` samples in all. Output sample ``j`` is the input's value at time ``j / sr_out`` (no
    shift); it is returned :attr:`delay` seconds of input after that time.
    """

    def __init__(self, sr_in: float, sr_out: float, channels: int) -> None:
        ratio = _fraction(sr_out) / _fraction(sr_in)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.sr_in, self.sr_out, self.channels = sr_in, sr_out, channels
        self.half = math.ceil(RESAMPLE_HALF_WIDTH * max(1, self.down / self.up))  # input samples either side
        import scipy.signal

        L = self.up
        taps = scipy.signal.firwin(
            2 * self.half * L + 1, RESAMPLE_CUTOFF / max(L, self.down), window=("kaiser", RESAMPLE_BETA)
        )
        taps = np.concatenate([taps * L, np.zeros(L)])  # a phase's last tap may fall past the end
        offsets = np.arange(2 * self.half + 1)  # input sample base - half + o for output phase p
        self.table = taps[np.arange(L)[:, None] + (2 * self.half - offsets)[None, :] * L].astype(np.float32)
        self.columns = np.ascontiguousarray(self.table.T)  # [taps, phases]: one product per block
        self.buffer = np.zeros((channels, self.half), np.float32)  # input from index start (zeros before 0)
        self.start = -self.half
        self.n_in = self.n_out = 0

    @property
    def delay(self) -> float:
        """Seconds of input an output sample waits for (its filter's reach into the future)."""
        return (self.half + 1) / self.sr_in

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        self.n_in += block.shape[1]
        self.buffer = np.concatenate([self.buffer, block], axis=1)
        if last:
            total = round(self.n_in * self.up / self.down)
            self.buffer = np.concatenate(
                [self.buffer, np.zeros((self.channels, self.half + 1), np.float32)], 1
            )
        else:  # output j needs input up to floor(j * down / up) + half
            total = max(0, -(-(self.n_in - self.half) * self.up // self.down))
        total = max(total, self.n_out)
        if total == self.n_out:
            out = np.zeros((self.channels, 0), np.float32)
        elif self.down == 1:  # whole-number upsampling: each input step's window times every phase
            i0, i1 = self.n_out // self.up, -(-total // self.up)
            first = i0 - self.half - self.start  # the buffer index of step i0's window
            b = self.buffer  # contiguous (concatenated above): its windows are a strided view, no indices
            assert b.flags.c_contiguous and b.shape[1] >= first + i1 - i0 + 2 * self.half
            steps = np.ndarray(
                (self.channels, i1 - i0, 2 * self.half + 1),
                b.dtype,
                buffer=b,
                offset=first * b.itemsize,
                strides=(b.strides[0], b.itemsize, b.itemsize),
            )
            out = (steps @ self.columns).reshape(self.channels, -1)
            out = out[:, self.n_out - i0 * self.up : total - i0 * self.up]
        else:
            j = np.arange(self.n_out, total)
            base = j * self.down // self.up
            index = base[:, None] - self.half + np.arange(2 * self.half + 1)[None, :] - self.start
            out = np.einsum("jo,cjo->cj", self.table[j * self.down % self.up], self.buffer[:, index])
        self.n_out = total
        keep = self.n_out * self.down // self.up - self.half - self.start  # what the next output needs
        if keep > 0:
            self.buffer, self.start = self.buffer[:, keep:], self.start + keep
        return np.ascontiguousarray(out, dtype=np.float32)

    def flush(self) -> np.ndarray:
        return self.process(np.zeros((self.channels, 0), np.float32), last=True)


class SoxrResampler:
    """soxr's streaming resampler (the offline path's, ``quality``) behind :class:`Resampler`'s interface."""

    delay = 0.0  # not constant: soxr returns its output in blocks

    def __init__(self, sr_in: float, sr_out: float, channels: int, quality: str = inference.QUALITY) -> None:
        self.stream = soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality=quality)
        self.channels = channels

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        out: np.ndarray = self.stream.resample_chunk(np.ascontiguousarray(block.T), last=last).T
        return np.ascontiguousarray(out, dtype=np.float32)

    def flush(self) -> np.ndarray:
        return self.process(np.zeros((self.channels, 0), np.float32), last=True)


def resampler(sr_in: float, sr_out: float, channels: int, quality: str) -> Resampler | SoxrResampler | None:
    """The resampler between two rates for ``quality`` (``None`` when they are equal)."""
    if sr_in == sr_out:
        return None
    return Resampler(sr_in, sr_out, channels) if quality == "live" else SoxrResampler(sr_in, sr_out, channels)


class LiveStream:
    """Upsample audio as it arrives: :meth:`process` blocks of any size, then :meth:`flush`.

    Parameters
    ----------
    model : a network (eval mode is set here; ``device``: where it runs).
    sr_in : the input's sample rate (Hz).
    channels : number of channels.
    block : the hop ``H`` in seconds (default 10 ms): the network runs once per hop.
    lookahead : ``A`` in seconds (default: what :data:`LATENCY_BUDGET` leaves after the hop and the
        resamplers, at least :data:`MIN_LOOKAHEAD_SECONDS`).
    context : past context ``P`` in seconds (default: the network's receptive field, at most 60 ms:
        longer only costs computation per hop).
    target_sr : output rate (default: :func:`wavesr.extend.plan`'s for a full-band network, else
        ``model.sr``).
    band : a full-band network's input band in Hz (default ``sr_in / 2``; see the module docstring).
    quality : ``"live"`` (constant low delay, the default) or ``"VHQ"`` (soxr, as the offline path).
    passes, strength, limiter, device : as :func:`wavesr.inference.upsample_array`. (The input's
        transition band is not lifted, ``equalize``: a stream has no whole chunk to measure it over.)
    exact : the offline path's output with ``equalize=False`` (up to float rounding; see Windows
        above): ``quality="VHQ"``, and ``context`` and ``lookahead`` cover the network's receptive
        field (``model.context``, else the offline chunks' 0.25 s).
    steady : prepend :attr:`latency` of silence, so that every call returns exactly the output of
        the input given so far (``round(n_in * sr_out / sr_in)`` samples in all, whatever the block
        sizes: what an audio callback needs); the output after :meth:`flush` is then that much longer
        than the offline one. Only with ``quality="live"``.

    :attr:`latency` is the algorithmic latency in seconds, the same for every output sample (with
    ``quality="VHQ"`` without soxr's, which varies); :attr:`sr_out` the output rate.

    :meth:`process` takes ``[time]`` (mono) or ``[channels, time]`` float samples (full scale 1.0),
    including empty blocks, and returns a float32 numpy array in the same layout. After :meth:`flush`
    the output has ``round(n_in * sr_out / sr_in)`` samples in all, as the offline path's.
    """

    def __init__(
        self,
        model: Upsampler,
        sr_in: float,
        channels: int = 1,
        *,
        block: float = BLOCK_SECONDS,
        lookahead: float | None = None,
        context: float | None = None,
        target_sr: int | None = None,
        band: float | None = None,
        quality: str = "live",
        passes: int | None = None,
        strength: float | None = None,
        limiter: bool = True,
        device: str | torch.device | None = None,
        steady: bool = False,
        exact: bool = False,
    ) -> None:
        checks.number(sr_in, "input sample rate (Hz)", 1, 1e6)
        checks.number(channels, "channels", 1, 1024, integer=True)
        checks.number(block, "block (seconds)", 0, 1, low_open=True)
        checks.number(lookahead, "look-ahead (seconds)", 0, 10, optional=True)
        checks.number(context, "context (seconds)", 0, 10, optional=True)
        receptive = getattr(model, "context", None)  # network-rate samples either side, where the model says
        if exact:  # what the offline path computes: its resampler, the whole receptive field either side
            quality = "VHQ"
            reach = int(receptive or round(inference.OVERLAP_SECONDS / 4 * model.sr_lowres))
            context = reach / model.sr_lowres
            lookahead = (reach + round(block * model.sr_lowres)) / model.sr_lowres
        if quality not in QUALITIES:
            raise WavesrError(f"quality must be one of {', '.join(QUALITIES)}, got {quality!r}")
        if steady and quality != "live":
            raise WavesrError("steady output needs the constant delay of quality 'live'")
        self.model, self.sr_in, self.channels, self.quality = model, sr_in, channels, quality
        self.limiter, self.steady = limiter, steady
        self.full_band = bool(getattr(model, "full_band", False))
        self.plan = None
        if self.full_band:
            checks.number(band, "band (Hz)", 0, sr_in / 2, optional=True)
            self.plan = plan(sr_in / 2 if band is None else float(band), sr_in, target_sr)
            target_sr = self.plan.sr_out
        self.copy = bool(self.plan and self.plan.copy)
        self.sr_out = int(target_sr or model.sr)
        # the network's rates; with copy (no network) the output's, so that the input is resampled once
        self.rate_lr = float(self.sr_out) if self.copy else model.sr_lowres
        self.rate_hr = self.sr_out if self.copy else model.sr
        self.r = 1 if self.copy else model.ratio
        self.guard = inference.eval_mode(model, device)
        self.device = self.guard.__enter__()  # eval mode for the stream's life (the mode before: at flush)
        self.net = inference.Stream(
            model,
            self.rate_lr,
            channels,
            None,
            device=self.device,
            limiter=False,
            passes=passes,
            band=self.plan.cutoff if self.plan and not self.copy else None,
            strength=strength,
            equalize=False,
        )
        # a causal network runs frame by frame, each frame once (BandNet.streamer), instead of windows
        causal = bool(getattr(model.config, "causal", False)) and not self.copy
        self.frames: Any = (
            model.streamer(channels, self.net.band, self.net.strength)  # type: ignore[operator]
            if causal
            else None
        )
        self.held = np.zeros((channels, 0), np.float32)  # the frames' last input, until the length is known
        self.to_lr = resampler(sr_in, self.rate_lr, channels, quality)
        self.to_out = resampler(self.rate_hr, self.sr_out, channels, quality)
        self.margin = 2 if self.to_lr else 0  # the final length may differ from the resampler's by a sample
        self.grid = 1 if self.copy else inference.stride_grid(model)  # window starts: multiples of this
        self.hop = max(1, round(block * self.rate_lr))  # copy: no hop, what arrives goes out (_windows)
        delays = (self.to_lr.delay if self.to_lr else 0.0) + (self.to_out.delay if self.to_out else 0.0)
        delays += self.margin / self.rate_lr
        if self.frames is not None:  # a frame is computed when its samples are in: the model's hop
            self.hop, lookahead = self.frames.c.hop, self.frames.lookahead / self.rate_lr
        if lookahead is None:
            lookahead = max(MIN_LOOKAHEAD_SECONDS, LATENCY_BUDGET - self.hop / self.rate_lr - delays)
        self.lookahead = 0 if self.copy else round(lookahead * self.rate_lr)
        self.fade = min(self.hop, self.lookahead // 2)
        reach = round(MAX_CONTEXT_SECONDS * self.rate_lr)
        default_context = min(int(receptive or reach), reach)
        self.context = round(context * self.rate_lr) if context is not None else default_context
        self.context *= not self.copy
        # a window's output waits for its hop and look-ahead; a frame's at most n_fft (the look-ahead)
        wait = 0 if self.copy else self.lookahead + (self.hop if self.frames is None else 0)
        self.latency = wait / self.rate_lr + delays
        self.fade_in = audio.fade_in(self.fade * self.r)  # the later window's weight
        self.buffer = np.zeros((channels, 0), np.float32)  # network-rate input from index self.start
        self.start = 0
        self.k = 0  # the next window
        self.tail = np.zeros((channels, 0), np.float32)  # the last window's output over the coming fade
        self.n_in = self.n_lr = self.n_out = 0
        self.queue = np.zeros((channels, round(self.latency * self.sr_out) if steady else 0), np.float32)
        self.finished = self.mono = False
        self.hr_done = self.n_steady = 0

    # ------------------------------------------------------------------------------- public

    def describe(self, name: str | None = None) -> str:
        """One line: the model (``name``, else its network's), rates and latency."""
        name = name or self.model.name or type(self.model).__name__

        def ms(samples: int) -> str:
            return f"{1000 * samples / self.rate_lr:.1f}"

        what = "copied (full band already)" if self.copy else f"{name}"
        band = f", input band {self.plan.cutoff:g} Hz" if self.plan and not self.copy else ""
        parts = (
            "no block: samples go out as they come"
            if self.copy
            else f"frame by frame, look-ahead {ms(self.lookahead)} ms"
            if self.frames is not None
            else f"block {ms(self.hop)} ms, look-ahead {ms(self.lookahead)} ms, "
            f"past context {ms(self.context)} ms"
        )
        return (
            f"{what}: {self.sr_in:g} Hz x{self.channels} -> {self.sr_out} Hz{band}; latency "
            f"{'at least ' if self.quality != 'live' else ''}{1000 * self.latency:.1f} ms ({parts}, "
            + ("resampling live)" if self.quality == "live" else "soxr resampling, whose delay varies)")
        )

    def buffered(self) -> int:
        """Samples per channel the stream holds (bounded whatever its length)."""
        held = self.buffer.shape[1] + self.tail.shape[1] + self.queue.shape[1] + self.held.shape[1]
        held += self.frames.buffered() if self.frames is not None else 0
        for r in (self.to_lr, self.to_out):
            held += r.buffer.shape[1] if isinstance(r, Resampler) else 0
        return held

    def process(self, block: Any) -> np.ndarray:
        """Feed input samples (``[time]`` or ``[channels, time]``); return the output now final."""
        if self.finished:
            raise WavesrError("the stream was flushed; make a new one")
        x, mono = self._input(block)
        self.n_in += x.shape[1]
        lr = self.to_lr.process(x) if self.to_lr else x
        return self._output(self._windows(lr, last=False), mono, last=False)

    def flush(self) -> np.ndarray:
        """The rest of the output (the input has ended); the stream cannot be used after it."""
        if self.finished:
            raise WavesrError("the stream was flushed already")
        lr = self.to_lr.flush() if self.to_lr else np.zeros((self.channels, 0), np.float32)
        hr = self._windows(lr, last=True)
        self.finished = True
        self.guard.__exit__(None, None, None)
        return self._output(hr, self.mono, last=True)

    # ----------------------------------------------------------------------------- internals

    def _input(self, block: Any) -> tuple[np.ndarray, bool]:
        x = inference.float_audio(block)
        mono = x.ndim == 1
        if mono:
            if self.channels != 1:
                raise WavesrError(f"a [time] block is mono; this stream has {self.channels} channels")
            x = x[None]
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise WavesrError(f"blocks must be [time] or [{self.channels}, time], got shape {list(x.shape)}")
        audio.check_finite(x, self.sr_in, "stream", offset=self.n_in)
        self.mono = mono
        return np.ascontiguousarray(x), mono

    def _windows(self, lr: np.ndarray, last: bool) -> np.ndarray:
        """Append network-rate samples; run every window whose input is complete; the final output."""
        if last and self.n_in == 0:
            raise WavesrError("stream: no samples were given")
        if self.frames is not None:
            return self._frame_by_frame(lr, last)
        self.n_lr += lr.shape[1]
        self.buffer = np.concatenate([self.buffer, lr], axis=1) if lr.size else self.buffer
        if last:
            self._final_lengths()
            self.n_lr = -(-self.total_hr // self.r)
            self.buffer = audio.fit_length(self.buffer, self.n_lr - self.start)
        if self.copy:  # full band already: everything but the resampler's margin goes out now
            stop = self.n_lr if last else max(self.start, self.n_lr - self.margin)
            given = self.buffer[:, : stop - self.start]
            self.buffer, self.start = self.buffer[:, stop - self.start :], stop
            return given
        out = []
        while True:
            begin, end = self.k * self.hop, (self.k + 1) * self.hop + self.lookahead
            if begin >= self.n_lr and last or not last and self.n_lr < end + self.margin:
                break
            out.append(self._window(begin, min(end, self.n_lr)))
            self.k += 1
            keep = self._window_start(self.k * self.hop)
            if keep > self.start:
                self.buffer, self.start = self.buffer[:, keep - self.start :], keep
        if last and self.tail.shape[1]:
            out.append(self.tail)
            self.tail = self.tail[:, :0]
        return np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)

    def _final_lengths(self) -> None:
        """The lengths the offline path gives at the network's rate and the output's (the resampler's
        count may differ from them by a sample or two)."""
        self.total_hr = round(self.n_in * self.rate_hr / self.sr_in)
        self.total_out = round(self.n_in * self.sr_out / self.sr_in)

    def _frame_by_frame(self, lr: np.ndarray, last: bool) -> np.ndarray:
        """A causal network's path: the samples to its :class:`~wavesr.models.band.FrameStream`, all
        but the resampler's ``margin`` (the last count may differ by a sample from the final one)."""
        assert self.frames is not None
        seen = np.concatenate([self.held, lr], axis=1) if lr.size else self.held
        if last:
            self._final_lengths()
            seen = audio.fit_length(seen, self.total_hr - self.frames.n_in)
        keep = 0 if last else min(self.margin, seen.shape[1])
        self.held = seen[:, seen.shape[1] - keep :]
        ready = seen[:, : seen.shape[1] - keep]
        parts = [self.frames.push(ready)] if ready.size else []
        if last:
            parts.append(self.frames.flush())
        return np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0), np.float32)

    def _window_start(self, begin: int) -> int:
        return max(0, (begin - self.context) // self.grid * self.grid)

    def _window(self, begin: int, end: int) -> np.ndarray:
        """Window ``k``'s output from ``begin`` (its hop's start) to the end of its fade, cross-faded."""
        first = self._window_start(begin)
        y = self.net.run_chunk(self.buffer[:, first - self.start : end - self.start])
        r, hop_end = self.r, (self.k + 1) * self.hop
        y = y[:, (begin - first) * r : (min(hop_end + self.fade, end) - first) * r]
        n = min(self.tail.shape[1], y.shape[1])
        if n:
            w = self.fade_in[:n]
            y[:, :n] = self.tail[:, :n] * (1 - w) + y[:, :n] * w
        done = min(hop_end - begin, end - begin) * r
        self.tail = y[:, done:]
        return y[:, :done]

    def _output(self, hr: np.ndarray, mono: bool, last: bool) -> np.ndarray:
        if last:
            hr = hr[:, : max(0, self.total_hr - self.hr_done)]
        self.hr_done += hr.shape[1]
        out = self.to_out.process(hr, last=last) if self.to_out else hr
        if last:
            out = audio.fit_length(out, self.total_out - self.n_out)
        self.n_out += out.shape[1]
        if self.limiter:
            out = inference.soft_limit(out)
        if self.steady:
            out = self._steady(out, last)
        out = np.ascontiguousarray(out, dtype=np.float32)
        return out[0] if mono else out

    def _steady(self, out: np.ndarray, last: bool) -> np.ndarray:
        """The output delayed by the latency, as many samples as the input given so far makes."""
        self.queue = np.concatenate([self.queue, out], axis=1)
        want = self.queue.shape[1] if last else round(self.n_in * self.sr_out / self.sr_in) - self.n_steady
        want = min(want, self.queue.shape[1])
        self.n_steady += want
        given, self.queue = self.queue[:, :want], self.queue[:, want:]
        return given
