"""Speed of every network, measured in one run and reported as ratios to the paper-size AudioUNet.

For each method: parameters, multiply-accumulates per second of 16 kHz output (torch's
FlopCounterMode, MAC = FLOP / 2), inference real-time factor (seconds of audio per second of
compute; eval, inference mode, 1 and 2 threads, on ``--seconds`` of audio in 10 s chunks through
``wavesr.inference.upsample_array``), training throughput (seconds of audio per second of
forward + backward + Adam step on batches of 16 x 8192 samples) and the peak resident memory of
a ``wavesr upsample`` process on one thread (``wait4``'s ``ru_maxrss``) on a ``--memory-seconds``
file (one hour in the full run). The AudioUNets are slow here, so they are timed on
``--slow-seconds`` of audio and their memory is measured on a file of that length: streaming
keeps the peak at one chunk plus its overlap, which any file longer than two chunks reaches.
Every speed figure is a rate, so the lengths do not change what is compared. Machines drift:
compare ratios within one run.

    python benchmarks/speed.py --seconds 600 --slow-seconds 30 --memory-seconds 3600 \
        --out runs/bench_speed.json
    python benchmarks/speed.py --quick                                                  (minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from wavesr import audio
from wavesr.inference import upsample_array
from wavesr.models.base import build_model, count_parameters, save_model
from wavesr.recipes import FAST_MEDIUM, FAST_MEDIUM_SINC

sys.path.insert(0, str(Path(__file__).parent))
from load_test import make_long, run  # noqa: E402  (this folder)

RATIO, SR = 4, 16000
NETWORKS = {  # label -> (name, config overrides, slow)
    "spline (cubic)": ("spline", {}, False),
    "dnn": ("dnn", {}, False),
    "audiounet paper (B=8)": ("audiounet", {}, True),
    "audiounet original (B=4)": ("audiounet", {"preset": "original"}, True),
    "fast (medium)": ("fast", FAST_MEDIUM, False),
    "fast (medium, sinc skip)": ("fast", FAST_MEDIUM_SINC, False),
    "fast (small)": ("fast", {"preset": "small"}, False),
}


def speech_like(seconds: float, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 * (1 + 0.2 * np.sin(2 * np.pi * 0.3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 50)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2)
    return (0.2 * x / np.abs(x).max() + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def macs_per_second(model: torch.nn.Module) -> float:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 1, SR // RATIO * 2))
    return counter.get_total_flops() / 2 / 2.0


def inference_rtf(model: torch.nn.Module, lr: np.ndarray, threads: int) -> float:
    torch.set_num_threads(threads)
    upsample_array(model, lr[: SR // RATIO], SR // RATIO)  # warm-up
    start = time.perf_counter()
    upsample_array(model, lr, SR // RATIO, chunk_seconds=10.0, limiter=False)
    return lr.size / (SR / RATIO) / (time.perf_counter() - start)


def bandlimited_rtf(lr: np.ndarray) -> float:
    start = time.perf_counter()
    audio.interpolate(lr, RATIO, "bandlimited")
    return lr.size / (SR / RATIO) / (time.perf_counter() - start)


def train_throughput(model: torch.nn.Module, steps: int, batch: int = 16, length: int = 8192) -> float:
    torch.set_num_threads(2)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    hr = torch.randn(batch, 1, length) * 0.1
    lr = hr[..., ::RATIO].contiguous()
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        loss = torch.mean((model(lr) - hr) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return batch * length / SR / float(np.median(times[1:]))


def upsample_peak_rss(model: torch.nn.Module, seconds: float, folder: Path) -> float:
    """Peak RSS (MB) of ``wavesr upsample`` on one thread: a ``seconds``-long 4 kHz file through ``model``."""
    source = folder / f"long-{seconds:g}.wav"
    if not source.exists():
        make_long(source, seconds, SR // RATIO)
    checkpoint = folder / "model.pt"
    save_model(model, checkpoint, force=True)
    result = run(
        [
            str(Path(sys.executable).with_name("wavesr")),
            "upsample",
            str(source),
            "-o",
            str(folder / "out.wav"),
            "--model",
            str(checkpoint),
            "--force",
            "-q",
        ],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if result["returncode"] != 0:
        raise RuntimeError(f"wavesr upsample failed: {result['tail']}")
    return result["peak_rss_mb"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0, help="audio length for the fast methods")
    ap.add_argument("--slow-seconds", type=float, default=20.0, help="audio length for AudioUNet")
    ap.add_argument("--train-steps", type=int, default=5)
    ap.add_argument("--memory-seconds", type=float, default=3600.0, help="file length for the peak memory")
    ap.add_argument("--quick", action="store_true", help="60 s / 8 s of audio, 2 training steps, a 60 s file")
    ap.add_argument("--out", help="write the results as JSON")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.slow_seconds, args.train_steps, args.memory_seconds = 60.0, 8.0, 2, 60.0
    hr = speech_like(args.seconds)
    lr_long = audio.degrade(hr, RATIO)
    lr_short = lr_long[: int(args.slow_seconds * SR / RATIO)]
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="wavesr-speed-"))
    for label, (name, overrides, slow) in NETWORKS.items():
        torch.manual_seed(0)
        model = build_model(name, ratio=RATIO, sr=SR, **overrides).eval()
        lr = lr_short if slow else lr_long
        row = {
            "method": label,
            "params": count_parameters(model),
            "mmac_per_s": macs_per_second(model) / 1e6,
            "rtf_1thread": inference_rtf(model, lr, 1),
            "rtf_2threads": inference_rtf(model, lr, 2),
            "timed_seconds": lr.size / (SR / RATIO),
        }
        row["train_audio_s_per_s"] = train_throughput(model, args.train_steps) if name != "spline" else None
        row["memory_file_seconds"] = args.slow_seconds if slow else args.memory_seconds
        row["upsample_peak_rss_mb"] = upsample_peak_rss(model.eval(), row["memory_file_seconds"], tmp)
        rows.append(row)
        print(json.dumps(row), flush=True)
    rows.append(
        {
            "method": "bandlimited (soxr)",
            "params": 0,
            "mmac_per_s": None,
            "rtf_1thread": bandlimited_rtf(lr_long),
            "rtf_2threads": None,
            "timed_seconds": args.seconds,
            "train_audio_s_per_s": None,
            "memory_file_seconds": None,
            "upsample_peak_rss_mb": None,
        }
    )
    shutil.rmtree(tmp, ignore_errors=True)
    ref = next(r for r in rows if r["method"] == "audiounet paper (B=8)")
    for r in rows:
        r["speed_vs_paper_unet"] = r["rtf_1thread"] / ref["rtf_1thread"]
        r["train_vs_paper_unet"] = (
            r["train_audio_s_per_s"] / ref["train_audio_s_per_s"] if r["train_audio_s_per_s"] else None
        )
    print(
        "\n| method | params | MMAC per s of audio | x real time (1 thread) | (2 threads) | vs paper "
        "AudioUNet "
        "| train s audio/s | vs paper AudioUNet | upsample peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for r in rows:
        print(
            f"| {r['method']} | {r['params']:,} | {fmt(r['mmac_per_s'], ',.0f')} | "
            f"{fmt(r['rtf_1thread'], '.1f')} "
            f"| {fmt(r['rtf_2threads'], '.1f')} | {r['speed_vs_paper_unet']:.0f}x | "
            f"{fmt(r['train_audio_s_per_s'], '.2f')} | {fmt(r['train_vs_paper_unet'], '.0f')}x | "
            f"{fmt(r['upsample_peak_rss_mb'], '.0f')}"
            + (f" ({r['memory_file_seconds']:g} s file)" if r["memory_file_seconds"] else "")
            + " |"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                {
                    "machine": platform.platform(),
                    "processor": platform.processor(),
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "date": time.strftime("%Y-%m-%d"),
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
