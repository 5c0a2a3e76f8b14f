"""torch eager, TorchScript and ONNX Runtime on the shipped networks: speed and the difference from eager.

For each shipped network, 10 s of noise at its input rate (batch 1) is run by torch eager, by a
TorchScript trace (``torch.jit.trace``) and by ONNX Runtime (the part ``wavesr.runtime`` exports:
FastNet whole, BandNet's core with its STFT and synthesis in torch), on 1 and 2 threads. Printed:
x real time of each (the best of ``--repeats``), its ratio to eager in the same run, and the
largest difference from eager's output. ``wavesr.load_model`` runs the fastest that reproduces
eager within ``wavesr.runtime.TOLERANCE``.

    python benchmarks/runtimes.py
    python benchmarks/runtimes.py --models speech-x4,speech-48k --repeats 5
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from wavesr import pretrained
from wavesr.models.base import load_model_file
from wavesr.runtime import accelerate


def best_time(fn, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    with torch.inference_mode():
        y = fn(x)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            y = fn(x)
            times.append(time.perf_counter() - start)
    return min(times), y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="comma-separated shipped models (default: all)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    shipped = pretrained.available_models()
    if args.models:
        shipped = [m for m in shipped if m.name in args.models.split(",")]
    print(
        "| model | threads | eager x real time | TorchScript (vs eager) | ONNX Runtime (vs eager) "
        "| max diff TS / ORT |"
    )
    print("|---|---|---|---|---|---|")
    for info in shipped:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            eager = load_model_file(info.path).eval()
            n = int(args.seconds * eager.sr_lowres)
            x = 0.1 * torch.randn(1, 1, n, generator=torch.Generator().manual_seed(0))
            t_eager, y_eager = best_time(eager, x, args.repeats)
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(eager, x, check_trace=False)
            t_ts, y_ts = best_time(traced, x, args.repeats)
            fast = load_model_file(info.path).eval()
            runner = accelerate(fast, threads=threads)
            t_ort, y_ort = best_time(fast, x, args.repeats)
            speed = [args.seconds / t for t in (t_eager, t_ts, t_ort)]
            diff_ts = float((y_ts - y_eager).abs().max())
            diff_ort = float((y_ort - y_eager).abs().max())
            label = "" if runner == "onnxruntime" else " (torch: not exported)"
            print(
                f"| {info.name} | {threads} | {speed[0]:.0f} | {speed[1]:.0f} ({speed[1] / speed[0]:.2f}) | "
                f"{speed[2]:.0f} ({speed[2] / speed[0]:.2f}){label} | "
                f"{diff_ts:.1e} / {diff_ort:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
