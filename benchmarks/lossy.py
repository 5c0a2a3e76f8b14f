"""Real lossy files: is the band above an MP3's cliff restored, and the band below it kept?

Held-out files of the full-band corpora (test split, 44.1 kHz) are encoded by ffmpeg's libmp3lame
at ``--kbps`` (128 kbps: a cliff near 16-17 kHz) and decoded, as a user's MP3 would be; each is
then upsampled by the shipped full-band model as ``wavesr upsample`` runs it (bandwidth measured,
the input's band kept, 44.1 kHz out). Per corpus, means over files:

- the cliff ``wavesr.audio.cutoff`` measured on the MP3;
- LSD-HF (clamped standard LSD above the cliff) of the MP3 itself and of wavesr's output, both
  against the original before encoding: lower is a restored band;
- SNR of wavesr's output against the MP3 below 0.85 x the cliff (both low-passed there): the
  input's own band kept (the target is 30 dB or more);
- SNR of the MP3 and of wavesr's output against the original (whole band).

    python benchmarks/lossy.py --kbps 128 --files 40
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from wavesr import audio, metrics, pretrained
from wavesr.data.corpus import evenly_spaced
from wavesr.data.defaults import load_default
from wavesr.inference import upsample_array

SR = 44100
CORPORA = {"speech-fullband": "speech-48k", "music-fullband": "music-48k"}


def mp3(x: np.ndarray, kbps: int, folder: Path) -> np.ndarray:
    """``x`` at 44.1 kHz through ffmpeg's libmp3lame at ``kbps``, decoded, aligned to ``x``."""
    src, coded, back = folder / "in.wav", folder / "coded.mp3", folder / "out.wav"
    sf.write(src, x, SR, subtype="FLOAT")
    quiet = ["ffmpeg", "-y", "-loglevel", "error"]
    subprocess.run([*quiet, "-i", str(src), "-c:a", "libmp3lame", "-b:a", f"{kbps}k", str(coded)], check=True)
    subprocess.run([*quiet, "-i", str(coded), "-c:a", "pcm_f32le", str(back)], check=True)
    y, _ = sf.read(back, dtype="float32")
    lag = int(np.argmax(scipy.signal.correlate(y[: SR * 2], x[: SR * 2], mode="full", method="fft"))) - (
        min(len(x), SR * 2) - 1
    )
    y = y[lag:] if lag > 0 else np.concatenate([np.zeros(-lag, np.float32), y])
    return audio.fit_length(y, x.size)


def lowpassed(x: np.ndarray, hz: float) -> np.ndarray:
    return scipy.signal.sosfiltfilt(scipy.signal.butter(10, hz / (SR / 2), output="sos"), x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kbps", type=int, default=128)
    ap.add_argument("--files", type=int, default=40, help="files per corpus (evenly spaced over the split)")
    ap.add_argument("--seconds", type=float, default=20.0, help="at most this much of each file")
    args = ap.parse_args()
    print(
        "| corpus | files | cliff (kHz) | LSD-HF MP3 | LSD-HF wavesr | band below kept: SNR (dB) | "
        "SNR MP3 | SNR wavesr |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, name in CORPORA.items():
            model = pretrained.load_model(name)
            rows = []
            for item in evenly_spaced(load_default(corpus).split("test"), args.files):
                x, _ = audio.load(item.path, sr=SR, mono=True)
                x = x[: int(args.seconds * SR)]
                if x.size < SR // 2:
                    continue
                coded = mp3(x, args.kbps, Path(tmp))
                cliff = audio.cutoff(coded, SR)
                y, _, _ = upsample_array(model, coded, SR)
                y = audio.fit_length(y[0], x.size)
                band = (cliff, SR / 2)
                rows.append(
                    (
                        cliff,
                        metrics.lsd(x, coded, "clamped", sr=SR, band=band),
                        metrics.lsd(x, y, "clamped", sr=SR, band=band),
                        float(metrics.snr(lowpassed(coded, 0.85 * cliff), lowpassed(y, 0.85 * cliff))),
                        float(metrics.snr(x, coded)),
                        float(metrics.snr(x, y)),
                    )
                )
            m = np.mean(np.array(rows), axis=0)
            print(
                f"| {corpus} | {len(rows)} | {m[0] / 1000:.1f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.1f} | "
                f"{m[4]:.2f} | {m[5]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
