"""Every network trained for the same wall-clock budget on the same data, scored on held-out voices.

Architectures are compared fairly only at equal cost: each network below is trained with
``wavesr train`` for ``--minutes`` of wall-clock time on one CPU thread (the same prepared
patches, batch, learning rate and schedule; each network's own objective, as ``--loss auto``
picks it: l2 for AudioUNet and FastNet here, Li et al.'s log-power-spectrum loss for the DNN;
two more FastNet rows: the per-example RMSE of the second-pass shipped models, and RMSE plus the
log-spectral term of the shipped models),
then every checkpoint is scored with ``wavesr evaluate`` beside the cubic spline and band-limited
interpolation on the same held-out test files (voices never trained on).

    python benchmarks/equal_budget.py --minutes 6 --eval-files 100 --out runs/equal-budget

Outputs ``OUT/runs/<network>/`` (training logs), ``OUT/eval/`` (per-file rows) and
``OUT/equal_budget.md`` / ``.json``: per network the parameters, the optimizer steps and seconds
of audio it got through in the budget, and the held-out SNR / LSD (both conventions) / LSD-HF.
Reruns resume: finished runs and evaluated files are kept.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import torch

from wavesr.data.defaults import build_default, is_built, load_default
from wavesr.data.patches import PrepareConfig, prepare_corpus
from wavesr.errors import WavesrError
from wavesr.evaluate import EvalConfig, evaluate
from wavesr.models.base import build_model, count_parameters, load_model_file
from wavesr.recipes import FAST_MEDIUM_SINC, RECIPES
from wavesr.train import TrainConfig, train

NETWORKS = {  # label -> (network, config overrides, loss)
    "fast (medium, sinc skip)": ("fast", FAST_MEDIUM_SINC, "l2"),
    "fast (medium, sinc skip, rmse)": ("fast", FAST_MEDIUM_SINC, "rmse"),  # the second-pass shipped models'
    "fast (small)": ("fast", {"preset": "small", "skip": "sinc"}, "l2"),
    "audiounet paper (B=8)": ("audiounet", {}, "l2"),
    "audiounet original (B=4)": ("audiounet", {"preset": "original"}, "l2"),
    "audiounet reduced (B=4, 1/8 width)": ("audiounet", {"blocks": 4, "width": 0.125}, "l2"),
    "dnn (Li et al.)": ("dnn", {}, "lps"),
    "fast (medium, sinc skip, rmse+logspec)": (
        "fast",
        FAST_MEDIUM_SINC,
        "rmse+logspec",
    ),  # the shipped models'
}
SPECTRAL_WEIGHT = RECIPES["speech-x4"].stft_weight  # of the spectral term, as the shipped recipes
SLUGS = {
    label: label.split(" (")[0] + "-" + str(i) for i, label in enumerate(NETWORKS)
}  # run folders, columns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=6.0, help="wall-clock training budget per network")
    ap.add_argument("--ratio", type=int, default=4)
    ap.add_argument("--corpus", default="speech", help="a default corpus (held-out test split)")
    ap.add_argument("--eval-files", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--patch-len", type=int, default=8192)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--networks", help="comma-separated labels' first words, or whole labels (default all)")
    ap.add_argument(
        "--data", help="prepared patches with train/ and val/ (default OUT/data, prepared if missing)"
    )
    ap.add_argument("--out", default="runs/equal-budget")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)

    corpus = load_default(args.corpus) if is_built(args.corpus) else build_default(args.corpus)
    data = Path(args.data) if args.data else out / "data"
    for split in ("train", "val"):
        if not (data / split / "settings.json").exists():
            prepare_corpus(
                corpus,
                split,
                data / split,
                PrepareConfig(ratio=args.ratio, patch_len=args.patch_len, silence_db=-60.0),
                spec=args.corpus,
            )
    chosen = {
        k: v
        for k, v in NETWORKS.items()
        if not args.networks or any(k.startswith(w) for w in re.split(r",(?![^(]*\))", args.networks))
    }

    runs, skipped = {}, {}
    for label, (network, overrides, loss) in chosen.items():
        try:
            build_model(network, ratio=args.ratio, **overrides)
        except WavesrError as e:  # e.g. the DNN's frames need r = 2, 4 or 8
            skipped[label] = str(e)
            print(f"{label}: n/a ({e})", flush=True)
            continue
        run = out / "runs" / SLUGS[label]
        cfg = TrainConfig(
            data=str(data / "train"),
            val_data=str(data / "val"),
            out=str(run),
            model=network,
            model_config=dict(overrides),
            epochs=1000,
            max_minutes=args.minutes,
            batch_size=args.batch_size,
            lr=args.lr,
            loss=loss,
            stft_weight=SPECTRAL_WEIGHT,
            val_files=2,
            val_patches=32,
            checkpoint_minutes=5.0,
        )
        if not (run / "model.pt").exists():
            print(f"training {label} for {args.minutes:g} min", flush=True)
            train(cfg, resume=(run / "last.pt").exists(), progress=False)
        runs[label] = run

    methods = ["cubic", "bandlimited"] + [f"{SLUGS[label]}={run / 'model.pt'}" for label, run in runs.items()]
    summary = evaluate(
        methods,
        corpus.split("test"),
        [args.ratio],
        out / "eval",
        EvalConfig(max_files=args.eval_files, pesq=False, stoi=False, progress=False),
        corpus_info={"spec": args.corpus, "root": corpus.root, "split": "test"},
    )
    scores = {row["method"]: row for row in summary["table"]}

    rows = []
    for label, run in runs.items():
        log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        steps = max(r.get("step", 0) for r in log)
        seconds = max(r.get("time", 0.0) for r in log)
        s = scores[SLUGS[label]]
        rows.append(
            {
                "network": label,
                "params": count_parameters(load_model_file(run / "model.pt")),
                "steps": steps,
                "train_seconds": seconds,
                "audio_seconds": steps * args.batch_size * args.patch_len / 16000,
                **{k: s[k] for k in ("snr", "lsd", "lsd_standard", "lsd_hf", "files")},
            }
        )
    base = {m: scores[m] for m in ("cubic", "bandlimited")}
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread(s), torch {torch.__version__}",
        "args": vars(args),
        "baselines": base,
        "networks": rows,
        "not_applicable": skipped,
    }
    (out / "equal_budget.json").write_text(json.dumps(report, indent=2, default=str) + "\n")

    c = base["cubic"]
    lines = [
        f"Held-out {args.corpus} x{args.ratio}, {c['files']} test files, {args.minutes:g} min of training "
        "each "
        f"({report['machine']}, {report['date']}).",
        "",
        "| network | parameters | steps | audio seen (s) | training s audio/s | SNR (dB) | vs cubic | LSD | "
        "x cubic "
        "| LSD-std | LSD-HF |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("cubic", "bandlimited"):
        b = base[name]
        lines.append(
            f"| {name} | 0 | - | - | - | {b['snr']:.2f} | {b['snr'] - c['snr']:+.2f} | {b['lsd']:.2f} | "
            f"{b['lsd'] / c['lsd']:.2f}x | {b['lsd_standard']:.2f} | {b['lsd_hf']:.2f} |"
        )
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['params']:,} | {r['steps']} | {r['audio_seconds']:.0f} | "
            f"{r['audio_seconds'] / r['train_seconds']:.2f} | {r['snr']:.2f} | "
            f"{r['snr'] - c['snr']:+.2f} | {r['lsd']:.2f} | {r['lsd'] / c['lsd']:.2f}x | "
            f"{r['lsd_standard']:.2f} | {r['lsd_hf']:.2f} |"
        )
    lines += [f"| {label} | n/a ({why}) ||||||||||" for label, why in skipped.items()]
    (out / "equal_budget.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
