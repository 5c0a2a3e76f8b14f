"""Load test of ``wavesr upsample``: a batch of many short files and long files, in bounded memory.

Two runs of the real CLI in a fresh process each, with the cubic-spline model (``spline``, x4 to
16 kHz; the network is not what is measured here, the pipeline around it is):

1. **batch**: one folder of ``--files`` short files (0.2-3 s, rates 4-48 kHz, 1-8 channels,
   PCM_16 / PCM_24 / FLOAT, WAV and FLAC) plus one long file (``--batch-long-minutes``), in one
   command. Every output must exist, be complete (exactly ``round(frames * 16000 / sr)``
   frames), keep the channel count, and no temporary file may remain.
2. **long**: one ``--hours`` file at 4 kHz PCM_16 (2 hours = 57.6 MB in, 230 MB out).

For each run: wall time, peak resident memory of the process (``wait4``'s ``ru_maxrss``) and the
peak of a bare ``wavesr models`` process (imports torch) for comparison. Streaming keeps the
peak bounded by one chunk plus one overlap, so the long file should cost about what a short one
costs.

Usage::

    python benchmarks/load_test.py                      # 1,000 files + 2 h file (~3 minutes on 2 cores)
    python benchmarks/load_test.py --files 100 --hours 0.2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATES = [4000, 8000, 11025, 16000, 22050, 44100, 48000, 7999]
SUBTYPES = [("wav", "PCM_16"), ("wav", "PCM_24"), ("wav", "FLOAT"), ("flac", "PCM_16")]


# A child's ru_maxrss counts the pages it shares with its parent until it execs, so a large parent
# (a benchmark holding torch models) would inflate it: a bare interpreter (python -S, ~10 MB) in
# between starts the command and reports the command's own peak on its last line.
MEASURE = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, status, usage = os.wait4(p.pid, 0); "
    "print('peak', os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
)


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``; its wall time, peak RSS (MB), exit status and the tail of its output."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-S", "-c", MEASURE, *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    out, _, last = proc.stdout.decode(errors="replace").rstrip("\n").rpartition("\n")
    _, returncode, maxrss = last.split()
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(int(maxrss) / 1024, 1),
        "returncode": int(returncode),
        "tail": out[-800:],
    }


def make_long(path: Path, seconds: float, sr: int = 4000) -> int:
    """A speech-like PCM_16 file written block by block (bounded memory); returns its frames."""
    rng = np.random.default_rng(1)
    n = int(seconds * sr)
    with sf.SoundFile(str(path), "w", sr, 1, "PCM_16") as f:
        for start in range(0, n, 1 << 20):
            t = np.arange(start, min(n, start + (1 << 20))) / sr
            x = (
                0.2
                * np.sin(2 * np.pi * (150 + 50 * np.sin(2 * np.pi * 0.3 * t)) * t)
                * (0.6 + 0.4 * np.sin(t))
            )
            f.write((x + 0.02 * rng.standard_normal(t.size)).astype(np.float32))
    return n


def make_batch(folder: Path, n_files: int, long_minutes: float) -> dict[str, tuple[int, int, int]]:
    """The short files and one long file; ``{relative name: (frames, rate, channels)}``."""
    rng = np.random.default_rng(0)
    files = {}
    for i in range(n_files):
        sr, channels = int(rng.choice(RATES)), int(rng.integers(1, 9))
        ext, subtype = SUBTYPES[i % len(SUBTYPES)]
        frames = int(rng.uniform(0.2, 3.0) * sr)
        x = (0.2 * rng.standard_normal((frames, channels))).astype(np.float32)
        name = f"d{i % 10}/f{i:04d}.{ext}"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / name, x, sr, subtype=subtype)
        files[name] = (frames, sr, channels)
    files["long.wav"] = (make_long(folder / "long.wav", long_minutes * 60), 4000, 1)
    return files


def check_outputs(out: Path, files: dict[str, tuple[int, int, int]]) -> list[str]:
    """Problems with the outputs (an empty list when every output is complete)."""
    problems = []
    for name, (frames, sr, channels) in files.items():
        path = out / Path(name).with_name(f"{Path(name).stem}.sr.wav")
        if not path.is_file():
            problems.append(f"{name}: no output")
            continue
        info = sf.info(str(path))
        want = (round(frames * 16000 / sr), 16000, channels)
        if (info.frames, info.samplerate, info.channels) != want:
            problems.append(
                f"{name}: output {(info.frames, info.samplerate, info.channels)}, expected {want}"
            )
    leftovers = [p.name for p in out.rglob(".*.tmp*")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers[:5]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=1000, help="short files in the batch (default 1000)")
    p.add_argument(
        "--batch-long-minutes", type=float, default=10.0, help="the batch's long file (default 10 min)"
    )
    p.add_argument("--hours", type=float, default=2.0, help="the long run's file at 4 kHz (default 2 h)")
    p.add_argument("--work", help="working folder (default: a temporary one, removed at the end)")
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="wavesr-load-"))
    work.mkdir(parents=True, exist_ok=True)
    wavesr = [sys.executable, "-m", "wavesr.cli"]
    report: dict = {"machine": f"{os.cpu_count()} cores", "python": sys.version.split()[0]}
    try:
        from wavesr.models import build_model, save_model

        save_model(build_model("spline", ratio=4), work / "spline.pt", force=True)
        env_model = ["--model", str(work / "spline.pt"), "-q", "--device", "cpu"]
        report["bare_process"] = run(wavesr + ["models"])

        t = time.perf_counter()
        files = make_batch(work / "batch", args.files, args.batch_long_minutes)
        report["batch_made_s"] = round(time.perf_counter() - t, 1)
        cmd = wavesr + ["upsample", str(work / "batch"), "-o", str(work / "batch_out")] + env_model
        report["batch"] = {"command": " ".join(cmd[2:]), "inputs": len(files), **run(cmd)}
        report["batch"]["problems"] = check_outputs(work / "batch_out", files)
        shutil.rmtree(work / "batch_out", ignore_errors=True)

        t = time.perf_counter()
        frames = make_long(work / "long.wav", args.hours * 3600)
        report["long_made_s"] = round(time.perf_counter() - t, 1)
        cmd = wavesr + ["upsample", str(work / "long.wav"), "-o", str(work / "long.sr.wav")] + env_model
        report["long"] = {
            "command": " ".join(cmd[2:]),
            "hours": args.hours,
            "input_mb": round((work / "long.wav").stat().st_size / 1e6, 1),
            **run(cmd),
        }
        out = work / "long.sr.wav"
        problems = check_outputs(work, {"long.wav": (frames, 4000, 1)})
        if out.is_file():
            report["long"]["output_mb"] = round(out.stat().st_size / 1e6, 1)
            tail, _ = sf.read(str(out), start=sf.info(str(out)).frames - 16000, dtype="float32")
            if not np.any(tail):
                problems.append("the last second of the output is silent")
        report["long"]["problems"] = problems
        audio_s = args.hours * 3600
        report["long"]["x_real_time"] = round(audio_s / report["long"]["seconds"], 1)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1))
    ok = all(report[k]["returncode"] == 0 and not report[k]["problems"] for k in ("batch", "long"))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
