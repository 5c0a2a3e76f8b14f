"""Audio I/O and the signal processing every stage shares.

Conventions
-----------
* Audio is a float32 numpy array, either 1-D ``[time]`` or ``[channels, time]``; every DSP
  function here works along the last axis, so both shapes go through unchanged.
* The low-resolution simulation is :func:`degrade`; preparation, training, evaluation and the
  samples page all call it, so train and test data cannot drift apart. With ratio ``r`` a signal
  of ``n`` samples becomes ``ceil(n / r)`` samples: sample ``i`` of the low-resolution signal
  sits at time ``i * r`` of the high-resolution one (as ``x[::r]``).
* :func:`interpolate` maps a low-resolution signal back onto the high-resolution grid: the cubic
  B-spline of Kuleshov et al. (2017) (the paper's baseline and AudioUNet's input) or band-limited
  interpolation with soxr (a stronger baseline).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
import soundfile as sf
import soxr

from .constants import DEGRADE_CHANNELS, SAMPLE_RATE  # noqa: F401 (audio.SAMPLE_RATE is public)
from .errors import WavesrError
from .files import atomic_path, check_input_file, software_tag

# the telephone channel relative to the low-resolution Nyquist frequency: 300-3400 Hz at an 8 kHz low rate
TELEPHONE_BAND = (300 / 4000, 3400 / 4000)
MULAW_MU = 255  # G.711's mu
INTERPOLATE_METHODS = ("cubic", "bandlimited")
CROSSOVER = (
    0.95  # keep_band's default cut, x the low-rate Nyquist frequency (chosen on validation: BENCHMARKS.md)
)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")
SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16"}
READ_FRAMES = 1 << 16  # frames per read, in load and in inference's streaming reads alike


# ----------------------------------------------------------------------------------------- I/O


def load(path: str | os.PathLike, sr: int | None = None, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read any file libsndfile decodes (WAV of any depth, FLAC, Ogg Vorbis/Opus, MP3, ...).

    Every frame libsndfile decodes is used. A file shorter than its header declares (a truncated
    WAV, AIFF or MP3) gives the frames present, as :func:`wavesr.audiofiles.upsample_file` does
    (which says so in a note, see :func:`truncation`); a file that cannot be decoded to its end
    (a truncated FLAC: "decoder lost sync") raises. Empty files, files with no samples and files
    with NaN or infinite samples raise a :class:`WavesrError` naming the file and the problem.

    Parameters
    ----------
    path : the audio file.
    sr : resample to this rate (soxr) when given; otherwise keep the file's rate.
    mono : average the channels.

    Returns
    -------
    audio : float32 ``[channels, time]`` (``[time]`` when ``mono``), full scale = 1.0, finite.
    sr : its sample rate.
    """
    path = _check_file(path)
    try:  # in blocks, as upsample reads (the same samples even from a damaged stream), to the end
        with sf.SoundFile(os.fsencode(path)) as f:  # no seek to 0: from where libsndfile opens the file
            file_sr, n, extra = f.samplerate, 0, []
            data = np.empty((max(f.frames, 0), f.channels), np.float32)
            while len(block := f.read(READ_FRAMES, dtype="float32", always_2d=True)):
                k = min(len(block), len(data) - n)
                data[n : n + k] = block[:k]
                n += k
                if k < len(block):  # more frames than the header's count (e.g. a headerless .au)
                    extra.append(block[k:])
        data = np.concatenate([data[:n], *extra]) if extra else data[:n]
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, MemoryError) as e:
        raise decode_error(path, e) from None
    audio = np.ascontiguousarray(data.T)
    if audio.shape[-1] == 0:
        raise WavesrError(f"{path}: contains no samples")
    check_finite(audio, file_sr, str(path))
    if mono:
        audio = audio.mean(axis=0)
    if sr is not None and sr != file_sr:
        audio = resample(audio, file_sr, sr)
        file_sr = sr
    return audio, int(file_sr)


def _check_file(path: str | os.PathLike) -> Path:
    path = check_input_file(path)
    if path.stat().st_size == 0:
        raise WavesrError(f"{path}: empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise WavesrError(f"{path}: cannot be read (permission denied)")
    return path


def check_finite(audio: np.ndarray, sr: float, name: str, offset: int = 0) -> None:
    """Raise a WavesrError naming ``name`` and the time of the first NaN or infinite sample.

    ``audio`` is ``[channels, time]``; ``offset`` is the index of its first frame in the file.
    """
    if np.isfinite(np.sum(audio, dtype=np.float64)):  # a NaN or an infinity makes the sum one (fast path)
        return
    finite = np.isfinite(audio)
    if not finite.all():
        first = int(np.argmin(finite.all(axis=0)))
        raise WavesrError(f"{name}: non-finite sample (NaN or Inf) at {(offset + first) / sr:.3f} s")


def decode_error(path: str | os.PathLike, e: Exception, what: str = "cannot decode audio") -> WavesrError:
    """A libsndfile failure as one line naming the file (and the extension when it is not audio)."""
    path = Path(path)
    reason = _sndfile_reason(e)
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return WavesrError(
            f"{path}: unsupported format {path.suffix or '(no extension)'} ({reason}); "
            f"wavesr reads {' '.join(AUDIO_EXTENSIONS)}"
        )
    return WavesrError(f"{path}: {what} ({reason}): damaged, truncated or not audio")


def _sndfile_reason(e: Exception) -> str:
    """libsndfile's reason without its "Error opening 'PATH': " prefix."""
    if isinstance(e, MemoryError):
        return "its header declares more samples than fit in memory"
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    if "does not exist or is not a regular file" in text:  # libsndfile's mpg123 reader on bad MP3 data
        text = "no valid MPEG audio stream"
    return text.strip().rstrip(".") or type(e).__name__


def info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames, format) without decoding the samples."""
    path = _check_file(path)
    try:
        return sf.info(os.fsencode(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise decode_error(path, e, "cannot read audio header") from None


_DECLARED = re.compile(r"^\s*(?:data|SSND|Data Size)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def truncation(info: sf._SoundFileInfo, frames_read: int | None = None) -> str | None:
    """A note when a file holds fewer frames than its header declares, else ``None``.

    Two signs, both of a truncated file (an interrupted copy or recording): libsndfile's log of
    a WAV / AIFF / AU header whose data size exceeds the bytes present ("data : N (should be
    M)"; a WAV written as a stream with an unknown length looks the same), or fewer frames
    decoded (``frames_read``) than the header's count (a truncated MP3). The frames present are
    used either way (see :func:`load`).
    """
    m = _DECLARED.search(info.extra_info or "")
    if m and int(m[1]) > int(m[2]):
        return (
            f"the header declares {int(m[1])} bytes of samples but the file holds {int(m[2])} "
            f"(truncated, or written as a stream): the {info.frames} frames present were used"
        )
    if frames_read is not None and frames_read < info.frames:
        return (
            f"the file ended after {frames_read} of the {info.frames} frames its header declares "
            f"(truncated?): the {frames_read} frames present were used"
        )
    return None


def write_error(path: str | os.PathLike, e: Exception) -> WavesrError:
    """A failed libsndfile write (a full disk, a file-size limit) as one line naming the file.

    libsndfile reports only "System error"; the system's reason is the errno of its last call.
    """
    reason = _sndfile_reason(e)
    errno = getattr(getattr(sf, "_ffi", None), "errno", 0)
    if isinstance(e, sf.LibsndfileError) and errno:
        reason = os.strerror(errno)
    return WavesrError(f"{path}: write failed ({reason}); nothing was written")


def save(
    path: str | os.PathLike, audio: np.ndarray, sr: int, subtype: str | None = None, force: bool = False
) -> Path:
    """Write ``audio`` (``[time]`` or ``[channels, time]``) as WAV or FLAC, atomically.

    The format follows the extension; ``subtype`` defaults to 16-bit PCM. Samples outside
    [-1, 1] are clipped by libsndfile for integer subtypes; callers report clipping
    (see :func:`clip_fraction`). Refuses to replace an existing file unless ``force``, and then
    only one wavesr wrote (:func:`wavesr.files.check_writable`).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUBTYPES:
        raise WavesrError(f"{path}: output must be .wav or .flac")
    audio = np.asarray(audio, dtype=np.float32)
    frames = audio.T if audio.ndim == 2 else audio
    try:
        with atomic_path(path, force=force) as tmp:
            with sf.SoundFile(
                os.fsencode(tmp),
                "w",
                int(sr),
                1 if frames.ndim == 1 else frames.shape[1],
                subtype or SUBTYPES[ext],
                format=ext[1:].upper(),
            ) as f:
                f.software = software_tag()
                f.write(frames)
    except sf.LibsndfileError as e:
        raise write_error(path, e) from None
    return path


def clip_fraction(audio: np.ndarray) -> float:
    """Fraction of samples whose magnitude exceeds full scale (1.0)."""
    audio = np.asarray(audio)
    return float(np.mean(np.abs(audio) > 1.0)) if audio.size else 0.0


def find_audio(root: str | os.PathLike) -> list[Path]:
    """All audio files under ``root`` (recursive, sorted, by extension).

    Hidden names below ``root`` (starting with ``.``) are skipped: the temporary files of
    interrupted atomic writes (``.name.XXXX.tmp.wav``) and macOS's ``._name.wav`` metadata.
    """
    root = Path(root)
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


# ------------------------------------------------------------------------------ resampling


def resample(audio: np.ndarray, sr_in: float, sr_out: float, quality: str = "VHQ") -> np.ndarray:
    """Band-limited resampling with soxr along the last axis (delay compensated)."""
    audio = np.asarray(audio, dtype=np.float32)
    if sr_in == sr_out:
        return audio.copy()
    if audio.ndim == 1:
        return soxr.resample(audio, sr_in, sr_out, quality=quality)
    return np.ascontiguousarray(
        soxr.resample(np.ascontiguousarray(audio.T), sr_in, sr_out, quality=quality).T
    )


def _fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad the last axis to ``length``."""
    n = audio.shape[-1]
    if n >= length:
        return audio[..., :length]
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, length - n)]
    return np.pad(audio, pad)


def lowres_length(n: int, ratio: int) -> int:
    """Number of low-resolution samples :func:`degrade` makes from ``n`` samples."""
    return -(-n // ratio)


# ------------------------------------------------------------------- low-resolution simulation


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cropped or zero-padded at its end to ``n`` samples along the last axis."""
    n = max(int(n), 0)
    if x.shape[-1] >= n:
        return x[..., :n]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])


def check_ratio(ratio: int) -> int:
    if int(ratio) != ratio or ratio < 2:
        raise WavesrError(f"ratio must be an integer >= 2, got {ratio}")
    return int(ratio)


def degrade(audio: np.ndarray, ratio: int, channel: str = "decimate") -> np.ndarray:
    """Simulate a low-resolution recording: ``audio`` through ``channel``, keeping 1 sample in ``ratio``.

    Channels
    --------
    ``decimate``
        The paper's: ``scipy.signal.decimate(x, r)`` -- Chebyshev type I low-pass of order 8,
        0.05 dB ripple, cutoff 0.8 x the new Nyquist frequency, applied forwards and backwards
        (zero phase), then every r-th sample. Identical to scipy's for inputs longer than 27
        samples; shorter inputs use a shorter filtfilt padding instead of failing.
    ``subsample``
        Plain ``x[::r]`` with no anti-alias filter (aliased), as the original multi-speaker recipe.
    ``sinc``
        Band-limited resampling by soxr (very high quality windowed sinc), re-aligned so that
        output sample i is input time i * r.
    ``telephone``
        A narrowband telephone channel: a band-pass of ``TELEPHONE_BAND`` x the new Nyquist
        frequency (300-3400 Hz when the new rate is 8 kHz; Butterworth of order 4 applied
        forwards and backwards, zero phase), ``sinc`` resampling, then 8-bit mu-law coding
        (:func:`mulaw`, the companding of G.711 without its segment approximation).

    Parameters
    ----------
    audio : ``[time]`` or ``[channels, time]``.
    ratio : integer downsampling factor >= 2.

    Returns
    -------
    ``[..., ceil(time / ratio)]``, same dtype family (float32 in, float32 out).
    """
    import scipy.signal  # imported where used: scipy.signal takes a second to import

    ratio = check_ratio(ratio)
    x = np.asarray(audio)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    n = x.shape[-1]
    if n == 0:
        raise WavesrError("cannot degrade zero-length audio")
    out_len = lowres_length(n, ratio)
    if channel == "decimate":
        b, a = scipy.signal.cheby1(8, 0.05, 0.8 / ratio)
        padlen = min(3 * max(len(a), len(b)), n - 1)
        y = scipy.signal.filtfilt(b, a, x.astype(np.float64), axis=-1, padlen=padlen)[..., ::ratio]
    elif channel == "subsample":
        y = x[..., ::ratio]
    elif channel == "sinc":
        y = _fit_length(resample(x, ratio, 1), out_len)
    elif channel == "telephone":
        sos = scipy.signal.butter(4, [f / ratio for f in TELEPHONE_BAND], btype="bandpass", output="sos")
        padlen = min(27, n - 1)  # scipy's default for this filter, shortened for short inputs (as decimate)
        band = scipy.signal.sosfiltfilt(sos, x.astype(np.float64), axis=-1, padlen=padlen)
        y = mulaw(_fit_length(resample(band, ratio, 1), out_len))
    else:
        raise WavesrError(f"unknown channel {channel!r} (choose from {', '.join(DEGRADE_CHANNELS)})")
    return np.ascontiguousarray(y, dtype=dtype)


def mulaw(audio: np.ndarray, bits: int = 8, mu: int = MULAW_MU) -> np.ndarray:
    """Code ``audio`` (full scale 1.0; beyond it is clipped) with ``bits``-bit mu-law and decode it:
    the quantisation noise of a telephone codec, finer for quiet samples than for loud ones."""
    x = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
    levels = (
        2 ** (bits - 1) - 1
    )  # codes -127 .. 127 at 8 bits: G.711's 255 distinct values (it has a +0 and a -0)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * levels)
    z = code / levels
    return np.sign(z) * np.expm1(np.abs(z) * np.log1p(mu)) / mu


def interpolate(
    lowres: np.ndarray, ratio: int, method: str = "cubic", length: int | None = None
) -> np.ndarray:
    """Bring a low-resolution signal back to the high-resolution grid.

    Methods
    -------
    ``cubic``
        Interpolating cubic B-spline through the low-resolution samples placed at times
        ``0, r, 2r, ...`` (not-a-knot ends, extrapolated past the last sample), as the original
        code's ``splrep``/``splev``; fewer than 4 samples fall back to a lower spline degree.
    ``bandlimited``
        soxr resampling by ``ratio`` (ideal low-pass at the low-resolution Nyquist frequency).

    Parameters
    ----------
    lowres : ``[time_lr]`` or ``[channels, time_lr]``.
    length : high-resolution length; default ``time_lr * ratio``.

    Returns
    -------
    ``[..., length]`` float32 (float64 stays float64).
    """
    import scipy.interpolate  # imported where used: it takes most of a second to import

    ratio = check_ratio(ratio)
    x = np.asarray(lowres)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    n = x.shape[-1]
    if n == 0:
        raise WavesrError("cannot interpolate zero-length audio")
    length = n * ratio if length is None else int(length)
    if method == "cubic":
        if n == 1:
            y = np.repeat(x.astype(np.float64), length, axis=-1)
        else:
            spline = scipy.interpolate.make_interp_spline(
                np.arange(n) * ratio, x.astype(np.float64), k=min(3, n - 1), axis=-1
            )
            y = spline(np.arange(length))
    elif method == "bandlimited":
        y = _fit_length(resample(x, 1, ratio), length)
    else:
        raise WavesrError(f"unknown interpolation {method!r} (choose from {', '.join(INTERPOLATE_METHODS)})")
    return np.ascontiguousarray(y, dtype=dtype)


@functools.lru_cache(maxsize=16)
def crossover_taps(ratio: int, cutoff: float = CROSSOVER) -> np.ndarray:
    """Linear-phase FIR low-pass at ``cutoff`` x the low-rate Nyquist frequency, for the high rate.

    Kaiser window, 60 dB stopband, transition 5 % of the low-rate Nyquist frequency wide (an odd
    number of taps, about ``145 * ratio``: 9 ms at 16 kHz whatever the ratio). Designed once per
    ``(ratio, cutoff)`` (every chunk of a stream uses it) and read-only.
    """
    import scipy.signal  # imported where used: scipy.signal takes a second to import

    ratio = check_ratio(ratio)
    if not 0.0 < cutoff <= 1.0:
        raise ValueError(f"cutoff must be in (0, 1], got {cutoff}")
    numtaps, beta = scipy.signal.kaiserord(60.0, 0.05 / ratio)
    taps = scipy.signal.firwin(numtaps | 1, cutoff / ratio, window=("kaiser", beta))
    taps.flags.writeable = False
    return taps


def keep_band(given: np.ndarray, estimate: np.ndarray, ratio: int, cutoff: float = CROSSOVER) -> np.ndarray:
    """``estimate`` with its band below ``cutoff`` x the low-rate Nyquist frequency taken from ``given``.

    ``given`` is the input's own band on the high-rate grid (its band-limited interpolation),
    ``estimate`` a network's output of the same shape ``[..., time]``: the result keeps what the input
    really holds and the network's guess only above it. A crossover by the FIR of
    :func:`crossover_taps` (zero phase, ``same`` length; the two parts sum to one at every frequency).
    """
    import scipy.signal  # imported where used: scipy.signal takes a second to import

    given, estimate = np.asarray(given), np.asarray(estimate)
    if given.shape != estimate.shape:
        raise ValueError(f"shape mismatch: {given.shape} vs {estimate.shape}")
    taps = crossover_taps(ratio, cutoff).reshape((1,) * (given.ndim - 1) + (-1,))
    low = scipy.signal.oaconvolve(given.astype(np.float64) - estimate, taps, mode="same", axes=-1)
    return (estimate + low).astype(estimate.dtype, copy=False)


PUT_BACK_BAND = (1.0, 1.05)  # the crossover from the input's own band to the network's, x the cutoff
LEVEL_BAND = (0.5, 0.85)  # where the network's level is matched to the input's, x the cutoff
MAX_LEVEL_DB = 6.0  # the most the level match may change the generated band


# where the generated band's strength goes from 1 to its value, x the cutoff ((1.0, 1.0): from the
# cutoff on, which scored the same under the choice rule, docs/design.md)
STRENGTH_RAMP = (1.0, 1.1)


# The top of the input's own band, where the filter that made it (a resampler's or a low-pass
# filter's transition band) has attenuated it: its phase is the truth's, only its level is low,
# so put_back(equalize=True) lifts it back to the level just below (docs/design.md, "Lifting the
# input's transition band"). Over the chunk, the log power spectrum averaged over the
# 2 x EQUALIZE_SMOOTH x the cutoff under each bin, from EQUALIZE_REF[1] to EQUALIZE_END x the
# cutoff, against its mean over EQUALIZE_REF x the cutoff (soxr's very-high-quality transition
# band is 0.94-0.97 of the Nyquist frequency, the measured cutoff 0.95-0.98 of it).
EQUALIZE_REF = (0.95, 0.975)
EQUALIZE_END = 1.0
EQUALIZE_SMOOTH = 0.002
EQUALIZE_MAX_DB = 60.0  # the most a bin is lifted (soxr is -42 dB at 0.97 x its Nyquist frequency)
# The lift is taken from the chunk faded in and out over this long at its ends: a chunk's spectrum
# treats it as periodic, and the jump from its end to its start holds the band unattenuated
# (lifted, it would ring at the file's first and last samples; inside a stream the ends are the
# overlap's context, which is discarded).
EQUALIZE_FADE_SECONDS = 0.05


def transition_gain(power: np.ndarray, freqs: np.ndarray, cutoff: float) -> np.ndarray:
    """Per frequency of ``freqs`` (Hz, an rfft's: evenly spaced from 0), the gain that lifts the input's
    band where the filter that band-limited it attenuates it, back to the level just below; 1 elsewhere.

    ``power`` is the input's power spectrum at ``freqs`` (its channels summed). The attenuation is the
    spectrum's level (its log averaged over each bin and the ``2 x EQUALIZE_SMOOTH x cutoff`` under
    it) over :data:`EQUALIZE_REF` ``[1]`` to :data:`EQUALIZE_END` x ``cutoff`` against its mean over
    :data:`EQUALIZE_REF` x ``cutoff``, made non-increasing from the top (a dip
    that recovers is the signal's own, not a filter's), and is undone up to :data:`EQUALIZE_MAX_DB`:
    only lifts, never cuts. float32, the shape of ``freqs``.
    """
    freqs = np.asarray(freqs)
    gain = np.ones(freqs.shape, np.float32)
    if cutoff <= 0 or freqs.size < 3:
        return gain
    step = float(freqs[1] - freqs[0])
    k = max(1, round(EQUALIZE_SMOOTH * cutoff / step))
    ref = np.flatnonzero((freqs >= EQUALIZE_REF[0] * cutoff) & (freqs < EQUALIZE_REF[1] * cutoff))
    idx = np.flatnonzero((freqs >= EQUALIZE_REF[1] * cutoff) & (freqs < EQUALIZE_END * cutoff))
    if not ref.size or not idx.size:
        return gain
    lo = max(min(ref[0], idx[0] - 2 * k), 0)  # the log taken only where it is used
    log_power = np.log(np.asarray(power[lo : idx[-1] + 1], np.float64) + 1e-30)
    # each bin's level: the mean log power over it and the 2k bins below it, never above it, so that a
    # cliff the bins under it have not passed (a brick-wall's) does not look like attenuation there
    total = np.concatenate([[0.0], np.cumsum(log_power)])
    start = np.maximum(idx - 2 * k, lo)
    smooth = (total[idx + 1 - lo] - total[start - lo]) / (idx + 1 - start)
    drop = smooth - np.mean(log_power[ref - lo])  # ln of the power against the band below, per bin
    drop = np.maximum.accumulate(drop[::-1])[::-1]  # non-increasing: the least drop from above
    lift = np.exp(-0.5 * np.minimum(drop, 0.0))  # amplitude gain, >= 1
    gain[idx] = np.minimum(lift, 10 ** (EQUALIZE_MAX_DB / 20))
    return gain


def fade_in(n: int) -> np.ndarray:
    """``n`` float32 weights rising from 0 to 1 by a raised cosine (one minus it fades out)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32) if n else np.zeros(0)


def edge_fade(n: int, m: int) -> np.ndarray:
    """``n`` float32 weights: :func:`fade_in` over the first ``m`` (at most ``n // 2``), 1 between,
    and back to 0 over the last ``m``."""
    m = min(m, n // 2)
    w = np.ones(n, np.float32)
    if m > 0:
        ramp = fade_in(m)
        w[:m], w[n - m :] = ramp, ramp[::-1]
    return w


def put_back(
    given: np.ndarray,
    estimate: np.ndarray,
    sr: float,
    cutoff: float,
    strength: float = 1.0,
    equalize: bool = False,
) -> np.ndarray:
    """``estimate`` above ``cutoff`` Hz, ``given`` below it: the input's own band kept after a
    full-band network, so that only the missing band is generated.

    ``given`` (the input at the output rate) and ``estimate`` (the network's output) are
    ``[..., time]`` of one shape. In the FFT of each row the two are cross-faded by a raised
    cosine from :data:`PUT_BACK_BAND` ``[0]`` to ``[1]`` x ``cutoff``: everything the input holds
    up to its measured cutoff is kept, even the faint top of a filter's transition band, whose
    phase is the truth's where the network's is a guess (docs/design.md). The network's part is
    scaled so that its energy over :data:`LEVEL_BAND` x ``cutoff`` equals the input's there (at
    most :data:`MAX_LEVEL_DB` either way): the generated band joins the kept one at its level.
    ``strength`` scales the generated band above the cutoff (reached by :data:`STRENGTH_RAMP`
    x ``cutoff``): a model's validation chooses it, when its network's band is brighter than the
    truth on average (the top band's energy at a wrong phase costs SNR and, too loud, LSD too).
    ``equalize`` first lifts the top of the input's band where the filter that made it attenuated
    it (:func:`transition_gain`): the truth's own content, at its level again.
    ``cutoff`` 0 (silence) or at the Nyquist frequency returns ``given``.
    """
    given, estimate = np.asarray(given), np.asarray(estimate)
    if given.shape != estimate.shape:
        raise ValueError(f"shape mismatch: {given.shape} vs {estimate.shape}")
    n = given.shape[-1]
    if cutoff <= 0 or cutoff >= sr / 2 or n < 2:
        return given.astype(estimate.dtype, copy=True)
    freqs = np.fft.rfftfreq(n, 1 / sr).astype(np.float32)
    # float32 transforms (scipy's, twice numpy's float64 speed on a 10 s chunk); the kept band is the
    # input's to float32 rounding
    x = given.astype(np.float32, copy=False)
    g = scipy.fft.rfft(x, axis=-1)
    e = scipy.fft.rfft(estimate.astype(np.float32, copy=False), axis=-1)
    if equalize:  # only the bins up to where the lift ends are looked at and changed
        top = int(np.searchsorted(freqs, EQUALIZE_END * cutoff))
        power = np.sum(np.abs(g[..., :top].reshape(-1, top)) ** 2, axis=0)
        lift = transition_gain(power, freqs[:top], cutoff) - 1
        if lift.any():
            faded = scipy.fft.rfft(x * edge_fade(n, round(EQUALIZE_FADE_SECONDS * sr)), axis=-1)
            g[..., :top] += lift * faded[..., :top]
    w, scale = put_back_weights(freqs, cutoff, strength)
    level = (freqs >= LEVEL_BAND[0] * cutoff) & (freqs < LEVEL_BAND[1] * cutoff)
    p_given = np.sum(np.abs(g[..., level]) ** 2, axis=-1, keepdims=True)
    p_est = np.sum(np.abs(e[..., level]) ** 2, axis=-1, keepdims=True)
    limit = 10 ** (MAX_LEVEL_DB / 20)
    gain = np.clip(np.sqrt(p_given / np.maximum(p_est, 1e-30)), 1 / limit, limit)
    gain = np.where(p_est > 0, gain, 1.0).astype(np.float32)
    if strength != 1.0:
        gain = gain * scale
    out = scipy.fft.irfft(g * (1 - w) + gain * e * w, n, axis=-1)
    return out.astype(estimate.dtype, copy=False)


def put_back_weights(
    freqs: np.ndarray, cutoff: float, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`put_back` weighs the network's part by at each of ``freqs`` (Hz): ``w``, the raised
    cosine from 0 (the input's) to 1 (the network's) over :data:`PUT_BACK_BAND` x ``cutoff``, and the
    ``strength`` it is scaled by, reached over :data:`STRENGTH_RAMP` x ``cutoff``; float32 arrays."""
    lo, hi = PUT_BACK_BAND[0] * cutoff, PUT_BACK_BAND[1] * cutoff
    w = 0.5 - 0.5 * np.cos(np.pi * np.clip((freqs - lo) / (hi - lo), 0.0, 1.0))
    a, b = STRENGTH_RAMP
    u = freqs / cutoff
    ramp = np.clip((u - a) / (b - a), 0.0, 1.0) if b > a else (u >= a).astype(np.float32)
    return w.astype(np.float32), (1.0 - (1.0 - strength) * ramp).astype(np.float32)


# ------------------------------------------------------------------------------ measurement


# Where a signal's real content ends (the input's bandwidth, whatever its container's rate).
# Each frame of SPECTRUM_FRAME samples (Hann, hop half a frame, channels' powers summed) is
# summed into bands of CUTOFF_BAND_HZ. Per band, the CUTOFF_PERCENTILE-th percentile over the
# frames that hold sound (within 50 dB of the loudest) is the stretch's spectrum: content that
# a tenth of the frames carry counts (a voice's fricatives), a rare transient does not (a codec
# lets a few frames through above its cliff). The content ends at the top of the highest band
# within CUTOFF_RANGE_DB of the loudest, moved down past a cliff's slope (bands more than
# CLIFF_DB below the median of the CLIFF_HZ under them are an encoder's transition band:
# attenuated content, not content). A codec's cliff, a resampler's transition band, a low-pass
# filter or an empty top fall below the range (lossy codecs leave the top 80-100 dB down; soxr's
# stop band is deeper), while natural spectra and white or pink noise stay within it up to where
# they really end. 70 dB puts the cliff of real 44.1 kHz speech (tuxpaint's French voice) at
# 20 kHz; at 80 dB codec noise above the cliff starts to count, at 60 dB the quiet top octave
# of speech is missed (17.9 kHz). Measured on those files, on noise through ffmpeg's MP3, Vorbis,
# Opus and AAC encoders, and on resampled and brick-wall filtered noise (tests/test_bandwidth.py).
SPECTRUM_FRAME = 4096
CUTOFF_BAND_HZ = 100.0
CUTOFF_PERCENTILE = 90.0
CUTOFF_RANGE_DB = 70.0
CLIFF_DB = 20.0
CLIFF_HZ = 1000.0
ACTIVE_DB = 50.0  # frames this far below the loudest of their stretch are pauses, not sound
STRETCH_SECONDS = 30.0


def band_frames(audio: np.ndarray, sr: float, frame: int = SPECTRUM_FRAME) -> np.ndarray:
    """``[frames, bands]``: the power of each Hann frame of ``audio`` (``[time]`` or ``[channels,
    time]``, channels' powers summed) in bands of :data:`CUTOFF_BAND_HZ`. A signal shorter than a
    frame is one zero-padded frame; none gives zero rows."""

    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    freqs = np.fft.rfftfreq(frame, 1 / sr)
    edges = _band_edges(sr)
    which = np.minimum(np.digitize(freqs, edges) - 1, len(edges) - 2)
    if x.shape[1] == 0:
        return np.zeros((0, len(edges) - 1))
    hop, window = frame // 2, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)  # periodic Hann
    rows = []
    for start in range(0, max(x.shape[1] - frame, 0) + 1, hop):
        chunk = x[:, start : start + frame]
        if chunk.shape[1] < frame:
            chunk = np.pad(chunk, ((0, 0), (0, frame - chunk.shape[1])))
        chunk = chunk - chunk.mean(axis=1, keepdims=True)  # a frame's offset is no content
        power = (np.abs(np.fft.rfft(chunk * window, axis=1)) ** 2).sum(axis=0)
        rows.append(np.bincount(which, weights=power, minlength=len(edges) - 1))
    return np.array(rows)


def _band_edges(sr: float) -> np.ndarray:
    return np.arange(0.0, sr / 2 + CUTOFF_BAND_HZ, CUTOFF_BAND_HZ)


def cutoff_from_frames(bands: np.ndarray, sr: float, range_db: float = CUTOFF_RANGE_DB) -> float:
    """Where the content of one stretch's :func:`band_frames` ends (Hz; see the comment above
    :data:`SPECTRUM_FRAME`): 0.0 for silence, ``sr / 2`` when it reaches the top band."""
    bands = np.asarray(bands, dtype=np.float64)
    if bands.size == 0:
        return 0.0
    loud = bands.sum(axis=1)
    active = bands[loud >= loud.max() * 10 ** (-ACTIVE_DB / 10)] if loud.max() > 0 else bands
    levels = np.percentile(active, CUTOFF_PERCENTILE, axis=0)
    levels[0] = 0.0  # the band holding DC: an offset is no content
    if levels.max() <= 1e-20:  # nothing but rounding (silence, a constant)
        return 0.0
    db = 10 * np.log10(levels + 1e-300)
    top = int(np.nonzero(db >= db.max() - range_db)[0][-1])
    below = max(1, round(CLIFF_HZ / CUTOFF_BAND_HZ))
    while top > below and db[top] < np.median(db[top - below : top]) - CLIFF_DB:
        top -= 1
    return float(min(_band_edges(sr)[top + 1], sr / 2))


def cutoff(audio: np.ndarray, sr: float, stretch_seconds: float = STRETCH_SECONDS) -> float:
    """Where ``audio``'s real content ends, in Hz: the highest of its stretches' (see the comment
    above :data:`SPECTRUM_FRAME`). ``audio`` is ``[time]`` or ``[channels, time]`` at ``sr``; a file
    resampled up from 8 kHz gives about 3900, an MP3 with a 16 kHz cliff about 16000, silence 0.0,
    white noise ``sr / 2``. :func:`file_cutoff` measures a file in bounded memory."""
    x = np.atleast_2d(np.asarray(audio))
    step = max(SPECTRUM_FRAME, int(stretch_seconds * sr))
    return max(
        cutoff_from_frames(band_frames(x[:, i : i + step], sr), sr)
        for i in range(0, max(x.shape[1], 1), step)
    )


@dataclass
class Bandwidth:
    """What :func:`file_cutoff` measured: where the content ends over the file and in each stretch."""

    sr: int
    channels: int
    seconds: float
    cutoff: float  # Hz: the highest stretch's
    stretches: list[tuple[float, float, float]]  # (start s, end s, cutoff Hz)

    def varies(self, tolerance_hz: float = 1000.0) -> bool:
        """Whether some stretch's content ends far below the file's (a file spliced from sources)."""
        return any(self.cutoff - c > tolerance_hz for _, _, c in self.stretches)


def file_cutoff(path: str | os.PathLike, stretch_seconds: float = STRETCH_SECONDS) -> Bandwidth:
    """:func:`cutoff` of a file, over stretches of ``stretch_seconds``, read in blocks (memory bounded
    by one stretch's band powers, whatever the file's length and channel count)."""
    path = _check_file(path)
    hop = SPECTRUM_FRAME // 2
    stretches: list[tuple[float, float, float]] = []
    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            sr, channels = f.samplerate, f.channels
            block = hop * max(2, (1 << 20) // (hop * channels))  # frames per read: about 4 MB of samples
            per_stretch = max(SPECTRUM_FRAME, int(stretch_seconds * sr))
            carry = np.zeros((channels, 0), np.float32)  # the samples the next frame still needs
            rows: list[np.ndarray] = []
            done = start = 0
            while True:
                x = f.read(min(block, start + per_stretch - done), dtype="float32", always_2d=True).T
                done += x.shape[1]
                data = np.concatenate([carry, x], axis=1)
                carry = data
                if data.shape[1] >= SPECTRUM_FRAME:
                    frames = band_frames(data, sr)
                    rows.append(frames)
                    carry = data[:, len(frames) * hop :]
                if not x.shape[1] or done - start >= per_stretch:
                    if not x.shape[1] and carry.shape[1] and not rows and not stretches:  # under a frame long
                        rows.append(band_frames(carry, sr))
                    if rows:
                        stretches.append(
                            (start / sr, done / sr, cutoff_from_frames(np.concatenate(rows), sr))
                        )
                    rows, start = [], done
                if not x.shape[1]:
                    break
    except (sf.LibsndfileError, RuntimeError) as e:
        raise decode_error(path, e) from None
    if not stretches or done == 0:
        raise WavesrError(f"{path}: contains no samples")
    return Bandwidth(int(sr), int(channels), done / sr, max(c for _, _, c in stretches), stretches)


def bandwidth(
    audio: np.ndarray, sr: int, margin_db: float = 15.0, range_db: float = 70.0, band_hz: float = 250.0
) -> float:
    """Estimate the highest frequency (Hz) that carries signal above the noise floor.

    The default corpora's drop rule (narrowband files) as they were built; :func:`cutoff` is the
    measurement of an input's real bandwidth, finer and robust to sloping spectra.

    Method: the long-term power spectrum (Welch, 2048-point Hann) is averaged into bands of
    ``band_hz``, in dB. The floor is the 5th percentile of the band levels; the bandwidth is the
    upper edge of the highest band that is both more than ``margin_db`` above the floor and
    within ``range_db`` of the loudest band. A lossy codec's cliff, a low-pass filter, or a flat
    noise floor that drowns the top of the spectrum all show as a bandwidth below ``sr / 2``;
    a spectrum with no floor at all (white noise) has the full bandwidth ``sr / 2``.
    Returns 0.0 for silence or fewer than 64 samples.

    Parameters
    ----------
    audio : ``[time]`` or ``[channels, time]`` (channels are averaged).
    """
    import scipy.signal  # imported where used: scipy.signal takes a second to import

    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.size < 64 or not np.any(x):
        return 0.0
    freqs, psd = scipy.signal.welch(x, fs=sr, nperseg=min(2048, x.size), window="hann")
    edges = np.arange(0.0, sr / 2 + band_hz, band_hz)
    idx = np.digitize(freqs, edges) - 1
    levels = np.array([psd[idx == i].mean() if np.any(idx == i) else 0.0 for i in range(len(edges) - 1)])
    db = 10 * np.log10(levels + 1e-30)
    floor, peak = np.percentile(db, 5), db.max()
    if peak - floor < margin_db:
        return float(sr / 2)
    above = np.nonzero((db > floor + margin_db) & (db > peak - range_db))[0]
    return float(min(edges[above[-1] + 1], sr / 2))
