"""What full-band network variants cost on one CPU thread, measured side by side in one process.

For each variant (NAME=JSON of BandNet settings; ``default`` = the shipped settings; a ``network``
key names another full-band network, e.g. ``{"network": "fastband"}``): parameters,
the bare network's real-time factor at 48 kHz (seconds of audio per second of compute; eval,
inference mode, one 10 s chunk, the best of ``--repeats``), and the seconds of one training step
(batch 16 x 24576 samples: forward, band loss, backward, Adam), plain and with the adversarial
term of ``--adv-weight`` (``wavesr.adversarial``: one discriminator step, then their terms), the
median of ``--steps`` steps, plain and adversarial steps interleaved so that a change in the
machine's load reaches both alike. Times are the process's CPU time (``time.process_time``, one
thread), not wall-clock time: on a machine shared with other work they stay what the computation
costs (the wall clock would count the time the thread waited for a core).

    python benchmarks/band_cost.py default small='{"width": 96, "blocks": 5}' time='{"network": "fastband"}'
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from wavesr.adversarial import Adversary
from wavesr.configs import TrainConfig
from wavesr.losses import band_loss
from wavesr.models.base import build_model, count_parameters

SR = 48000


def realtime_factor(model: torch.nn.Module, seconds: float, repeats: int) -> float:
    x = 0.1 * torch.randn(1, 1, int(seconds * SR))
    best = float("inf")
    with torch.inference_mode():
        model(x[..., :SR])  # warm-up
        for _ in range(repeats):
            t = time.process_time()
            model(x)
            best = min(best, time.process_time() - t)
    return seconds / best


def step_seconds(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, adversary: Adversary | None, batch: torch.Tensor
) -> float:
    t = time.process_time()
    pred = model(0.5 * batch)
    loss = band_loss(pred, batch, wave_weight=30.0)
    if adversary is not None:
        real, fake = adversary.judged(batch, pred)
        adversary.train_step(real, fake, 2e-4)
        loss = loss + adversary.generator_terms(real, fake)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help="NAME or NAME=JSON settings (default: the shipped ones)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--adv-weight", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    batch = 0.1 * torch.randn(16, 1, 24576)
    cfg = TrainConfig(data="", out="", adv_weight=args.adv_weight)
    print(
        "| variant | parameters | real-time factor (1 thread) | step (CPU s) | step with adversary (CPU s) |"
    )
    print("|---|---|---|---|---|")
    for spec in args.variants:
        name, _, settings = spec.partition("=")
        config = json.loads(settings or "{}")
        model = build_model(config.pop("network", "band"), **config)
        rtf = realtime_factor(model.eval(), args.seconds, args.repeats)
        model.train()
        adversary = Adversary(cfg, torch.device("cpu"), fp16=False)
        optimizer = torch.optim.Adam(model.parameters(), 2e-4)
        plain, adv = [], []
        for _ in range(args.steps):
            plain.append(step_seconds(model, optimizer, None, batch))
            adv.append(step_seconds(model, optimizer, adversary, batch))
        print(
            f"| {name} | {count_parameters(model):,} | {rtf:.0f}x | {statistics.median(plain):.2f} | "
            f"{statistics.median(adv):.2f} |"
        )


if __name__ == "__main__":
    main()
