"""The DNN baseline of Li et al. (2015), as Kuleshov et al. (2017) compare against it.

Li, Huang, Xu & Lee, *DNN-based speech bandwidth expansion* (Interspeech 2015; also Li & Lee,
ICASSP 2015) predict the log-power spectrum (LPS) of the missing high band from the LPS of the
low band with a dense network, keep the low band as it is, take the high band's phase by
*imaging* (mirroring) the low band's, and resynthesise by inverse STFT with overlap-add.
Kuleshov et al. use 3 dense hidden layers of 2048 ReLU units and note that the features only
apply to ratios 2, 4, 8.

Here, per STFT frame (``n_fft`` 512 = 32 ms at 16 kHz, hop 256, periodic Hann, frames centred)::

    z = r * zero-stuffed lr                 (x[0], 0, .., 0, x[1], 0, ..: the images of the low band)
    Z = STFT(z)                             [b, n_fft/2 + 1, frames]
    low  = Z[:, :K]                         K = n_fft / (2 r) bins below the input's Nyquist frequency
    feat = log(|low|^2 + eps) over 2 * context + 1 frames, minus the centre frame's mean log power
    pred = MLP(MVN(feat))                   3 x 2048 ReLU -> the n_fft/2 + 1 - K high-band bins
    high = exp((pred + frame level) / 2) * exp(i * angle(Z[:, K:]))
    hr   = ISTFT([low, high])               cropped to time_lr * r

Why the zero-stuffed signal: with a hop that is a multiple of ``r`` its STFT is exactly periodic in
frequency with period ``n_fft / r`` bins and Hermitian, so below ``K`` it is (times ``r``) the
STFT of the band-limited interpolation, and above ``K`` it holds the mirrored and repeated low-band
spectrum: its phase *is* the flipped low-band phase of Li et al. (for r = 2, ``angle Z[n_fft/2 - k]
= -angle Z[k]``), generalised to r = 4, 8. A frame size that is not a whole number of periods
(``n_fft`` not a multiple of ``2 r``, or a hop not a multiple of ``r``, e.g. r = 3 or 6 with
n_fft 512) is refused; ``n_fft=384, hop=192`` serves r = 3 and 6.

Choices of ours, where neither paper pins the detail down: ``context = 3`` frames each side; the
input mean/variance normalisation (Li et al.'s global MVN) is a ``BatchNorm1d`` without affine
parameters, i.e. the statistics are estimated on the training data; the high band is predicted
relative to each frame's mean low-band log power, so the network does not depend on the input
level; its last layer starts near ``INITIAL_HIGH_LEVEL`` (about -26 dB), so an untrained network
is close to band-limited interpolation. The model trains end to end through ``forward`` (an L2
loss on waveforms flows back through ISTFT into the predicted magnitudes), but with imaged phase
an L2 loss mostly teaches it to keep the high band quiet; :meth:`DNN.lps_loss` is Li et al.'s own
objective (MSE of the high band's log power spectrum) and :meth:`DNN.spectrum` returns the complex
STFT before resynthesis, for spectral losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import WavesrError
from .base import Upsampler, UpsamplerConfig, register

LPS_EPS = 1e-10  # added to |STFT|^2 before the log
INITIAL_HIGH_LEVEL = -6.0  # natural-log power of the high band relative to the low band at start
MAX_HIGH_LEVEL = 10.0  # predicted relative log power is clamped here (keeps exp() finite)


@dataclass
class DNNConfig(UpsamplerConfig):
    """Settings of the Li et al. (2015) baseline (defaults: 16 kHz, 32 ms frames)."""

    n_fft: int = 512
    hop: int = 256
    context: int = 3  # frames each side of the centre frame in the input features
    hidden: int = 2048
    layers: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        r = self.ratio
        if self.n_fft % (2 * r) or self.hop % r:
            raise WavesrError(
                f"dnn: ratio {r} does not fit the frame (n_fft {self.n_fft} must be a multiple of "
                f"2 x ratio and hop {self.hop} a multiple of ratio); the DNN baseline works "
                f"for r = 2, 4, 8 at n_fft 512, or e.g. n_fft=384, hop=192 for r = 3, 6"
            )
        if not 0 < self.hop <= self.n_fft // 2:
            raise WavesrError(f"dnn: hop must be in 1..n_fft/2, got {self.hop}")
        if self.context < 0 or self.hidden < 1 or self.layers < 1:
            raise WavesrError("dnn: context must be >= 0, hidden and layers >= 1")

    @property
    def n_low(self) -> int:
        """STFT bins below the input's Nyquist frequency (kept from the input)."""
        return self.n_fft // (2 * self.ratio)

    @property
    def n_high(self) -> int:
        """STFT bins the network predicts."""
        return self.n_fft // 2 + 1 - self.n_low


def zero_stuff(lr: Tensor, ratio: int) -> Tensor:
    """``[b, 1, n]`` -> ``[b, 1, n * ratio]`` with ``ratio - 1`` zeros after each sample."""
    b, _, n = lr.shape
    return F.pad(lr.reshape(b, n, 1), (0, ratio - 1)).reshape(b, 1, n * ratio)


def _lps(spec: Tensor) -> Tensor:
    """Log power spectrum ``log(|spec|^2 + LPS_EPS)`` of a complex STFT."""
    return torch.log(spec.real.square() + spec.imag.square() + LPS_EPS)


@register("dnn")
class DNN(Upsampler):
    """Dense network on log-power spectra with imaged phase (Li et al., 2015)."""

    config_class = DNNConfig
    config: DNNConfig
    default_loss = "lps"  # what `wavesr train --loss auto` uses: Li et al.'s objective

    window: Tensor  # a buffer

    def __init__(self, config: DNNConfig | None = None) -> None:
        super().__init__(config or DNNConfig())
        cfg = self.config
        n_in = cfg.n_low * (2 * cfg.context + 1)
        # made on the CPU even when the network is built on the meta device to check a checkpoint's
        # shapes: there, torch computes it through its decompositions, which import torch._dynamo (2 s)
        self.register_buffer("window", torch.hann_window(cfg.n_fft, device="cpu"), persistent=False)
        self.norm = nn.BatchNorm1d(n_in, affine=False, momentum=None)  # global MVN, from training data
        layers: list[nn.Module] = []
        for i in range(cfg.layers):
            layers += [nn.Linear(n_in if i == 0 else cfg.hidden, cfg.hidden), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(cfg.hidden, cfg.n_high)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.constant_(self.out.bias, INITIAL_HIGH_LEVEL)

    def stft(self, x: Tensor) -> Tensor:
        """``[b, 1, time]`` -> complex ``[b, n_fft / 2 + 1, 1 + time // hop]``."""
        return torch.stft(
            x[:, 0],
            self.config.n_fft,
            self.config.hop,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )

    def predict(self, lr: Tensor) -> tuple[Tensor, Tensor]:
        """The network's prediction on ``lr [b, 1, time_lr]``.

        Returns
        -------
        z : complex ``[b, n_fft/2 + 1, frames]``, STFT of ``r`` times the zero-stuffed input.
        lps_high : ``[b, n_high, frames]``, predicted log power ``log |S|^2`` of the high-band bins.
        """
        self.check_input(lr)
        cfg, c = self.config, self.config.context
        z = self.stft(zero_stuff(lr, cfg.ratio) * cfg.ratio)  # [b, F, frames]
        b, frames = z.shape[0], z.shape[-1]
        lps = _lps(z[:, : cfg.n_low])  # [b, K, frames]
        level = lps.mean(dim=1, keepdim=True)  # [b, 1, frames]
        ctx = F.pad(lps, (c, c), mode="replicate").unfold(-1, 2 * c + 1, 1)  # [b, K, frames, 2c+1]
        feats = (ctx - level.unsqueeze(-1)).permute(0, 2, 1, 3).reshape(b * frames, -1)
        pred = self.out(self.mlp(self.norm(feats)))  # [b * frames, F - K]
        pred = pred.reshape(b, frames, cfg.n_high).transpose(1, 2)  # [b, F - K, frames]
        return z, level + pred.clamp(max=MAX_HIGH_LEVEL)

    def spectrum(self, lr: Tensor) -> Tensor:
        """The predicted high-rate STFT: ``lr [b, 1, time_lr]`` -> complex ``[b, n_fft/2 + 1, frames]``.

        Low band: the input's (band-limited interpolation); high band: predicted magnitude with
        the imaged phase of the zero-stuffed input.
        """
        z, lps_high = self.predict(lr)
        high = torch.polar(torch.exp(0.5 * lps_high), torch.angle(z[:, self.config.n_low :]).detach())
        return torch.cat([z[:, : self.config.n_low], high], dim=1)

    def lps_loss(self, lr: Tensor, hr: Tensor) -> Tensor:
        """Li et al.'s training objective: mean squared error of the high band's log power spectrum.

        Parameters
        ----------
        lr : ``[b, 1, time_lr]`` input; hr : ``[b, 1, time_lr * ratio]`` its high-rate target.

        An L2 loss on waveforms also trains the network (through ``forward``), but with imaged
        phase it mostly learns to keep the high band quiet; this loss targets its magnitudes.
        """
        if hr.shape[-1] != lr.shape[-1] * self.ratio or hr.shape[:-1] != lr.shape[:-1]:
            raise WavesrError(
                f"dnn: target shape {list(hr.shape)} does not match input {list(lr.shape)} "
                f"at ratio {self.ratio}"
            )
        _, lps_high = self.predict(lr)
        target = _lps(self.stft(hr)[:, self.config.n_low :])
        return torch.mean((lps_high - target) ** 2)

    def forward(self, lr: Tensor) -> Tensor:
        """``lr [batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``."""
        length = self.check_input(lr) * self.ratio
        y = torch.istft(
            self.spectrum(lr),
            self.config.n_fft,
            self.config.hop,
            window=self.window,
            center=True,
            length=length,
        )
        return y.unsqueeze(1)
