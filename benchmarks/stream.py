"""Live streaming (wavesr.live): latency, real-time factor and stream-vs-offline difference per shipped model.

For each model, ``--seconds`` of real speech (the held-out voices of the cached speech-fullband
corpus; music from music-fullband for music-48k; a synthetic voice when no corpus is cached) at
the model's input rate (8 kHz for the full-band models, as a phone call; the low rate of a paper
model) goes through :class:`wavesr.live.LiveStream` in blocks of 10 and 20 ms (the hop is the
block; the look-ahead fills the 40 ms budget), on one torch thread:

- latency: the algorithmic latency (block + look-ahead + resampler delays), ms (a causal model,
  which streams frame by frame, has no hop of its own: the block pushed, then its look-ahead);
- RTF: seconds of audio per second of computation (process() and flush() only);
- vs offline: SNR (dB) of the stream's output against ``upsample_array`` on the whole input (the
  offline path, ``band`` = the input's Nyquist frequency for the full-band models), and the LSD of
  both against the original (full-band speech at 48 kHz, or at 16 kHz for the paper models);
- exact: SNR against offline of ``LiveStream(exact=True)`` (soxr resampling, receptive field as
  context);
- with ``--memory-seconds``: peak RSS after the first minute and at the end of streaming that much
  audio (a voice, repeated) through ``--memory-model`` in blocks of ``--memory-block-ms``, and the samples the
  stream holds (its least and most over the run).

    python benchmarks/stream.py --seconds 20 --out runs/bench_stream.json
    python benchmarks/stream.py --seconds 0 --memory-seconds 3600 --memory-block-ms 20
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

from wavesr import audio, metrics, pretrained
from wavesr.inference import upsample_array
from wavesr.live import LiveStream

MODELS = (
    "speech-48k-live",
    "speech-48k",
    "music-48k-live",
    "music-48k",
    "speech-x2",
    "speech-x4",
    "speech-x4:4",
)


def corpus_audio(corpus: str, seconds: float, sr: int = 48000) -> np.ndarray:
    """``seconds`` of a cached corpus's files (sorted, concatenated) at ``sr``; a synthetic voice if none."""
    from wavesr.data.corpus import cache_dir

    root = cache_dir() / "corpora" / corpus / "audio"
    parts, total = [], 0
    for path in sorted(root.rglob("*"))[::7] if root.is_dir() else []:
        if path.suffix.lower() not in audio.AUDIO_EXTENSIONS:
            continue
        try:
            x, file_sr = audio.load(path, mono=True)
        except Exception:  # noqa: BLE001 - a file the benchmark cannot read is skipped
            continue
        x = audio.resample(x, file_sr, sr)
        parts.append(x)
        total += x.size
        if total >= seconds * sr:
            break
    if not parts:
        t = np.arange(int(seconds * sr)) / sr
        x = sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 60)) * (0.5 + 0.5 * np.sin(6 * t) ** 2)
        return (0.1 * x).astype(np.float32)
    x = np.concatenate(parts)[: int(seconds * sr)]
    return (0.3 * x / max(float(np.abs(x).max()), 1e-9)).astype(np.float32)


def push(stream: LiveStream, x: np.ndarray, block: int) -> tuple[np.ndarray, float]:
    """The stream's whole output for ``x`` in blocks of ``block`` samples, and the seconds it took."""
    start = time.perf_counter()
    parts = [stream.process(x[i : i + block]) for i in range(0, x.size, block)]
    parts.append(stream.flush())
    return np.concatenate(parts), time.perf_counter() - start


def one_model(entry: str, seconds: float) -> dict:
    """The row of ``entry``: a shipped model's name, or ``NAME:PASSES`` for another number of passes."""
    name, _, passes = entry.partition(":")
    model = pretrained.load_model(name)
    if passes:
        model.run_as(passes=int(passes))
    full_band = bool(getattr(model, "full_band", False))
    sr_in = 8000 if full_band else int(model.sr_lowres)
    reference = corpus_audio("music-fullband" if name.startswith("music") else "speech-fullband", seconds)
    ref_sr = 48000 if full_band else model.sr
    reference = audio.resample(reference, 48000, ref_sr) if ref_sr != 48000 else reference
    x = audio.resample(reference, ref_sr, sr_in)
    options = {"band": sr_in / 2} if full_band else {}
    offline, _, _ = upsample_array(model, x, sr_in, **options)
    offline = offline[0]
    row: dict = {"model": entry, "sr_in": sr_in, "seconds": x.size / sr_in, "passes": model.passes}

    def lsd(y: np.ndarray) -> float:
        return float(metrics.lsd(reference, audio.fit_length(y, reference.size)))

    row["offline_lsd"] = lsd(offline)
    for ms in (10, 20):
        stream = LiveStream(model, sr_in, block=ms / 1000, **options)
        y, took = push(stream, x, round(ms / 1000 * sr_in))
        row[f"latency_{ms}"] = 1000 * (stream.latency + (ms / 1000 if stream.frames is not None else 0.0))
        row[f"lookahead_{ms}"] = 1000 * stream.lookahead / stream.rate_lr
        row[f"rtf_{ms}"] = x.size / sr_in / took
        row[f"snr_{ms}"] = float(metrics.snr(offline, y))
        row[f"lsd_{ms}"] = lsd(y)
    stream = LiveStream(model, sr_in, exact=True, **options)
    y, _ = push(stream, x, round(0.01 * sr_in))
    row["exact_latency"] = 1000 * stream.latency
    row["exact_snr"] = float(metrics.snr(offline, y))
    row["exact_max_diff"] = float(np.abs(y - offline).max())
    return row


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(seconds: float, block_ms: float, name: str = "speech-48k") -> dict:
    """Stream ``seconds`` of a repeated 10 s voice through ``name`` at 8 kHz in blocks of ``block_ms``."""
    model = pretrained.load_model(name)
    sr, block = 8000, round(block_ms * 8)
    clip = audio.resample(corpus_audio("speech-fullband", 10.0), 48000, sr)
    stream = LiveStream(model, sr, block=block_ms / 1000)
    n, start, first, held = 0, time.perf_counter(), None, set()
    while n < seconds * sr:
        i = n % (clip.size - block)
        stream.process(clip[i : i + block])
        n += block
        held.add(stream.buffered())
        if first is None and n >= 60 * sr:
            first = rss_mb()
    stream.flush()
    return {
        "seconds": n / sr,
        "block_ms": block_ms,
        "rss_after_1_min_mb": first,
        "rss_end_mb": rss_mb(),
        "buffered_min": min(held),
        "buffered_max": max(held),
        "rtf": n / sr / (time.perf_counter() - start),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="names, or NAME:PASSES")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per model (0: skip)")
    parser.add_argument("--memory-seconds", type=float, default=0.0, help="stream this long (0: skip)")
    parser.add_argument("--memory-block-ms", type=float, default=10.0)
    parser.add_argument("--memory-model", default="speech-48k")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [one_model(name, args.seconds) for name in args.models] if args.seconds > 0 else []
    print(
        "| model | input | latency 10 / 20 ms blocks (ms) | RTF 10 ms | RTF 20 ms | SNR vs offline "
        "10 / 20 ms (dB) | LSD offline / 10 / 20 ms | exact: latency (ms), SNR vs offline (dB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['sr_in']} Hz | {r['latency_10']:.1f} / {r['latency_20']:.1f} | "
            f"{r['rtf_10']:.1f}x | {r['rtf_20']:.1f}x | {r['snr_10']:.1f} / {r['snr_20']:.1f} | "
            f"{r['offline_lsd']:.2f} / {r['lsd_10']:.2f} / {r['lsd_20']:.2f} | "
            f"{r['exact_latency']:.0f}, {r['exact_snr']:.1f} |"
        )
    result: dict = {"models": rows}
    if args.memory_seconds > 0:
        result["memory"] = memory(args.memory_seconds, args.memory_block_ms, args.memory_model)
        print(json.dumps(result["memory"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
