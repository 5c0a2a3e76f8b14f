"""The lift of the input's transition band (``wavesr.audio.transition_gain``) with other limits, on
many channels: LSD and SNR of a shipped full-band model's output against the first variant's.

Each variant is ``MAX_DB:END``: the most a bin is lifted (dB, ``audio.EQUALIZE_MAX_DB``) and where
the lift ends (x the measured cutoff, ``audio.EQUALIZE_END``); ``off`` runs without the lift. Each
channel cuts at 0.9 x the input's Nyquist frequency (so that its own transition band is the
input's), then soxr brings the signal to the input rate; ``resample:soxr-vhq`` is the protocol's
channel (soxr alone). The model runs as ``wavesr upsample`` runs it, at its shipped strength.

    python benchmarks/lift.py speech-48k --corpus speech-fullband --variants 20:1.0 60:1.0 60:1.02
    python benchmarks/lift.py music-48k --corpus music-fullband --max-files 22
"""

from __future__ import annotations

import argparse

import numpy as np
import soxr
import torch

from wavesr import audio, load_model
from wavesr.channels import parse
from wavesr.data.corpus import evenly_spaced
from wavesr.data.defaults import load_default
from wavesr.fullband import MIN_BAND, scores
from wavesr.inference import upsample_array

SR = 48000
CHANNELS = (
    "resample:soxr-vhq",
    "resample:polyphase",
    "resample:soxr-mq",
    "brickwall",
    "lowpass:butter:o8:minimum",
    "lowpass:cheby1:o10:r0.76:minimum",
    "lowpass:ellip:o8:r0.1:s80:minimum",
    "lowpass:bessel:o4:minimum",
    "lowpass:cheby2:o9:s76.9:zero",
    "lowpass:ellip:o8:r0.1:s80:zero",
    "codec:mp3:q0.6",
    "codec:vorbis:q0.45",
    "codec:opus:q0.62",
    "codec:aac:b64",
)


def low_rate(hr: np.ndarray, channel: str, rate: int) -> np.ndarray:
    """``hr`` (at :data:`SR`) through ``channel`` at 0.9 x ``rate / 2``, then soxr to ``rate``."""
    x = hr if channel == "resample:soxr-vhq" else parse(f"{channel}@{0.45 * rate:.0f}").apply(hr[None], SR)[0]
    return soxr.resample(x.astype(np.float64), SR, rate, quality="VHQ").astype(np.float32)


def run(model, low: np.ndarray, rate: int, n: int, variant: str) -> np.ndarray:
    if variant == "off":
        y, _, _ = upsample_array(model, low, rate, target_sr=SR, equalize=False, limiter=False)
    else:
        most, end = (float(v) for v in variant.split(":"))
        audio.EQUALIZE_MAX_DB, audio.EQUALIZE_END = most, end  # read by transition_gain at each call
        y, _, _ = upsample_array(model, low, rate, target_sr=SR, equalize=True, limiter=False)
    return audio.fit_length(y[0], n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a shipped full-band model")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-files", type=int, default=30, help="files spaced evenly over the split")
    ap.add_argument("--seconds", type=float, default=15.0, help="the first seconds of each file")
    ap.add_argument("--rates", type=int, nargs="+", default=[16000, 8000], help="input rates")
    ap.add_argument("--variants", nargs="+", default=["20:1.0", "60:1.0", "60:1.02", "off"])
    ap.add_argument("--channels", nargs="+", default=list(CHANNELS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    shipped = (audio.EQUALIZE_MAX_DB, audio.EQUALIZE_END)
    refs = []
    for item in evenly_spaced(list(load_default(args.corpus).split(args.split)), args.max_files):
        hr, _ = audio.load(item.path, sr=SR, mono=True)
        hr = hr[: int(args.seconds * SR)]
        if audio.cutoff(hr, SR) >= MIN_BAND[SR] * SR / 2:
            refs.append(hr)
    base = args.variants[0]
    print(
        f"{args.model} at strength {model.strength:g}, {len(refs)} {args.split} files of {args.corpus} "
        f"({args.seconds:g} s each); lift limits MAX_DB:END, shipped {shipped[0]:g}:{shipped[1]:g}; "
        f"mean LSD / SNR (dB) of {base}, the others as differences from it"
    )
    for rate in args.rates:
        for channel in args.channels:
            got: dict[str, list[dict[str, float]]] = {v: [] for v in args.variants}
            for hr in refs:
                low = low_rate(hr, channel, rate)
                for v in args.variants:
                    got[v].append(scores(hr, run(model, low, rate, hr.size, v), SR, rate))
            mean = {
                v: (np.mean([r["lsd"] for r in rs]), np.mean([r["snr"] for r in rs])) for v, rs in got.items()
            }
            cells = [f"{base} {mean[base][0]:.3f} / {mean[base][1]:.2f}"] + [
                f"{v} {mean[v][0] - mean[base][0]:+.4f} / {mean[v][1] - mean[base][1]:+.3f}"
                for v in args.variants[1:]
            ]
            print(f"{rate} {channel:34s} " + "  ".join(cells), flush=True)
    audio.EQUALIZE_MAX_DB, audio.EQUALIZE_END = shipped


if __name__ == "__main__":
    main()
