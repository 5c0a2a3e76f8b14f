"""The optional adversarial term of full-band training (``--adv-weight``, off by default).

With ``adv_weight`` > 0 a run trains :class:`wavesr.models.discriminators.Discriminators` beside
the network, HiFi-GAN's way: every step first updates the discriminators (Adam, betas 0.8/0.99,
the network's learning rate and schedule) on the target patch and the network's output
(detached), then adds to the network's band loss ``adv_weight`` x the LSGAN generator loss plus
``feature_weight`` x feature matching, both from the updated discriminators (from step
``adv_start`` on; before it the discriminators train alone). Both signals are scaled by the
target's RMS first (as the band loss scales them: the network is level-invariant, so are its
judges), and both are cut to the same random window of ``adv_segment`` samples (the torch RNG,
which checkpoints restore), which keeps the discriminators' cost on CPU down.

``last.pt`` keeps the discriminators' weights and their optimizer under
``training["discriminators"]``; ``--resume`` restores them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .configs import TrainConfig
from .models.discriminators import Discriminators, discriminator_loss, feature_loss, generator_loss


class Adversary:
    """The discriminators of a run, their optimizer, and what they logged since the last log row."""

    def __init__(self, cfg: TrainConfig, device: torch.device, fp16: bool) -> None:
        self.cfg = cfg
        self.net = Discriminators(cfg.adv_width).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, betas=(0.8, 0.99))
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.logged: dict[str, list[float]] = {"d_loss": [], "adv_loss": [], "feature_loss": []}

    def judged(self, target: Tensor, output: Tensor) -> tuple[Tensor, Tensor]:
        """The target and the output ``[b, 1, T]`` as the discriminators see them: scaled by the
        target's RMS and cut to one random window (the same for both)."""
        scale = target.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-4)
        n = min(self.cfg.adv_segment, target.shape[-1])
        start = int(torch.randint(0, target.shape[-1] - n + 1, ()).item())
        return (target / scale)[..., start : start + n], (output / scale)[..., start : start + n]

    def train_step(self, real: Tensor, fake: Tensor, rate: float) -> None:
        """One optimizer step of the discriminators on ``real`` and ``fake.detach()``."""
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        both = self.net(torch.cat([real, fake.detach()]))  # one pass over both halves
        n = real.shape[0]
        loss = discriminator_loss([(r[:n], []) for r, _ in both], [(g[n:], []) for g, _ in both])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.logged["d_loss"].append(float(loss.item()))

    def generator_terms(self, real: Tensor, fake: Tensor) -> Tensor:
        """``adv_weight`` x LSGAN generator loss + ``feature_weight`` x feature matching of ``fake``
        (gradients reach the network, not the discriminators)."""
        self.net.requires_grad_(False)
        try:
            with torch.no_grad():
                judged_real = self.net(real)
            judged_fake = self.net(fake)
            adv, feat = generator_loss(judged_fake), feature_loss(judged_real, judged_fake)
        finally:
            self.net.requires_grad_(True)
        self.logged["adv_loss"].append(float(adv.item()))
        self.logged["feature_loss"].append(float(feat.item()))
        return self.cfg.adv_weight * adv + self.cfg.feature_weight * feat

    def log_row(self) -> dict[str, float]:
        """The means of what was logged since the last call (emptied)."""
        row = {k: sum(v) / len(v) for k, v in self.logged.items() if v}
        for v in self.logged.values():
            v.clear()
        return row

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
