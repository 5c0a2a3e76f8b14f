"""The channels real audio comes through: how a full-band signal loses its top band.

A :class:`Channel` takes a signal at rate ``sr`` and returns it at the same rate and length with
its content above ``cutoff`` gone, as a real recording, a file resampled up from a lower rate,
a lossy file or a phone call would have it. Channels come in families, drawn at random with a
seed (:func:`draw`) for training, one new channel per example, and named (:attr:`Channel.name`,
:func:`parse`) so that an evaluation table says which channel made its input:

``lowpass``
    An IIR low-pass: Butterworth, Chebyshev I (passband ripple), Chebyshev II (stop-band
    attenuation), Bessel or elliptic, of order 2-12, applied forwards and backwards (``zero``
    phase) or forwards only (``minimum`` phase, as an analogue or causal filter).
``brickwall``
    Every FFT bin above the cutoff set to zero.
``resample``
    Down to twice the cutoff and back up (soxr at a drawn quality, or scipy's polyphase filter):
    a file that was once at a lower rate.
``codec``
    A source of that bandwidth (resampled down to twice the cutoff and back), then MP3, Vorbis or
    Opus at a drawn compression level, encoded and decoded in memory by libsndfile (the encoder
    may cut lower at a low bitrate; Opus fills the top with folded noise, as it does); or MP3,
    Vorbis or AAC at a bitrate in kbps (``codec:mp3:b64``, ``codec:aac:b128``), through ffmpeg
    (libmp3lame, libvorbis, its own AAC).
``telephone``
    300-3400 Hz band-pass, 8 kHz, 8-bit mu-law (G.711's companding), back up; or G.722 at 16 kHz
    (``telephone:g722``, wideband telephony to 7 kHz), through ffmpeg.
``decimate``
    The paper's channel: ``audio.degrade(x, r, "decimate")`` at the ratio that puts its cutoff
    nearest, then band-limited interpolation back to ``sr``.

:data:`HELD_OUT` channels are never drawn unless asked for by family: the robustness protocol
scores models on a brick-wall cutoff, an elliptic filter and MP3, which no training draw made.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal
import soundfile as sf
import soxr

from . import audio
from .constants import CHANNEL_FAMILIES
from .errors import WavesrError

FAMILIES = CHANNEL_FAMILIES
LOWPASS_KINDS = ("butter", "cheby1", "cheby2", "bessel", "ellip")
RESAMPLERS = ("soxr-vhq", "soxr-hq", "soxr-mq", "soxr-lq", "polyphase")
CODECS = ("vorbis", "opus", "mp3")
HELD_OUT = ("brickwall", "lowpass:ellip", "codec:mp3")  # kept out of every training draw
FFMPEG_KINDS = ("codec:aac", "telephone:g722")  # need ffmpeg: named in evaluations, never drawn
G722_DELAY = 22  # samples at 16 kHz
TRAINING_FAMILIES = ("lowpass", "resample", "codec", "telephone", "decimate")
MIN_CUTOFF, MAX_CUTOFF = 2000.0, 20000.0  # Hz, the range cutoffs are drawn from (log-uniform)
_SOXR = {"soxr-vhq": "VHQ", "soxr-hq": "HQ", "soxr-mq": "MQ", "soxr-lq": "LQ"}
_CODEC_FORMATS = {"vorbis": ("OGG", "VORBIS"), "opus": ("OGG", "OPUS"), "mp3": ("MP3", "MPEG_LAYER_III")}
_OPUS_RATE = 48000  # libsndfile's Opus encoder works at 8, 12, 16, 24 or 48 kHz


@dataclass(frozen=True)
class Channel:
    """One channel: its family, the cutoff (Hz) it keeps content below, and its family's settings."""

    family: str
    cutoff: float
    kind: str = ""  # the lowpass design, the resampler or the codec
    order: int = 0  # lowpass order
    ripple: float = 0.0  # dB: passband ripple (cheby1, ellip)
    stop: float = 0.0  # dB: stop-band attenuation (cheby2, ellip)
    phase: str = "zero"  # lowpass: "zero" (forwards and backwards) or "minimum" (forwards)
    level: float = 0.0  # codec: libsndfile's compression level, 0 (best) to 0.9
    kbps: int = 0  # codec through ffmpeg (aac): the bitrate

    @property
    def name(self) -> str:
        """``family[:kind][:settings]@cutoff``, e.g. ``lowpass:cheby1:o8:r0.5:minimum@7300``; :func:`parse`
        reads it back."""
        parts = [self.family] + ([self.kind] if self.kind else [])
        if self.family == "lowpass":
            parts += [f"o{self.order}"] + ([f"r{self.ripple:g}"] if self.ripple else [])
            parts += ([f"s{self.stop:g}"] if self.stop else []) + [self.phase]
        if self.family == "codec":
            parts.append(f"b{self.kbps}" if self.kbps else f"q{self.level:g}")
        return ":".join(parts) + f"@{self.cutoff:.0f}"

    @property
    def needs_ffmpeg(self) -> bool:
        return f"{self.family}:{self.kind}" in FFMPEG_KINDS or (self.family == "codec" and self.kbps > 0)

    @property
    def held_out(self) -> bool:
        """Whether no training draw makes this channel (:data:`HELD_OUT`)."""
        return self.family in HELD_OUT or f"{self.family}:{self.kind}" in HELD_OUT

    def apply(self, x: np.ndarray, sr: int) -> np.ndarray:
        """``x`` (``[time]`` or ``[channels, time]`` at ``sr``) through the channel: same shape, float32."""
        x = np.asarray(x, dtype=np.float32)
        if self.cutoff >= sr / 2:
            raise WavesrError(
                f"{self.name}: cutoff {self.cutoff:.0f} Hz is not below the Nyquist frequency of {sr} Hz"
            )
        y = _APPLY[self.family](self, np.atleast_2d(x), sr)
        y = audio.fit_length(y, x.shape[-1]).astype(np.float32)
        return y[0] if x.ndim == 1 else y


def _lowpass(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    wn = ch.cutoff / (sr / 2)
    design = {
        "butter": lambda: scipy.signal.butter(ch.order, wn, output="sos"),
        "cheby1": lambda: scipy.signal.cheby1(ch.order, ch.ripple, wn, output="sos"),
        "cheby2": lambda: scipy.signal.cheby2(ch.order, ch.stop, wn, output="sos"),
        "bessel": lambda: scipy.signal.bessel(ch.order, wn, output="sos", norm="mag"),
        "ellip": lambda: scipy.signal.ellip(ch.order, ch.ripple, ch.stop, wn, output="sos"),
    }
    if ch.kind not in design:
        raise WavesrError(f"{ch.name}: unknown low-pass {ch.kind!r} (choose from {', '.join(design)})")
    sos = design[ch.kind]()
    if ch.phase == "zero":
        return scipy.signal.sosfiltfilt(sos, x, axis=-1)
    return scipy.signal.sosfilt(sos, x, axis=-1)


def _brickwall(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    spectrum = np.fft.rfft(x, axis=-1)
    spectrum[:, np.fft.rfftfreq(x.shape[-1], 1 / sr) > ch.cutoff] = 0
    return np.fft.irfft(spectrum, x.shape[-1], axis=-1)


def _resample(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    low = 2 * ch.cutoff
    if ch.kind == "polyphase":  # scipy's Kaiser-windowed FIR, down by up/down and back
        up, down = _fraction(low / sr)
        return scipy.signal.resample_poly(scipy.signal.resample_poly(x, up, down, axis=-1), down, up, axis=-1)
    quality = _SOXR.get(ch.kind)
    if quality is None:
        raise WavesrError(f"{ch.name}: unknown resampler {ch.kind!r} (choose from {', '.join(RESAMPLERS)})")
    down = soxr.resample(x.T, sr, low, quality=quality)
    return soxr.resample(down, low, sr, quality="VHQ").T


def _fraction(ratio: float, most: int = 160) -> tuple[int, int]:
    """``(up, down)`` with ``up / down`` near ``ratio`` (at most ``most``), for polyphase resampling."""
    best = min(
        ((round(ratio * d), d) for d in range(1, most + 1) if round(ratio * d) >= 1),
        key=lambda f: abs(f[0] / f[1] - ratio),
    )
    g = math.gcd(*best)
    return best[0] // g, best[1] // g


_FFMPEG_CODECS = {  # codec at a bitrate: ffmpeg encoder, muxer, demuxer
    "aac": ("aac", "ipod", "mov"),
    "mp3": ("libmp3lame", "mp3", "mp3"),
    "vorbis": ("libvorbis", "ogg", "ogg"),
}  # Opus at a bitrate is not offered: ffmpeg's libopus round trip came back 3 samples early at 44.1 kHz


def _codec(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    if ch.kind == "aac" or ch.kbps:  # at a bitrate: through ffmpeg
        if ch.kind not in _FFMPEG_CODECS:
            raise WavesrError(
                f"{ch.name}: {ch.kind} at a bitrate is not offered (choose from mp3, vorbis, aac)"
            )
        encoder, muxer, demuxer = _FFMPEG_CODECS[ch.kind]
        source = _resample(replace(ch, kind="soxr-vhq"), x, sr)
        return _ffmpeg(source, sr, sr, ["-c:a", encoder, "-b:a", f"{ch.kbps or 64}k"], (muxer, demuxer))
    if ch.kind not in _CODEC_FORMATS:
        raise WavesrError(f"{ch.name}: unknown codec {ch.kind!r} (choose from {', '.join(CODECS)}, aac)")
    source = _resample(replace(ch, kind="soxr-vhq"), x, sr)  # a source of that bandwidth
    fmt, subtype = _CODEC_FORMATS[ch.kind]
    rate = _OPUS_RATE if ch.kind == "opus" else sr
    data = soxr.resample(source.T, sr, rate, quality="VHQ") if rate != sr else source.T
    buffer = io.BytesIO()
    peak = max(1.0, float(np.abs(data).max()))  # lossy formats clip at full scale: code it below
    sf.write(buffer, data / peak, rate, format=fmt, subtype=subtype, compression_level=ch.level)
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32", always_2d=True)
    decoded = decoded * peak
    return (soxr.resample(decoded, rate, sr, quality="VHQ") if rate != sr else decoded).T


def _ffmpeg(
    x: np.ndarray, sr: int, rate: int, codec: list[str], container: tuple[str, str], delay: int = 0
) -> np.ndarray:
    """``x`` (``[channels, time]`` at ``sr``) encoded by ffmpeg at ``rate`` with ``codec`` flags into
    ``container`` (its muxer and demuxer names), decoded, its first ``delay`` samples (the codec's
    own delay, at ``rate``) dropped, back at ``sr`` (soxr)."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("ffmpeg") is None:
        raise WavesrError("this channel encodes with ffmpeg, which is not installed (apt-get install ffmpeg)")
    peak = max(1.0, float(np.abs(x).max()))
    with tempfile.TemporaryDirectory(prefix=".wavesr-channel-") as tmp:
        src, coded, back = Path(tmp) / "in.wav", Path(tmp) / "coded", Path(tmp) / "out.wav"
        sf.write(src, (x / peak).T, sr, subtype="FLOAT")
        quiet = ["ffmpeg", "-y", "-loglevel", "error"]
        for args in (
            [*quiet, "-i", str(src), "-ar", str(rate), *codec, "-f", container[0], str(coded)],
            [*quiet, "-f", container[1], "-i", str(coded), "-c:a", "pcm_f32le", str(back)],
        ):
            done = subprocess.run(args, capture_output=True, text=True)
            if done.returncode:
                raise WavesrError(f"ffmpeg failed: {done.stderr.strip()[-200:]}")
        decoded, got = sf.read(back, dtype="float32", always_2d=True)
        decoded = decoded[delay:]
    out: np.ndarray = (soxr.resample(decoded, got, sr, quality="VHQ") if got != sr else decoded).T * peak
    return out


def _telephone(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    if ch.kind == "g722":
        return np.concatenate(  # G.722 is mono; its QMF filter bank delays by 22 samples at 16 kHz
            [_ffmpeg(c[None], sr, 16000, ["-c:a", "g722"], ("g722", "g722"), delay=G722_DELAY) for c in x]
        )
    ratio = sr / 8000
    if ratio.is_integer() and ratio >= 2:
        low = audio.degrade(x, int(ratio), "telephone")
        return audio.interpolate(low, int(ratio), "bandlimited", length=x.shape[-1])
    at8k = soxr.resample(x.T, sr, 8000, quality="VHQ").T
    low = audio.degrade(soxr.resample(at8k.T, 8000, 16000, quality="VHQ").T, 2, "telephone")
    return soxr.resample(low.T, 8000, sr, quality="VHQ").T


def _decimate(ch: Channel, x: np.ndarray, sr: int) -> np.ndarray:
    ratio = decimate_ratio(ch.cutoff, sr)
    return audio.interpolate(audio.degrade(x, ratio, "decimate"), ratio, "bandlimited", length=x.shape[-1])


def decimate_ratio(cutoff: float, sr: float) -> int:
    """The paper's integer ratio whose new Nyquist frequency is nearest ``cutoff`` (at least 2)."""
    return max(2, round(sr / (2 * cutoff)))


_APPLY: dict[str, Any] = {
    "lowpass": _lowpass,
    "brickwall": _brickwall,
    "resample": _resample,
    "codec": _codec,
    "telephone": _telephone,
    "decimate": _decimate,
}


def draw(
    rng: np.random.Generator,
    sr: int,
    families: tuple[str, ...] = TRAINING_FAMILIES,
    low: float = MIN_CUTOFF,
    high: float = MAX_CUTOFF,
    held_out: bool = False,
) -> Channel:
    """A random channel of one of ``families`` (equally likely) with a cutoff drawn log-uniformly in
    ``[low, min(high, 0.45 sr)]``; :data:`HELD_OUT` kinds only when ``held_out``."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise WavesrError(
            f"unknown channel family {', '.join(unknown) or '(none)'} (choose from {', '.join(FAMILIES)})"
        )
    top = min(high, 0.45 * sr)
    if not 0 < low < top:
        raise WavesrError(f"no cutoff between {low:g} and {top:g} Hz at {sr} Hz")
    family = families[int(rng.integers(len(families)))]
    cutoff = float(round(np.exp(rng.uniform(np.log(low), np.log(top)))))  # whole Hz: names read back exactly
    if family == "lowpass":
        kinds = [k for k in LOWPASS_KINDS if held_out or f"lowpass:{k}" not in HELD_OUT]
        kind = kinds[int(rng.integers(len(kinds)))]
        order = int(rng.integers(2, 13)) if kind != "bessel" else int(rng.integers(2, 9))
        ripple = round(float(rng.uniform(0.05, 3.0)), 2) if kind in ("cheby1", "ellip") else 0.0
        stop = round(float(rng.uniform(40, 100)), 1) if kind in ("cheby2", "ellip") else 0.0
        phase = "zero" if rng.random() < 0.5 else "minimum"
        return Channel("lowpass", cutoff, kind, order, ripple, stop, phase)
    if family == "resample":
        return Channel("resample", cutoff, RESAMPLERS[int(rng.integers(len(RESAMPLERS)))])
    if family == "codec":
        kinds = [k for k in CODECS if held_out or f"codec:{k}" not in HELD_OUT]
        return Channel(
            "codec", cutoff, kinds[int(rng.integers(len(kinds)))], level=round(float(rng.uniform(0, 0.9)), 2)
        )
    if family == "telephone":
        return Channel("telephone", 3400.0)
    if family == "decimate":
        ratio = decimate_ratio(cutoff, sr)
        return Channel("decimate", float(round(sr / (2 * ratio))))
    return Channel(family, cutoff)


def parse(name: str) -> Channel:
    """The channel :attr:`Channel.name` names, e.g. ``brickwall@8000`` or ``codec:mp3:q0.6@16000``."""
    head, sep, cut = name.rpartition("@")
    try:
        cutoff = float(cut)
        parts = head.split(":") if sep else []
        family, rest = parts[0], parts[1:]
        values: dict[str, Any] = {}
        if family in ("lowpass", "resample", "codec", "telephone") and rest:
            values["kind"], rest = rest[0], rest[1:]
        for part in rest:
            if part in ("zero", "minimum"):
                values["phase"] = part
            else:
                key = {"o": "order", "r": "ripple", "s": "stop", "q": "level", "b": "kbps"}[part[0]]
                values[key] = int(part[1:]) if key in ("order", "kbps") else float(part[1:])
    except (ValueError, KeyError, IndexError):
        raise WavesrError(
            f"{name!r}: not a channel name (e.g. brickwall@8000, lowpass:cheby1:o8:r0.5:zero@7300, "
            "resample:soxr-hq@11025, codec:mp3:q0.6@16000, telephone@3400)"
        ) from None
    if family not in FAMILIES:
        raise WavesrError(f"{name!r}: unknown channel family {family!r} (choose from {', '.join(FAMILIES)})")
    known = {f.name for f in fields(Channel)}
    return Channel(family=family, cutoff=cutoff, **{k: v for k, v in values.items() if k in known})
