"""Choose a full-band model (and its strength: the generated band scaled by S; and whether the input's
transition band is lifted, ``+eq``) on validation data.

Every model given runs as ``wavesr upsample --strength S [--equalize]`` runs it, for each strength of
``wavesr.fullband.STRENGTHS`` with and without ``--equalize``, on the validation split through the
full-band protocol's channel (soxr to 8, 12, 16 and 24 kHz, back to 48 kHz, and to 11.025 and
22.05 kHz, back to 44.1 kHz; files whose content reaches ``wavesr.fullband.MIN_BAND`` of the
output's Nyquist frequency), beside
sinc (``wavesr.fullband.validate``). Printed: mean LSD (clamped standard), LSD-HF and SNR over files
and input rates (then per input rate, against sinc), and the choice of
``wavesr.fullband.choose``: the highest mean SNR among the candidates whose LSD is at most 0.5 x
sinc's at every input rate (the LSD target; then as close to sinc's SNR as that allows; failing
that, on the mean over rates).

    python benchmarks/strength.py stage1=runs/fb-speech/model.pt stage2=runs/fb-speech-tune/model.pt \
        --corpus speech-fullband
"""

from __future__ import annotations

import argparse

from wavesr.data.defaults import load_default
from wavesr.fullband import STRENGTHS, choose, validate
from wavesr.pretrained import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="NAME=PATH: checkpoints, run folders or shipped names")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--max-files", type=int, default=60, help="0: every file")
    ap.add_argument("--strengths", type=float, nargs="+", default=list(STRENGTHS), help="default: STRENGTHS")
    ap.add_argument(
        "--min-band",
        type=float,
        default=None,
        help="only files whose content reaches this share of the output's Nyquist frequency "
        "(default: wavesr.fullband.MIN_BAND, 0.75 at 48 kHz, 0.85 at 44.1 kHz; 0.9: no lossy codec's cliff)",
    )
    ap.add_argument("--srs", type=int, nargs="+", default=[48000, 44100], help="output rates")
    ap.add_argument(
        "--equalize", choices=("both", "on", "off"), default="both", help="lift the input's transition band"
    )
    args = ap.parse_args()
    models = {}
    for spec in args.models:
        name, _, path = spec.rpartition("=")
        models[name or path] = load_model(path)
    items = load_default(args.corpus).split(args.split)
    means = validate(
        models,
        items,
        srs=tuple(args.srs),
        strengths=tuple(args.strengths),
        max_files=args.max_files or None,
        min_band=args.min_band,
        equalize={"both": (False, True), "on": (True,), "off": (False,)}[args.equalize],
    )
    for group, title in (("rates", "input rate"), ("sources", "source files' rate")):
        keys = list(means["sinc"][group])
        print(
            f"\nper {title}\n\n| candidate | LSD | LSD-HF | SNR (dB) | "
            + " | ".join(f"{r / 1000:g} kHz: LSD (x sinc) / SNR (vs sinc)" for r in keys)
            + " |\n|---|---|---|---|"
            + "---|" * len(keys)
        )
        for k, m in means.items():
            cells = []
            for r in keys:
                mine, sinc = m[group][r], means["sinc"][group][r]
                cells.append(
                    f"{mine['lsd']:.3f} ({mine['lsd'] / sinc['lsd']:.2f}x) / {mine['snr'] - sinc['snr']:+.3f}"
                )
            print(
                f"| {k} | {m['lsd']:.3f} | {m['lsd_hf']:.3f} | {m['snr']:.2f} | " + " | ".join(cells) + " |"
            )
    choice, why = choose(means)
    print(f"\nchoice: {choice} ({why})")


if __name__ == "__main__":
    main()
