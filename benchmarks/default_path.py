"""The speed a user gets: the whole ``wavesr upsample`` process of every shipped model, and its network.

For each shipped model, a speech-like file of ``--seconds`` (20 minutes in the full run) at the
model's natural input rate (a full-band model: 16 kHz and 8 kHz inputs, to 48 kHz; a paper model:
its low rate, to 16 kHz) is upsampled by ``wavesr upsample`` as a user runs it (default flags,
``--model NAME`` so that each model is timed; a full-band model runs as the no-flag default path
does). Reported per row: x real time of the whole process (seconds of input audio per second of
wall time, start-up, bandwidth measurement, resampling and writing included), its peak resident
memory, and the bare network's x real time on the same audio (``model(x)`` on 10 s chunks at its
own rate, the process's threads, with the runner the model loads with: ONNX Runtime on a CPU). A
model with a self-ensemble is also timed with ``--passes 1``, one that lifts the input's transition
band with ``--no-equalize``. The baseline in the same run is the
full-band path's floor: a 48 kHz file with nothing missing, which ``wavesr upsample`` copies
through (measure, read, write, no network); every row is also given as a ratio to it, since
machines drift.

    python benchmarks/default_path.py --seconds 1200 --out runs/bench_default_path.json
    python benchmarks/default_path.py --seconds 60                                     (a minute)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from wavesr import pretrained

sys.path.insert(0, str(Path(__file__).parent))
from load_test import make_long, run  # noqa: E402  (this folder)


def bare_rtf(model: torch.nn.Module, rate: float, seconds: float, threads: int) -> float:
    """The network alone on ``seconds`` of noise at its input rate, in 10 s chunks."""
    torch.set_num_threads(threads)
    n = int(10 * rate)
    x = torch.randn(1, 1, n) * 0.1
    with torch.inference_mode():
        model(x[..., : n // 10])  # warm-up
        chunks = max(1, round(seconds / 10))
        start = time.perf_counter()
        for _ in range(chunks):
            model(x)
    return chunks * 10 / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1200.0, help="length of each input file")
    ap.add_argument("--bare-seconds", type=float, default=60.0, help="audio the bare network is timed on")
    ap.add_argument("--threads", type=int, default=2, help="threads of the bare network (as upsample uses)")
    ap.add_argument("--models", help="comma-separated shipped models (default: all)")
    ap.add_argument("--out", help="write the rows as JSON")
    args = ap.parse_args()
    shipped = pretrained.available_models()
    if args.models:
        shipped = [m for m in shipped if m.name in args.models.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="wavesr-default-path-"))
    wavesr = str(Path(sys.executable).with_name("wavesr"))
    inputs: dict[float, Path] = {}

    def source(rate: float) -> Path:
        if rate not in inputs:
            inputs[rate] = tmp / f"in-{rate:g}.wav"
            make_long(inputs[rate], args.seconds, int(rate))
        return inputs[rate]

    def timed(model: str, rate: float, *flags: str) -> dict:
        out = ["-o", str(tmp / "out.wav"), "--model", model, "--force", "-q", *flags]
        result = run([wavesr, "upsample", str(source(rate)), *out])
        if result["returncode"] != 0:
            raise RuntimeError(f"wavesr upsample --model {model} failed: {result['tail']}")
        return {
            "x_real_time": args.seconds / result["seconds"],
            "peak_rss_mb": result["peak_rss_mb"],
            "wall_s": result["seconds"],
        }

    rows = []
    full = [m for m in shipped if m.ratio == 1]
    if full:
        floor = timed(full[0].name, 48000)
        rows.append({"model": "copy-through (48 kHz full band in)", "input_hz": 48000, **floor, "bare": None})
    for info in shipped:
        model = pretrained.load_model(info.name)
        rates = (16000, 8000) if info.ratio == 1 else (info.sr / info.ratio,)
        for rate in rates:
            row = {"model": info.name, "input_hz": rate, **timed(info.name, rate)}
            row["bare"] = bare_rtf(model, info.sr_lowres, args.bare_seconds, args.threads)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if info.passes > 1:  # its self-ensemble, and the same model without it
                row["model"] = f"{info.name} ({info.passes} passes)"
                single = {"model": f"{info.name} (--passes 1)", "input_hz": rate, "bare": row["bare"]}
                rows.append({**single, **timed(info.name, rate, "--passes", "1")})
                print(json.dumps(rows[-1]), flush=True)
            if info.equalize:  # what the lift of the input's transition band costs
                plain = {"model": f"{info.name} (--no-equalize)", "input_hz": rate, "bare": row["bare"]}
                rows.append({**plain, **timed(info.name, rate, "--no-equalize")})
                print(json.dumps(rows[-1]), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0]["x_real_time"] if full else None
    print(f"\n{args.seconds:g} s files; bare network on {args.threads} threads\n")
    print(
        "| model | input | whole process x real time | vs copy-through | peak RSS (MB) "
        "| bare network x real time |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        vs = f"{r['x_real_time'] / base:.2f}" if base else "-"
        bare = f"{r['bare']:.0f}" if r["bare"] else "-"
        print(
            f"| {r['model']} | {r['input_hz'] / 1000:g} kHz | {r['x_real_time']:.0f} | {vs} | "
            f"{r['peak_rss_mb']:.0f} | {bare} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps({"seconds": args.seconds, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
