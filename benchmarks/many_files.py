"""Many small files in one ``wavesr upsample`` call: files per second, and peak memory.

``--files`` speech-like files of ``--seconds`` each (1,000 of one second in the full run), at
8, 16, 22.05 and 44.1 kHz in turn, are upsampled by one ``wavesr upsample IN_DIR -o OUT_DIR`` as
a user runs it (no flags: per file, the content and the bandwidth are measured, the full-band
model extends what is missing, a 44.1 kHz file with nothing missing is copied through; the model is
loaded once). The baseline in the same run is the process that does everything but the network:
``--model`` of the same full-band model with every input already at 48 kHz and full band, which
``wavesr upsample`` copies through (read, measure, write). Both the rate and its ratio to the
baseline are printed, since machines drift.

    python benchmarks/many_files.py --files 1000 --out runs/bench_many_files.json
    python benchmarks/many_files.py --files 100                                    (a minute)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from load_test import run  # noqa: E402  (this folder)

RATES = (8000, 16000, 22050, 44100)


def make_files(folder: Path, count: int, seconds: float, rates: tuple[int, ...]) -> None:
    """``count`` files of a voiced, syllable-like tone plus a little noise (band-limited to each rate)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(count):
        sr = rates[i % len(rates)]
        t = np.arange(int(seconds * sr)) / sr
        voice = np.sin(2 * np.pi * (110 + i % 90) * t) * (1 + np.sin(2 * np.pi * 4 * t)) * 0.1
        sf.write(
            folder / f"f{i:05d}.wav", (voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32), sr
        )


def timed(wavesr: str, inputs: Path, out: Path, count: int, *flags: str) -> dict:
    result = run([wavesr, "upsample", str(inputs), "-o", str(out), "-q", *flags])
    if result["returncode"] != 0:
        raise RuntimeError(f"wavesr upsample failed: {result['tail']}")
    done = len(list(out.glob("*.wav")))
    if done != count:
        raise RuntimeError(f"{done} of {count} files written")
    return {
        "files_per_s": count / result["seconds"],
        "wall_s": result["seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=1.0, help="length of each file")
    ap.add_argument("--out", help="write the results as JSON")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wavesr-many-files-"))
    wavesr = str(Path(sys.executable).with_name("wavesr"))
    try:
        make_files(tmp / "mixed", args.files, args.seconds, RATES)
        make_files(tmp / "full", args.files, args.seconds, (48000,))
        base = timed(wavesr, tmp / "full", tmp / "out-full", args.files, "--model", "speech-48k")
        mixed = timed(wavesr, tmp / "mixed", tmp / "out-mixed", args.files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = {"copy-through (48 kHz full band in)": base, "default path (8-44.1 kHz in)": mixed}
    print(f"\n{args.files} files of {args.seconds:g} s in one wavesr upsample call\n")
    print("| run | files per second | vs copy-through | wall (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        ratio = r["files_per_s"] / base["files_per_s"]
        print(
            f"| {name} | {r['files_per_s']:.1f} | {ratio:.2f} | {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} |"
        )
    if args.out:
        Path(args.out).write_text(
            json.dumps({"files": args.files, "seconds": args.seconds, **rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
