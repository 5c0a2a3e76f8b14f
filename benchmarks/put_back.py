"""Where the input's own band ends and the generated one begins: put-back variants on validation data.

A full-band model's output keeps the input below its measured cutoff and the network's band above
it (``wavesr.audio.put_back``). This runs the network once per file and input rate (the protocol's
channel: soxr to 8, 12, 16 and 24 kHz and back to 48 kHz, validation files reaching 75 % of
24 kHz), then puts the input back with each variant at each strength, on the whole file, and prints
mean LSD and SNR over files (all rates, then per rate) beside sinc. A variant is a crossover
(``PUT_BACK_BAND``) and a strength ramp (``STRENGTH_RAMP``: from 1 to the strength over that band;
from the cutoff on when both ends are 1.0).

    python benchmarks/put_back.py speech-48k --corpus speech-fullband --max-files 30
    python benchmarks/put_back.py music-48k --corpus music-fullband --max-files 30
"""

from __future__ import annotations

import argparse

import numpy as np
import soxr
import torch

from wavesr import audio, pretrained
from wavesr.data.corpus import evenly_spaced
from wavesr.data.defaults import load_default
from wavesr.fullband import CHANNEL, RATES, make_input, run_method, scores

VARIANTS = {  # name: (PUT_BACK_BAND, STRENGTH_RAMP), x the cutoff
    "below (0.85-0.95), ramp": ((0.85, 0.95), (0.95, 1.05)),
    "at (1.0-1.05), ramp 1.0-1.1": ((1.0, 1.05), (1.0, 1.1)),
    "at, from the cutoff": ((1.0, 1.05), (1.0, 1.0)),
}
STRENGTHS = (0.35, 0.25, 0.2, 0.15, 0.0)
SR = 48000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a shipped full-band model, checkpoint or run folder")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--max-files", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = pretrained.load_model(args.model)
    rows: dict[tuple[str, int], list[dict[str, float]]] = {}
    for item in evenly_spaced(list(load_default(args.corpus).split(args.split)), args.max_files):
        hr, _ = audio.load(item.path, sr=SR, mono=True)
        hr = hr[: 30 * SR]
        if audio.cutoff(hr, SR) < 0.75 * SR / 2:
            continue
        for rate in RATES[SR]:
            low = make_input(hr, SR, rate, CHANNEL)
            sinc = run_method("sinc", low, rate, SR, hr.size)
            rows.setdefault(("sinc", rate), []).append(scores(hr, sinc, SR, rate))
            given = audio.fit_length(soxr.resample(low, rate, SR, quality="VHQ").astype(np.float32), hr.size)
            cutoff = audio.cutoff(low, rate)
            with torch.inference_mode():
                estimate = model(torch.from_numpy(given)[None, None])[0, 0].numpy()
            for name, (band, ramp) in VARIANTS.items():
                kept = audio.PUT_BACK_BAND, audio.STRENGTH_RAMP
                audio.PUT_BACK_BAND, audio.STRENGTH_RAMP = band, ramp
                try:
                    for s in STRENGTHS:
                        y = audio.put_back(given, estimate, SR, cutoff, s)
                        rows.setdefault((f"{name} @ {s:g}", rate), []).append(scores(hr, y, SR, rate))
                finally:
                    audio.PUT_BACK_BAND, audio.STRENGTH_RAMP = kept
    rates = RATES[SR]
    print(f"{args.model} on {args.corpus} {args.split}, {len(rows[('sinc', rates[0])])} files\n")
    print(
        "| variant @ strength | LSD | SNR (dB) | "
        + " | ".join(f"{r // 1000} kHz LSD / SNR" for r in rates)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(rates))
    for key in dict.fromkeys(k for k, _ in rows):
        per = [rows[(key, r)] for r in rates]
        every = [v for rate_rows in per for v in rate_rows]

        def mean(metric: str, values: list[dict[str, float]]) -> float:
            return float(np.mean([v[metric] for v in values]))

        cells = " | ".join(f"{mean('lsd', v):.3f} / {mean('snr', v):.2f}" for v in per)
        print(f"| {key} | {mean('lsd', every):.3f} | {mean('snr', every):.2f} | {cells} |")


if __name__ == "__main__":
    main()
