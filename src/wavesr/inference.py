"""Upsampling real audio: any rate, any number of channels, any length, in bounded memory.

Pipeline
--------
A trained network maps audio at its low rate ``model.sr_lowres`` (``sr / ratio``, e.g. 4000 Hz
for x4 at 16 kHz, 2666.67 Hz for x6) to its high rate ``model.sr``. Real audio arrives at any
rate, so every input goes through::

    input (sr_in) --soxr--> model.sr_lowres --network, chunk by chunk--> model.sr [--soxr--> target_sr]

Both resampling steps are soxr's very-high-quality streaming resampler (``soxr.ResampleStream``,
the same numbers as the one-shot :func:`wavesr.audio.resample`); either is skipped when the rates
already match. Channels are processed as a batch ``[channels, 1, time]``, a few at a time
(``CHANNEL_GROUP``: memory stays bounded for any channel count), the same as one at a time.
The output has exactly ``round(n_in * out_sr / sr_in)`` samples (``n_in * ratio`` when the
input is at the low rate).

Chunks and overlap-add
----------------------
Long inputs are processed in chunks of ``C`` low-rate samples that overlap by ``O`` (hop
``H = C - O``). The outer quarters of each overlap are context that one chunk sees and the
other discards; over the middle half the two outputs are cross-faded with a raised cosine::

    low-rate input   0 ............................................................... N
    chunk 0          [==========================|------ O ------]
    chunk 1                                     [------ O ------|==========================|----
    weight chunk 0   1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\\\\\\\\\0 0 0
    weight chunk 1                              0 0 0 0/////////1 1 1 1 1 1 1 1 1 1 1 1 1 1 ...
                                                |O/4 |   O/2   |O/4|

Every output sample is ``w * a + (1 - w) * b`` with the weights summing to one, and a chunk's
output is used only where it is at least ``O / 4`` low-rate samples from the chunk's cut
edges. A network whose one-sided receptive field is shorter than that therefore gives the
same result in chunks as on the whole file (up to float rounding), provided chunks start on
the network's stride grid: chunk sizes are rounded to whole multiples of it (AudioUNet's
``2^(blocks+1)`` high-rate samples, the DNN's STFT hop). Measured on speech-like signals at
RMS ~0.1 (tests/test_inference.py): chunked minus whole is below 1e-6 (float rounding) for
the spline and small AudioUNets; a random paper-shaped AudioUNet (B = 8, receptive field wider
than 0.25 s) differs by at most 1.4e-5 (RMS 2e-7) with the default 10 s chunks and 1 s overlap.

Memory is bounded by one chunk plus one overlap, whatever the length of the input:
:func:`wavesr.audiofiles.upsample_file` reads blocks from the input file and writes output blocks
to a temporary file that is renamed at the end, so a 20-minute file takes the same peak memory as
a 2-minute one. On CPU, oneDNN caches compiled kernels per input shape, and every file of a batch
has its own length: ``wavesr upsample`` sets ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=32`` (Python callers
upsampling many files can set it before the first convolution). Figures: docs/design.md.

Input conditioning
------------------
A network trained on the paper's channel (``audio.degrade(x, r, "decimate")``: a Chebyshev low-pass
at 0.8 x the low-rate Nyquist frequency) learns to boost the band just above that cutoff, where
its inputs are faint. Real low-rate audio (a recording made at 8 kHz, or anything soxr resampled
to the model's rate, as here) keeps content up to ~0.95 x Nyquist, and that boost ruins it. So
every chunk goes through the model's own training channel first: its band-limited interpolation to
the high rate is degraded as the model's training inputs were, the network runs on that, and the
result keeps the input's own band below ``audio.CROSSOVER`` x the low-rate Nyquist frequency
(:func:`wavesr.audio.keep_band`). Input known to come from that channel already
(``input_channel``, as in the paper's evaluation protocol) skips this: a second pass through the
filter would cost SNR. A model trained on a mix of channels (``wavesr train --mix-channel``;
``model.channel`` = ``"decimate+sinc"``) has seen real-like input and runs on it as it is
(:func:`needs_conditioning`). The figures behind each step: docs/design.md.

Self-ensemble
-------------
A network's guess at the missing band is partly a guess: shift the input by a fraction of the
network's stride grid, or flip its sign, and the unpredictable part of the output changes
while the predictable part stays. With ``passes`` = 2, 4 or 8 the output is the mean of the
network run on sign-flipped (``-model(-x)``) and grid-shifted copies of the input
(:func:`ensemble_offsets`), which keeps what the passes agree on and shrinks what they do not:
a higher SNR at a somewhat higher LSD, for ``passes`` times the computation. Each pass sees every
chunk at the same grid phase, so chunked still equals whole. A shipped model carries the number
its validation chose (``Upsampler.passes``, from the registry); other models default to one.

Clipping
--------
Super-resolution adds energy, so outputs of full-scale inputs can exceed 1.0. By default
(``limiter=True``) every output sample passes a soft limiter that is the identity up to
``LIMIT_KNEE`` (0.95) and maps everything above smoothly into (0.95, 1.0) with a tanh; it acts
sample by sample, so it is the same in chunks and whole. With ``limiter=False`` samples are
kept as they are: float formats store them, integer formats (PCM) clip them at full scale.
Either way the count of samples above full scale and the peak are reported in the notes;
nothing is clipped silently.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr
import torch

from . import audio, checks
from .errors import WavesrError

if TYPE_CHECKING:  # a type only: models.base imports this module to give every network .upsample()
    from .models.base import Upsampler
from .constants import PASSES_TEXT, valid_passes
from .devices import model_device, resolve_device

PIPELINE = 2  # revision of how networks are run here; evaluation rows made by another are computed again
# (2: FastNet ends at its array's edge at any length; self-ensemble passes drop samples, add no zeros)
CONDITIONED = ("decimate",)  # training channels real input is put through first (see Input conditioning)
AUTO = "auto"  # chunk_seconds: the network's own default (:func:`default_chunk_seconds`)
CHUNK_SECONDS = 10.0  # default chunk length (seconds of audio)
FULL_BAND_CHUNK_SECONDS = 20.0  # a full-band network's, in place of that default: its context is 0.15 s, so
# longer chunks only save overlap (10 % of the work at 10 s, 5 % at 20 s) and cost memory
OVERLAP_SECONDS = 1.0  # default overlap between chunks (context + cross-fade)
BLOCK_FRAMES = audio.READ_FRAMES  # frames read from the input file at a time (as audio.load reads)
# Memory bounds for any channel count (libsndfile holds up to 1,024): the network sees at most
# CHANNEL_GROUP channels at once, a chunk holds at most CHUNK_SAMPLES low-rate samples over all
# channels (shorter chunks for many channels), and a read block at most BLOCK_SAMPLES samples.
CHANNEL_GROUP = 4
CHUNK_SAMPLES = 1 << 21
BLOCK_SAMPLES = 1 << 18
MAX_CHUNK_SECONDS = 60.0  # longer chunks only cost memory (the overlap already gives the context)
MAX_OVERLAP_SECONDS = 10.0
QUALITY = "VHQ"  # soxr quality, as audio.resample
LIMIT_KNEE = 0.95  # the soft limiter is the identity below this magnitude
DC_NOTE = 0.05  # a channel mean above this (-26 dBFS) is reported in the notes


# ------------------------------------------------------------------------------- helpers


def needs_conditioning(model: Upsampler, input_channel: str | None = None) -> bool:
    """Whether input made by ``input_channel`` (``None``: real audio) goes through ``model``'s training
    channel first: only for a model trained on one channel of :data:`CONDITIONED` alone (a model trained
    on a mix, ``model.channel`` = ``"decimate+sinc"``, has seen real-like input), and only when the
    input does not come from that channel already."""
    channels = (model.channel or "").split("+")
    return len(channels) == 1 and channels[0] in CONDITIONED and input_channel != channels[0]


def soft_limit(x: np.ndarray, knee: float = LIMIT_KNEE) -> np.ndarray:
    """Identity for ``|x| <= knee``; above, ``knee + (1 - knee) tanh((|x| - knee) / (1 - knee))``.

    Continuous with slope 1 at the knee; never above 1.0 in magnitude (it reaches 1.0 in float32
    only for inputs far over full scale).
    """
    y = np.array(x, dtype=np.float32, copy=True)
    if not y.size or float(np.abs(y).max()) <= knee:  # one reduction, no mask (live blocks)
        return y
    over = np.abs(y) > knee
    if np.any(over):
        a = np.abs(y[over]).astype(np.float64)
        y[over] = np.sign(y[over]) * (knee + (1 - knee) * np.tanh((a - knee) / (1 - knee)))
    return y


def float_audio(x: Any) -> np.ndarray:
    """``x`` as a float32 numpy array, refusing integer samples (their scale is not full scale 1.0)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = (x.float() if x.is_floating_point() else x).numpy()
    x = np.asarray(x)
    if x.dtype.kind not in "fb":
        hint = (
            f"; divide by {2 ** (8 * x.dtype.itemsize - 1)} for full scale 1.0"
            if x.dtype.kind in "iu"
            else ""
        )
        raise WavesrError(f"audio must be a float array (full scale 1.0), got dtype {x.dtype}{hint}")
    out: np.ndarray = x.astype(np.float32, copy=False)
    return out


def _hz(rate: float) -> str:
    return f"{rate:.0f}" if float(rate).is_integer() else f"{rate:.2f}"


def _alignment(model: Upsampler) -> int:
    """High-rate stride grid chunk starts must sit on for chunked == whole processing.

    AudioUNet pads to and strides over multiples of ``2^(blocks + 1)`` (``.multiple``); FastNet
    strides over ``hop_multiple`` low-rate samples; the DNN's STFT frames are ``hop`` apart; the
    spline is shift invariant (1).
    """
    hop = getattr(model, "hop_multiple", None)
    if hop:
        return int(hop) * model.ratio
    return int(getattr(model, "multiple", None) or getattr(model.config, "hop", 1) or 1)


def ensemble_offsets(model: Upsampler, passes: int) -> list[tuple[int, int]]:
    """``(drop, sign)`` of each self-ensemble pass: the network runs on the input without its first
    ``drop`` low-rate samples (so it meets the signal at another phase of its stride grid; its output
    covers the input from sample ``drop`` on), multiplied by ``sign``. Each output sample is the mean
    of the passes that cover it (the first ``max(drop)`` samples have fewer).

    2 passes: signs +1 and -1; 4 and 8: both signs at 2 or 4 phases evenly spread over the
    network's low-rate stride grid (FastNet: 0 and 32, or 0, 16, 32 and 48 of its 64 samples).
    The grid is moved by dropping samples, not by putting zeros in front: FastNet learned the
    edge of its input array, and meets a signal that begins abruptly after zeros as a click
    (docs/design.md has the figures).
    """
    if not valid_passes(passes):
        raise WavesrError(f"passes must be one of {PASSES_TEXT}, got {passes!r}")
    if passes == 1:
        return [(0, 1)]
    grid = max(1, _alignment(model) // model.ratio)
    shifts = passes // 2
    return [(round(j * grid / shifts), sign) for j in range(shifts) for sign in (1, -1)]


def default_chunk_seconds(model: Upsampler) -> float:
    """The chunk length a network runs in unless told: :data:`FULL_BAND_CHUNK_SECONDS` for a full-band
    one, else :data:`CHUNK_SECONDS`."""
    return FULL_BAND_CHUNK_SECONDS if getattr(model, "full_band", False) else CHUNK_SECONDS


def chunk_sizes(model: Upsampler, chunk_seconds: float | None, overlap_seconds: float) -> tuple[int, int]:
    """Chunk length and overlap in low-rate samples (see the module docstring).

    ``C`` and ``O`` are whole multiples of the network's stride grid (``O`` of four of them, so
    its quarters are too); ``chunk_seconds=None`` means one chunk (the whole input).
    """
    grid = _alignment(model)
    a = grid // math.gcd(grid, model.ratio)  # low-rate samples per step of the high-rate grid
    checks.number(overlap_seconds, "overlap (seconds)", 0, MAX_OVERLAP_SECONDS)
    checks.number(chunk_seconds, "chunk length (seconds)", 0, MAX_CHUNK_SECONDS, low_open=True, optional=True)
    overlap = math.ceil(overlap_seconds * model.sr_lowres / (4 * a)) * 4 * a
    if chunk_seconds is None:
        return 0, overlap
    if chunk_seconds <= 0 or chunk_seconds < 2 * overlap_seconds:
        raise WavesrError(
            f"chunk length must be > 0 and at least twice the overlap "
            f"({chunk_seconds} s chunks, {overlap_seconds} s overlap)"
        )
    chunk = max(math.ceil(chunk_seconds * model.sr_lowres / a) * a, 2 * overlap, a)
    return chunk, overlap


def stride_grid(model: Upsampler) -> int:
    """Low-rate samples between the chunk starts that keep chunked equal to whole (see chunk_sizes)."""
    grid = _alignment(model)
    return grid // math.gcd(grid, model.ratio)


def _crossfade(n: int) -> np.ndarray:
    """Weight of the earlier chunk over an overlap of ``n`` high-rate samples (``n % 4 == 0``):
    1 over the first quarter, a raised cosine 1 -> 0 over the middle half, 0 over the last."""
    q = n // 4
    mid = 0.5 * (1 + np.cos(np.pi * (np.arange(n - 2 * q) + 0.5) / (n - 2 * q))) if n > 2 * q else np.zeros(0)
    return np.concatenate([np.ones(q), mid, np.zeros(q)]).astype(np.float32)


# ------------------------------------------------------------------------------ streaming


class Stream:
    """The pipeline on a stream: :meth:`push` input blocks, then :meth:`finish`.

    Parameters
    ----------
    model : the network (in eval mode, on ``device``).
    sr_in : input sample rate (Hz).
    channels : number of channels.
    chunk_seconds, overlap_seconds : see :func:`chunk_sizes`; ``"auto"``: the network's own
        (:func:`default_chunk_seconds`).
    target_sr : resample the output to this rate (default: ``model.sr``).
    limiter : apply :func:`soft_limit` to the output.
    name : what error messages call the input (a file name).
    passes : self-ensemble passes (:func:`ensemble_offsets`); ``None``: the model's own (``model.passes``).
    input_channel : the ``audio.degrade`` method the input is known to have been made with (an
        evaluation's); ``None``: real audio. Decides the input conditioning (module docstring).
    band : a full-band network's input: where its real content ends (Hz, :func:`wavesr.audio.cutoff`);
        the input's own band below it is put back after the network (:func:`wavesr.audio.put_back`).
        ``None``: not put back. Ignored by the paper's networks.
    copy : run no network: the input resampled to the output rate (an input with nothing missing).
    strength : a full-band network's generated band scaled by this (0-1; :func:`wavesr.audio.put_back`);
        ``None``: the model's own (``model.strength``, from its registry entry; else 1).
    equalize : a full-band network lifts the top of the input's band where the filter that made it
        attenuated it (:func:`wavesr.audio.transition_gain`; not a causal network's, which puts the band
        back on its frames); ``None``: the model's own (``model.equalize``).
    """

    model: Upsampler
    device: torch.device
    name: str
    limiter: bool
    sr_in: float
    channels: int
    r: int
    passes: int
    sr_out: int
    rate_lr: float  # the rate the network takes (the input is resampled to it)
    rate_hr: int  # the rate the network returns
    full_band: bool
    band: float | None
    strength: float
    equalize: bool
    copy: bool
    chunk: int  # low-rate samples per chunk (0: the whole input is one chunk)
    overlap: int  # low-rate samples shared by consecutive chunks
    chunk_seconds: float | None
    overlap_seconds: float
    to_lr: Any  # soxr.ResampleStream to the model's low rate, or None
    to_out: Any  # soxr.ResampleStream to the target rate, or None
    buffer: np.ndarray
    lr_start: int
    n_in: int
    n_hr: int
    n_out: int
    chunks: int
    offsets: list[tuple[int, int]]
    condition: bool
    chunk_seconds_asked: float | None
    fade: np.ndarray
    tail: np.ndarray | None
    peak: float
    n_over: int
    n_knee: int
    peak_in: float
    sum_in: np.ndarray
    bar: Any

    def __init__(
        self,
        model: Upsampler,
        sr_in: float,
        channels: int,
        chunk_seconds: float | str | None = AUTO,
        overlap_seconds: float = OVERLAP_SECONDS,
        target_sr: int | None = None,
        device: torch.device | None = None,
        limiter: bool = True,
        name: str = "input",
        passes: int | None = None,
        input_channel: str | None = None,
        band: float | None = None,
        copy: bool = False,
        strength: float | None = None,
        equalize: bool | None = None,
    ) -> None:
        if isinstance(sr_in, bool) or not isinstance(sr_in, numbers.Real) or not 1 <= sr_in < math.inf:
            raise WavesrError(f"{name}: sample rate must be a finite number of Hz >= 1, got {sr_in!r}")
        if target_sr is not None and (
            isinstance(target_sr, bool) or not isinstance(target_sr, numbers.Integral) or target_sr < 1
        ):
            raise WavesrError(f"target sample rate must be a positive whole number of Hz, got {target_sr!r}")
        self.model = model
        self.device = device or model_device(model)
        self.name = name
        self.limiter = limiter
        self.sr_in = sr_in
        self.channels = channels
        self.r = model.ratio
        self.passes = getattr(model, "passes", 1) if passes is None else passes
        self.offsets = ensemble_offsets(model, self.passes)
        self.condition = needs_conditioning(model, input_channel)
        self.full_band = bool(getattr(model, "full_band", False))
        if chunk_seconds == AUTO:
            chunk_seconds = default_chunk_seconds(model)
        elif isinstance(chunk_seconds, str):
            raise WavesrError(
                f"chunk length must be a number of seconds, None or {AUTO!r}, got {chunk_seconds!r}"
            )
        self.band = float(band) if band is not None and self.full_band else None
        self.strength = float(getattr(model, "strength", 1.0) if strength is None else strength)
        checks.number(self.strength, "strength", 0, 1)
        self.equalize = bool(getattr(model, "equalize", False) if equalize is None else equalize)
        self.copy = copy
        self.sr_out = int(target_sr or model.sr)
        if copy and model.ratio != 1:
            raise WavesrError("copy=True is for full-band networks (ratio 1)")
        # the rates the network's input and output are at: with copy (no network) the output's, so
        # that the input is resampled once, straight to it
        self.rate_lr = float(self.sr_out) if copy else model.sr_lowres
        self.rate_hr = self.sr_out if copy else model.sr
        self.chunk_seconds = chunk_seconds
        self.overlap_seconds = overlap_seconds
        self.chunk_seconds_asked = chunk_seconds
        if chunk_seconds is not None and chunk_seconds * self.rate_lr * channels > CHUNK_SAMPLES:
            self.chunk_seconds = CHUNK_SAMPLES / (self.rate_lr * channels)  # many channels: shorter chunks
            self.overlap_seconds = min(overlap_seconds, self.chunk_seconds / 4)
        self.chunk, self.overlap = chunk_sizes(model, self.chunk_seconds, self.overlap_seconds)
        self.fade = _crossfade(self.overlap * self.r)
        self.to_lr = (
            soxr.ResampleStream(sr_in, self.rate_lr, channels, dtype="float32", quality=QUALITY)
            if sr_in != self.rate_lr
            else None
        )
        self.to_out = (
            soxr.ResampleStream(self.rate_hr, self.sr_out, channels, dtype="float32", quality=QUALITY)
            if self.sr_out != self.rate_hr
            else None
        )
        self.buffer = np.zeros((channels, 0), np.float32)  # low-rate samples not yet in a finished chunk
        self.lr_start = 0  # low-rate index of buffer[:, 0]
        self.tail = None  # previous chunk's output over the coming overlap
        self.n_in = self.n_hr = self.n_out = self.chunks = 0
        self.peak = 0.0
        self.n_over = 0
        self.n_knee = 0
        self.peak_in = 0.0  # for the notes on the input's level
        self.sum_in = np.zeros(channels)
        self.bar = None  # a tqdm bar to advance per chunk

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed ``[channels, n]`` input samples; return the output samples now final."""
        block = float_audio(block)
        audio.check_finite(block, self.sr_in, self.name, offset=self.n_in)
        self.n_in += block.shape[1]
        if block.size:
            self.peak_in = max(self.peak_in, float(np.abs(block).max()))
            self.sum_in += block.sum(axis=1, dtype=np.float64)
        lr = self.to_lr.resample_chunk(np.ascontiguousarray(block.T)).T if self.to_lr else block
        self.buffer = np.concatenate([self.buffer, lr], axis=1)
        out = []
        while self.chunk and self.buffer.shape[1] > self.chunk:  # more follows: not the last chunk
            out.append(self._overlap_add(self._run(self.buffer[:, : self.chunk]), last=False))
            self.buffer = self.buffer[:, self.chunk - self.overlap :]
            self.lr_start += self.chunk - self.overlap
        hr = np.concatenate(out, axis=1) if out else np.zeros((self.channels, 0), np.float32)
        self.n_hr += hr.shape[1]
        return self._limit(self._resample_out(hr, last=False))

    def finish(self) -> np.ndarray:
        """Flush the last chunk; return the remaining output samples (exact total length)."""
        if self.to_lr:
            tail = self.to_lr.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
            self.buffer = np.concatenate([self.buffer, tail.T], axis=1)
        if self.n_in == 0:
            raise WavesrError(f"{self.name}: contains no samples (none could be decoded)")
        total_hr = round(self.n_in * self.rate_hr / self.sr_in)
        total_out = round(self.n_in * self.sr_out / self.sr_in)
        if total_out < 1 or total_hr < 1:
            raise WavesrError(
                f"{self.name}: too short ({self.n_in} samples at {_hz(self.sr_in)} Hz is less than "
                f"one output sample at {self.sr_out} Hz)"
            )
        # the last chunk ends where the network's output covers total_hr (cropped below); soxr's
        # count differs from that by at most a sample, so this pads or crops a sample or two
        self.buffer = audio.fit_length(self.buffer, -(-total_hr // self.r) - self.lr_start)
        if self.buffer.shape[1]:
            hr = self._overlap_add(self._run(self.buffer), last=True)
        else:
            hr, self.tail = self.tail if self.tail is not None else self.buffer, None
        hr = hr[:, : total_hr - self.n_hr]
        self.n_hr += hr.shape[1]
        out = self._resample_out(hr, last=True)
        return self._limit(audio.fit_length(out, total_out - self.n_out))

    def _run(self, lr: np.ndarray) -> np.ndarray:
        """The network on one chunk: ``[channels, n]`` -> ``[channels, n * ratio]``."""
        n = lr.shape[1]
        if self.copy:
            self.chunks += 1
            return lr.copy()
        if self.condition:  # the model's own channel first (see Input conditioning)
            given = audio.interpolate(lr, self.r, "bandlimited")
            lr = audio.degrade(given, self.r, str(self.model.channel))
        # a causal full-band network puts the band back on its own frames (BandNet.frames_put_back)
        inside = self.band is not None and getattr(self.model, "frames_put_back", False)
        extra = {"band": self.band, "strength": self.strength} if inside else {}
        y = np.zeros((self.channels, n * self.r), np.float32)
        passes = np.zeros(n * self.r, np.float32)  # how many passes cover each output sample
        for drop, sign in self.offsets:  # one pass at a time: memory as for a single pass
            if drop >= n:
                continue
            for c in range(0, self.channels, CHANNEL_GROUP):  # and a few channels at a time
                group = lr[c : c + CHANNEL_GROUP, drop:]
                x = torch.from_numpy(np.ascontiguousarray(sign * group)).unsqueeze(1).to(self.device)
                with torch.inference_mode():
                    out = self.model(x, **extra)  # [group, 1, (n - drop) * ratio]
                out = out[:, 0].float().cpu().numpy()
                if out.shape != (group.shape[0], (n - drop) * self.r):
                    raise RuntimeError(
                        f"{type(self.model).__name__} returned shape {out.shape} for input {x.shape}"
                    )
                y[c : c + CHANNEL_GROUP, drop * self.r :] += out * sign
            passes[drop * self.r :] += 1
        y /= passes
        if self.condition:
            y = audio.keep_band(given, y, self.r)
        if self.band is not None and not inside:
            y = audio.put_back(lr, y, self.model.sr, self.band, self.strength, self.equalize)
        if not np.all(np.isfinite(y)):
            raise WavesrError(f"{self.name}: the network produced non-finite output (damaged weights?)")
        self.chunks += 1
        if self.bar is not None:
            self.bar.update(1)
        return y

    def _overlap_add(self, y: np.ndarray, last: bool) -> np.ndarray:
        """Cross-fade ``y``'s start with the previous chunk's tail; keep ``y``'s own tail unless ``last``."""
        if self.tail is not None:
            m = min(y.shape[1], self.tail.shape[1])
            y = y.copy()
            y[:, :m] = self.tail[:, :m] * self.fade[:m] + y[:, :m] * (1 - self.fade[:m])
        if last:
            self.tail = None
            return y
        keep = y.shape[1] - self.overlap * self.r
        self.tail = y[:, keep:]
        return y[:, :keep]

    def _resample_out(self, hr: np.ndarray, last: bool) -> np.ndarray:
        """High-rate samples to the target rate (when it differs)."""
        if not self.to_out:
            return hr
        out: np.ndarray = self.to_out.resample_chunk(np.ascontiguousarray(hr.T), last=last).T
        return out

    def _limit(self, out: np.ndarray) -> np.ndarray:
        """Count samples over full scale (and over the knee), soft-limit them if asked."""
        if out.size:
            mag = np.abs(out)
            self.peak = max(self.peak, float(mag.max()))
            self.n_over += int(np.count_nonzero(mag > 1.0))
            self.n_knee += int(np.count_nonzero(mag > LIMIT_KNEE))
            if self.limiter:
                out = soft_limit(out)
        self.n_out += out.shape[1]
        return np.ascontiguousarray(out, dtype=np.float32)

    def run_chunk(self, lr: np.ndarray) -> np.ndarray:
        """The network on one chunk of low-rate samples ``[channels, n]`` -> ``[channels, n * ratio]``:
        input conditioning, self-ensemble passes and the put-back of the input's band, as for every
        chunk of this stream (:mod:`wavesr.live` runs its windows through it)."""
        return self._run(lr)

    def expected_chunks(self, n_in: int) -> int:
        """Number of chunks an input of ``n_in`` samples will take (for progress bars)."""
        n_lr = math.ceil(n_in * self.rate_lr / self.sr_in)
        if not self.chunk or n_lr <= self.chunk:
            return 1
        return 1 + math.ceil((n_lr - self.chunk) / (self.chunk - self.overlap))

    def notes(self, subtype: str | None = None) -> list[str]:
        """What was done, one line each; the first is the rate chain."""
        m = self.model
        chain = [f"{_hz(self.sr_in)} Hz"]
        if self.to_lr:
            chain.append(f"resampled to {_hz(self.rate_lr)} Hz")
        ensemble = f", {self.passes} passes" if self.passes > 1 else ""
        ensemble += f", input put through its {m.channel} training channel" if self.condition else ""
        if self.copy:
            chain.append("copied (no network)")
        elif self.full_band:
            below = f", the input's own band below {self.band / 1000:.1f} kHz kept" if self.band else ""
            if below and self.equalize and not getattr(m, "frames_put_back", False):
                below += " (its filter's attenuated top lifted)"
            chain.append(f"band extended ({m.name}{ensemble}{below})")
        else:
            chain += [f"x{self.r} ({m.name}{ensemble})", f"{m.sr} Hz"]
        if self.to_out:
            chain.append(f"resampled to {self.sr_out} Hz")
        notes = [" -> ".join(chain)]
        if self.n_in and self.peak_in == 0:
            notes.append("the input is silent (all samples zero): the output is silence")
        elif self.peak_in > 1.0:
            notes.append(
                f"input peak {self.peak_in:.3f} is over full scale (a float file): kept as it is, "
                "only the output is limited"
            )
        dc = np.abs(self.sum_in).max() / self.n_in if self.n_in else 0.0
        if dc > DC_NOTE:
            notes.append(f"the input has a DC offset (a channel's mean is {dc:.3f}): kept as it is")
        if self.full_band:
            pass  # a full-band network takes any rate; the caller says what was measured
        elif self.sr_in > m.sr_lowres:
            notes.append(
                f"input content above {_hz(m.sr_lowres / 2)} Hz was discarded and regenerated by the network"
            )
        elif self.sr_in < m.sr_lowres:
            notes.append(
                f"input has no content above {_hz(self.sr_in / 2)} Hz; the network expects up to "
                f"{_hz(m.sr_lowres / 2)} Hz"
            )
        if self.channels > 1:
            notes.append(f"{self.channels} channels, each upsampled on its own")
        if self.chunk and self.chunk_seconds != self.chunk_seconds_asked and self.chunks > 1:
            notes.append(
                f"chunks shortened to {self.chunk_seconds:.2f} s for {self.channels} channels (bounded "
                "memory)"
            )
        if self.chunks > 1:
            notes.append(
                f"{self.chunks} chunks of {self.chunk / m.sr_lowres:.2f} s with "
                f"{self.overlap / m.sr_lowres:.2f} s overlap, cross-faded"
            )
        if self.n_over and self.limiter:
            notes.append(
                f"output peak {self.peak:.3f} over full scale in {self.n_over} samples: soft-limited "
                f"(knee {LIMIT_KNEE}, {self.n_knee} samples changed)"
            )
        elif self.n_knee and self.limiter:
            notes.append(
                f"soft limiter changed {self.n_knee} samples above {LIMIT_KNEE} (none over full scale)"
            )
        elif self.n_over:
            kept = subtype in ("FLOAT", "DOUBLE") if subtype else True
            notes.append(
                f"output peak {self.peak:.3f} over full scale in {self.n_over} samples: "
                + ("kept (float output)" if kept else f"clipped to full scale by {subtype}")
            )
        return notes


# ------------------------------------------------------------------------------- arrays


def upsample_array(
    model: Upsampler,
    audio_in: np.ndarray,
    sr: float,
    *,
    target_sr: int | None = None,
    chunk_seconds: float | str | None = AUTO,
    overlap_seconds: float = OVERLAP_SECONDS,
    device: str | torch.device | None = None,
    progress: bool = False,
    limiter: bool = True,
    passes: int | None = None,
    input_channel: str | None = None,
    band: float | None = None,
    strength: float | None = None,
    equalize: bool | None = None,
) -> tuple[np.ndarray, int, list[str]]:
    """Upsample an in-memory signal at any rate with ``model``.

    Parameters
    ----------
    model : a network (put in eval mode for the call; moved to ``device`` when given).
    audio_in : ``[time]`` or ``[channels, time]``, float (full scale 1.0).
    sr : its sample rate in Hz (any; resampled to ``model.sr_lowres`` first).
    target_sr : resample the output to this rate (default ``model.sr``).
    chunk_seconds : chunk length; ``None`` processes the whole signal at once; ``"auto"`` the
        network's own (:func:`default_chunk_seconds`).
    overlap_seconds : overlap of consecutive chunks (see the module docstring).
    device : ``None`` (where the model is), ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    progress : a tqdm bar over chunks.
    limiter : soft-limit the output (see Clipping above).
    passes : self-ensemble passes, 1, 2, 4 or 8 (see Self-ensemble above); ``None``: ``model.passes``.
    input_channel : how ``audio_in`` was made, when it is a simulated low-resolution signal (an
        ``audio.degrade`` method); ``None`` (real audio) puts it through the model's channel first.
    band : for a full-band network, where the input's content ends (Hz); ``None`` measures it
        (:func:`wavesr.audio.cutoff`). The output rate and what is done follow :func:`wavesr.extend.plan`.
    strength : a full-band network's generated band scaled by this (``None``: the model's own).
    equalize : a full-band network lifts the input's attenuated transition band (``None``: the model's
        own; :class:`Stream`).

    Returns
    -------
    audio : float32 ``[channels, round(time * out_sr / sr)]``.
    out_sr : ``target_sr`` or ``model.sr``.
    notes : what was done, one line each.
    """
    x = float_audio(audio_in)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
        raise WavesrError(
            f"audio must be [time] or [channels, time] with at least one sample, got shape {list(x.shape)}"
        )
    extension = None
    if getattr(model, "full_band", False):  # measure what the input holds; generate only what is missing
        from .extend import plan

        extension = plan(audio.cutoff(x, sr) if band is None else band, sr, target_sr)
        target_sr = extension.sr_out
    with eval_mode(model, device) as dev:
        stream = Stream(
            model,
            sr,
            x.shape[0],
            chunk_seconds,
            overlap_seconds,
            target_sr,
            dev,
            limiter,
            passes=passes,
            input_channel=input_channel,
            band=extension.cutoff if extension else None,
            copy=bool(extension and extension.copy),
            strength=strength,
            equalize=equalize,
        )
        with chunk_bar(progress, stream.expected_chunks(x.shape[1]), "chunks") as stream.bar:
            step = block_frames(x.shape[0])
            parts = [stream.push(x[:, i : i + step]) for i in range(0, x.shape[1], step)]
            parts.append(stream.finish())
    notes = stream.notes("FLOAT")
    if extension is not None:
        notes.insert(0, extension.note)
    return np.concatenate(parts, axis=1), stream.sr_out, notes


def upsample(
    model: Upsampler, audio_in: Any, sr: float, target_sr: int | None = None, **options: Any
) -> tuple[Any, int]:
    """``model.upsample``: numpy arrays or torch tensors (``[time]`` or ``[channels, time]``) in,
    the same type and layout out (tensors on the input's device and dtype). Returns ``(audio, out_sr)``.

    ``options`` are those of :func:`upsample_array`. When the output went over full scale a
    ``UserWarning`` says so (the soft limiter acted, or with ``limiter=False`` values above 1.0 remain).
    """
    import warnings

    is_tensor = isinstance(audio_in, torch.Tensor)
    x = float_audio(audio_in)
    y, out_sr, notes = upsample_array(model, x, sr, target_sr=target_sr, **options)
    for note in notes:
        if "full scale" in note:
            warnings.warn(note, stacklevel=2)
    if x.ndim == 1:
        y = y[0]
    if is_tensor:
        return torch.from_numpy(y).to(device=audio_in.device, dtype=audio_in.dtype), out_sr
    return y, out_sr


def block_frames(channels: int) -> int:
    """Frames per read block: :data:`BLOCK_FRAMES`, fewer for many channels (:data:`BLOCK_SAMPLES`)."""
    return max(256, min(BLOCK_FRAMES, BLOCK_SAMPLES // max(channels, 1)))


SHORT_SECONDS = 10.0  # inputs shorter than this run on one thread (:func:`threads_for`)


@contextlib.contextmanager
def threads_for(seconds: float) -> Iterator[None]:
    """One thread (torch's, and so ONNX Runtime's, :class:`wavesr.runtime.OrtRunner`) for an input
    shorter than :data:`SHORT_SECONDS`: on such small arrays a second thread costs more in
    synchronisation than it saves (BENCHMARKS.md, many small files); longer inputs keep the
    caller's threads."""
    before = torch.get_num_threads()
    if seconds < SHORT_SECONDS and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class eval_mode:
    """Context: the model in eval mode on the resolved device; its training flag restored after."""

    def __init__(self, model: Upsampler, device: str | torch.device | None) -> None:
        self.model = model
        self.device = resolve_device(device, model)

    def __enter__(self) -> torch.device:
        self.was_training = self.model.training
        self.model.to(self.device).eval()
        return self.device

    def __exit__(self, *exc: Any) -> None:
        self.model.train(self.was_training)


def chunk_bar(enabled: bool, total: int, desc: str) -> Any:
    """A tqdm bar over chunks (only when asked and there is more than one chunk)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", leave=False, disable=not enabled or total < 2)
