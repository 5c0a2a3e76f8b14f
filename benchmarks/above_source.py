"""How much a full-band model puts above where its test files' recordings end: the output's power
above 22.05 kHz (dB against the reference's total power), on the 44.1 kHz recordings of a corpus's
test split brought to 48 kHz (empty above 22.05 kHz), from inputs made by the protocol's channel;
medians over files.

    python benchmarks/above_source.py before=<old weights> now=music-48k --corpus music-fullband
"""

from __future__ import annotations

import argparse

import numpy as np

from wavesr import audio
from wavesr.data.corpus import evenly_spaced
from wavesr.data.defaults import load_default
from wavesr.fullband import CHANNEL, make_input
from wavesr.inference import upsample_array
from wavesr.pretrained import load_model

SR, EDGE = 48000, 22050


def above_edge_db(x: np.ndarray, reference: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    above = power[np.fft.rfftfreq(x.size, 1 / SR) > EDGE].sum()
    return float(10 * np.log10(above / (np.abs(np.fft.rfft(reference)) ** 2).sum() + 1e-30))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="NAME=PATH: checkpoints or shipped names")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--max-files", type=int, default=30)
    ap.add_argument("--rates", type=int, nargs="+", default=[16000, 24000])
    args = ap.parse_args()
    models = {spec.rpartition("=")[0] or spec: load_model(spec.rpartition("=")[2]) for spec in args.models}
    items = [i for i in load_default(args.corpus).split("test") if i.sr == 44100]
    rows: dict[str, dict[int, list[float]]] = {k: {r: [] for r in args.rates} for k in ("reference", *models)}
    for item in evenly_spaced(items, args.max_files):
        hr, _ = audio.load(item.path, sr=SR, mono=True)
        hr = hr[: 30 * SR]
        for rate in args.rates:
            low = make_input(hr, SR, rate, CHANNEL)
            rows["reference"][rate].append(above_edge_db(hr, hr))
            for name, model in models.items():
                y, _, _ = upsample_array(model, low, rate, target_sr=SR, limiter=False)
                rows[name][rate].append(above_edge_db(audio.fit_length(y[0], hr.size), hr))
    files = len(rows["reference"][args.rates[0]])
    print(
        f"| power above 22.05 kHz (dB re total), {files} files | "
        + " | ".join(f"{r / 1000:g} kHz" for r in args.rates)
        + " |"
    )
    print("|---|" + "---|" * len(args.rates))
    for name, by_rate in rows.items():
        print(f"| {name} | " + " | ".join(f"{np.median(v):.1f}" for v in by_rate.values()) + " |")


if __name__ == "__main__":
    main()
