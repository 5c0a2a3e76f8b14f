"""Discriminators for the optional adversarial term of full-band training (``--adv-weight``).

HiFi-GAN's multi-period discriminator (Kong et al., 2020: the waveform folded into ``[time / p,
p]`` for periods 2, 3, 5, 7, 11, strided 2-D convolutions along time) beside a multi-resolution
spectrogram discriminator (UnivNet, Jang et al., 2021, as AP-BWE uses it for the amplitude: 2-D
convolutions over the log-magnitude of STFTs at three resolutions). Both are narrowed for CPU
training: HiFi-GAN's period discriminators widen to 32-128-512-1024-1024 channels, these to
``width`` x (1, 2, 4, 8, 8) (8 in training by default, ``--adv-width``: 8-16-32-64-64, 1/4 to
1/16 of the widths, about 1/200 of the multiply-adds); the spectrogram ones keep ``width`` channels
throughout and stride along frequency from their first layer. AP-BWE's phase discriminators are
left out.

Every discriminator returns its logits and the feature maps of its layers (for feature matching).
The losses are LSGAN's (Mao et al., 2017), each averaged over the discriminators:
:func:`discriminator_loss`, :func:`generator_loss`, and :func:`feature_loss` (L1 distance of the
feature maps, each relative to the mean magnitude of the real one, so that it does not depend on
the layers' scales).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

SLOPE = 0.1  # leaky ReLU slope (HiFi-GAN's)
PERIODS = (2, 3, 5, 7, 11)
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))

Judgement = tuple[Tensor, list[Tensor]]  # logits [b, n], feature maps


def _judge(h: Tensor, convs: nn.ModuleList, post: nn.Module) -> Judgement:
    """Leaky-ReLU convolutions, then the logits' layer: the logits ``[b, n]`` and every layer's output."""
    maps = []
    for conv in convs:
        h = F.leaky_relu(conv(h), SLOPE)
        maps.append(h)
    h = post(h)
    maps.append(h)
    return h.flatten(1), maps


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's DiscriminatorP with ``width`` x (1, 2, 4, 8, 8) channels."""

    def __init__(self, period: int, width: int = 8, kernel: int = 5, stride: int = 3) -> None:
        super().__init__()
        self.period = period
        sizes = [1] + [width * m for m in (1, 2, 4, 8, 8)]
        pad = (kernel // 2, 0)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, (kernel, 1), (stride if i < 4 else 1, 1), padding=pad))
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        )
        self.post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, x: Tensor) -> Judgement:
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        return _judge(x.view(b, c, -1, self.period), self.convs, self.post)


class ResolutionDiscriminator(nn.Module):
    """A spectrogram discriminator: 2-D convolutions over ``log(|STFT| + 1e-5)`` (frequency x
    frames), strided along frequency."""

    window: Tensor

    def __init__(self, n_fft: int, hop: int, width: int = 8) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        layers = ((9, 4), (5, 2), (5, 2), (5, 2), (3, 1))  # (kernel, stride) along frequency; 3 frames
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(1 if i == 0 else width, width, (k, 3), (s, 1), padding=(k // 2, 1)))
            for i, (k, s) in enumerate(layers)
        )
        self.post = weight_norm(nn.Conv2d(width, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: Tensor) -> Judgement:
        spec = torch.stft(
            x.reshape(-1, x.shape[-1]), self.n_fft, self.hop, window=self.window, return_complex=True
        )
        magnitude = torch.view_as_real(spec).pow(2).sum(-1).add(1e-10).sqrt()
        return _judge(torch.log(magnitude + 1e-5)[:, None], self.convs, self.post)


class Discriminators(nn.Module):
    """The multi-period and multi-resolution discriminators together: a list of judgements of ``x``
    ``[b, 1, time]``, one per discriminator."""

    def __init__(
        self,
        width: int = 8,
        periods: tuple[int, ...] = PERIODS,
        resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS,
    ) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            [PeriodDiscriminator(p, width) for p in periods]
            + [ResolutionDiscriminator(n, h, width) for n, h in resolutions]
        )

    def forward(self, x: Tensor) -> list[Judgement]:
        return [d(x) for d in self.members]


def discriminator_loss(real: list[Judgement], fake: list[Judgement]) -> Tensor:
    """LSGAN: real logits towards 1, generated ones towards 0 (mean over discriminators)."""
    terms = [torch.mean((1 - r) ** 2) + torch.mean(g**2) for (r, _), (g, _) in zip(real, fake)]
    return torch.stack(terms).mean()


def generator_loss(fake: list[Judgement]) -> Tensor:
    """LSGAN: generated logits towards 1 (mean over discriminators)."""
    return torch.stack([torch.mean((1 - g) ** 2) for g, _ in fake]).mean()


def feature_loss(real: list[Judgement], fake: list[Judgement]) -> Tensor:
    """Mean over every layer of every discriminator of ``mean|r - g| / mean|r|`` (real maps detached)."""
    terms = [
        torch.mean(torch.abs(r.detach() - g)) / torch.mean(torch.abs(r.detach())).clamp_min(1e-6)
        for (_, rs), (_, gs) in zip(real, fake)
        for r, g in zip(rs, gs)
    ]
    return torch.stack(terms).mean()
