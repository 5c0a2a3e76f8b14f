"""Choose a full-band model's strength on validation data: the generated band scaled by S.

For each strength, the model runs as ``wavesr upsample --strength S`` runs it on the validation
split through the full-band protocol's channel (``wavesr.fullband.make_input``: soxr to 8, 12, 16
and 24 kHz, back to 48 kHz; files whose content reaches ``--min-band`` of 24 kHz), beside sinc.
Printed: mean LSD (clamped standard), LSD-HF and SNR over files and input rates, and the choice:

    the highest mean SNR among the strengths whose mean LSD is at most ``--lsd-target`` (0.5) x
    sinc's (the LSD target of the full-band models, then as close to the SNR target, sinc's SNR,
    as that allows); if none is, the lowest LSD.

    python benchmarks/strength.py runs/fb-speech-tune/model.pt --corpus speech-fullband
"""

from __future__ import annotations

import argparse

import numpy as np

from wavesr import audio, fullband
from wavesr.data.corpus import evenly_spaced
from wavesr.data.defaults import load_default
from wavesr.inference import upsample_array
from wavesr.pretrained import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a checkpoint, run folder or shipped name")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--strengths", default="1,0.7,0.5,0.35")
    ap.add_argument("--sr", type=int, default=48000)
    ap.add_argument("--max-files", type=int, default=60)
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--min-band", type=float, default=0.75)
    ap.add_argument("--lsd-target", type=float, default=0.5, help="the most LSD a choice may have, x sinc's")
    args = ap.parse_args()
    model = load_model(args.model)
    strengths = [float(s) for s in args.strengths.split(",")]
    rates = fullband.RATES[args.sr]
    rows: dict[str, list[dict[str, float]]] = {"sinc": [], **{f"{s:g}": [] for s in strengths}}
    files = 0
    for item in evenly_spaced(load_default(args.corpus).split(args.split), args.max_files):
        hr, _ = audio.load(item.path, sr=args.sr, mono=True)
        hr = hr[: int(args.max_seconds * args.sr)]
        if audio.cutoff(hr, args.sr) < args.min_band * args.sr / 2:
            continue
        files += 1
        for rate in rates:
            lowres = fullband.make_input(hr, args.sr, rate, fullband.CHANNEL)
            sinc = fullband.run_method("sinc", lowres, rate, args.sr, hr.size)
            rows["sinc"].append(fullband.scores(hr, sinc, args.sr, rate))
            for s in strengths:
                y, _, _ = upsample_array(model, lowres, rate, target_sr=args.sr, strength=s, limiter=False)
                rows[f"{s:g}"].append(fullband.scores(hr, audio.fit_length(y[0], hr.size), args.sr, rate))
    means = {
        k: {m: float(np.mean([r[m] for r in v])) for m in ("lsd", "lsd_hf", "snr")} for k, v in rows.items()
    }
    khz = ", ".join(f"{r / 1000:g}" for r in rates)
    print(f"{files} files of {args.corpus} ({args.split}), input rates {khz} kHz")
    print("| strength | LSD | LSD-HF | SNR (dB) |\n|---|---|---|---|")
    for k, m in means.items():
        print(f"| {k} | {m['lsd']:.3f} | {m['lsd_hf']:.3f} | {m['snr']:.2f} |")
    ceiling = args.lsd_target * means["sinc"]["lsd"]
    fits = [k for k in means if k != "sinc" and means[k]["lsd"] <= ceiling]
    if fits:
        choice, why = max(fits, key=lambda k: means[k]["snr"]), f"LSD at most {args.lsd_target:g} x sinc's"
    else:
        choice, why = min((k for k in means if k != "sinc"), key=lambda k: means[k]["lsd"]), "none that low"
    print(f"choice: strength {choice} ({why})")


if __name__ == "__main__":
    main()
