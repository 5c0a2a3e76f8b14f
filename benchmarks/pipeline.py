"""What the shipped models' default upsampling path costs: input conditioning and the self-ensemble.

For each shipped speech model, the real-time factor (seconds of audio per second of compute, one
thread, ``wavesr.inference.upsample_array`` in 10 s chunks) of

- ``bare``: the network alone (the input declared to come from its training channel, one pass),
- ``conditioned``: real input, put through the training channel and crossed over (the default),
- ``default``: what ``wavesr upsample`` does with the model (conditioned, the registry's passes),

reported as ratios to ``bare`` measured in the same run, and the peak resident memory of a
``wavesr upsample`` process on one thread (``wait4``) for a ``--memory-seconds`` file at the model's
low rate through the default path.

    python benchmarks/pipeline.py --seconds 300 --memory-seconds 3600 --out runs/bench_pipeline.json
    python benchmarks/pipeline.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import wavesr
from wavesr import audio
from wavesr.inference import upsample_array

sys.path.insert(0, str(Path(__file__).parent))
from load_test import make_long, run  # noqa: E402  (this folder)
from speed import speech_like  # noqa: E402


def rtf(model: torch.nn.Module, lr: np.ndarray, sr: float, **options) -> float:
    upsample_array(model, lr[: int(sr)], sr, **options)  # warm-up
    start = time.perf_counter()
    upsample_array(model, lr, sr, chunk_seconds=10.0, limiter=False, **options)
    return lr.size / sr / (time.perf_counter() - start)


def peak_rss(name: str, seconds: float, sr: float, folder: Path) -> float:
    source = folder / f"long-{name}.wav"
    make_long(source, seconds, int(sr))
    result = run(
        [
            str(Path(sys.executable).with_name("wavesr")),
            "upsample",
            str(source),
            "-o",
            str(folder / "out.wav"),
            "--model",
            name,
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
    ap.add_argument("--models", nargs="+", default=["speech-x2", "speech-x4"])
    ap.add_argument("--seconds", type=float, default=300.0, help="audio timed per path")
    ap.add_argument("--memory-seconds", type=float, default=3600.0, help="file length for the peak memory")
    ap.add_argument("--quick", action="store_true", help="30 s of audio, a 60 s file")
    ap.add_argument("--out", help="write the results as JSON")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.memory_seconds = 30.0, 60.0
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="wavesr-pipeline-") as tmp:
        for name in args.models:
            model = wavesr.load_model(name)
            sr = model.sr_lowres
            lr = audio.resample(speech_like(args.seconds, model.sr), model.sr, sr)
            row = {
                "model": name,
                "passes": model.passes,
                "seconds": args.seconds,
                "bare": rtf(model, lr, sr, passes=1, input_channel=model.channel),
                "conditioned": rtf(model, lr, sr, passes=1),
                "default": rtf(model, lr, sr),
                "memory_file_seconds": args.memory_seconds,
                "peak_rss_mb": peak_rss(name, args.memory_seconds, sr, Path(tmp)),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        "\n| model | passes | bare x real time | conditioned (vs bare) | default (vs bare) | upsample peak "
        "RSS (MB) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['passes']} | {r['bare']:.1f} | {r['conditioned']:.1f} "
            f"({r['conditioned'] / r['bare']:.2f}x) "
            f"| {r['default']:.1f} ({r['default'] / r['bare']:.2f}x) | {r['peak_rss_mb']:.0f} "
            f"({r['memory_file_seconds']:g} s file) |"
        )
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {"date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "rows": rows}, indent=2
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
