"""Training-time augmentation of prepared patches: a random spectral tilt ("brightness").

Voices and microphones differ most in how much energy they carry at high frequencies. A network
trained on a few dozen voices learns their average brightness and adds it to every voice, which
costs SNR on dull ones. :class:`BrightnessAugment` gives each training patch a random high shelf
(a smooth boost or cut above a random corner frequency) and rebuilds its low-resolution input with
the dataset's own degradation, so the network has to read the brightness from its input instead
of assuming it. The shelf is applied in the frequency domain with zero phase.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import audio
from ..channels import MAX_CUTOFF, MIN_CUTOFF, TRAINING_FAMILIES, Channel, draw
from .patches import PatchDataset


def shelf_gain(n: int, sr: float, corner_hz: float, gain_db: float, width_oct: float = 1.0) -> np.ndarray:
    """Linear amplitude gains of the ``n // 2 + 1`` rfft bins of an ``n``-sample signal.

    The gain in dB is ``gain_db * sigmoid(4 * log2(f / corner_hz) / width_oct)``: 0 dB well below
    the corner, ``gain_db`` well above it, half of it at the corner.
    """
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    octaves = np.log2(np.maximum(freqs, 1e-3) / corner_hz)
    db = gain_db / (1.0 + np.exp(-4.0 * octaves / width_oct))
    return 10.0 ** (db / 20.0)


def tilt(x: np.ndarray, sr: float, corner_hz: float, gain_db: float) -> np.ndarray:
    """``x`` ``[time]`` through a zero-phase high shelf (:func:`shelf_gain`), same dtype."""
    spectrum = np.fft.rfft(np.asarray(x, dtype=np.float64))
    y = np.fft.irfft(spectrum * shelf_gain(x.shape[-1], sr, corner_hz, gain_db), n=x.shape[-1])
    return y.astype(x.dtype, copy=False)


class _Drawn(torch.utils.data.Dataset):
    """A dataset wrapped with per-example draws that depend only on ``(seed, epoch, index)``, so that
    DataLoader workers, DDP ranks and a resumed run draw the same; the epoch is passed down."""

    def __init__(self, data: Any, seed: int) -> None:
        self.data, self.seed, self.epoch = data, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.data)

    def rng(self, i: int, stream: int) -> np.random.Generator:
        """The generator of example ``i`` in the current epoch (``stream`` tells the wrappers apart)."""
        return np.random.default_rng(
            [self.seed, self.epoch, int(i) % max(len(self), 1), *([stream] if stream else [])]
        )


class BrightnessAugment(_Drawn):
    """``data`` with a random high shelf on every patch (see the module docstring).

    Patch ``i`` of epoch ``e`` gets a gain uniform in ``[-max_db, +max_db]`` dB above a corner
    log-uniform between half and four times the low-resolution Nyquist frequency (at most 0.9 x
    the high-resolution one); its input is ``audio.degrade`` of the shelved patch, by the method
    the dataset was prepared with. The draw depends only on ``(seed, e, i)``, so DataLoader
    workers, DDP ranks and a resumed run see the same augmentation.
    """

    def __init__(self, data: PatchDataset, max_db: float, seed: int = 0):
        if not max_db > 0:
            raise ValueError(f"max_db must be positive, got {max_db}")
        super().__init__(data, seed)
        self.max_db = float(max_db)
        self.channel = data.channel

    def draw(self, i: int) -> tuple[float, float]:
        """``(corner_hz, gain_db)`` of patch ``i`` in the current epoch."""
        rng = self.rng(i, 0)
        nyquist_lr = self.data.sr / (2 * self.data.ratio)
        corner = min(nyquist_lr * 2.0 ** rng.uniform(-1.0, 2.0), 0.9 * self.data.sr / 2)
        return float(corner), float(rng.uniform(-self.max_db, self.max_db))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, hr = self.data[i]
        corner, gain = self.draw(i)
        shelved = tilt(hr[0].numpy(), self.data.sr, corner, gain)
        lr = audio.degrade(shelved, self.data.ratio, self.channel)
        return torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))[None], torch.from_numpy(shelved)[
            None
        ]

    def __repr__(self) -> str:
        return f"BrightnessAugment({self.data!r}, max_db={self.max_db}, seed={self.seed})"


class DegradeMix(_Drawn):
    """``data`` with the low-resolution input of a random share of patches rebuilt by another degradation.

    Patch ``i`` of epoch ``e`` keeps its own input with probability ``1 - fraction``; otherwise its input
    is ``audio.degrade(hr, ratio, method)``. A network trained on, say, phone-band patches mixed with
    plainly decimated ones has to tell the two apart from its input instead of assuming the one channel.
    ``data`` yields ``(lr, hr)`` pairs (a :class:`PatchDataset` or another augmentation of one); the draw
    depends only on ``(seed, e, i)``, as in :class:`BrightnessAugment`.
    """

    def __init__(self, data: Any, ratio: int, channel: str, fraction: float = 0.5, seed: int = 0):
        if channel not in audio.DEGRADE_CHANNELS:
            raise ValueError(f"unknown channel {channel!r} (choose from {', '.join(audio.DEGRADE_CHANNELS)})")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        super().__init__(data, seed)
        self.ratio, self.channel, self.fraction = int(ratio), channel, float(fraction)

    def rebuilt(self, i: int) -> bool:
        """Whether patch ``i`` gets the other degradation in the current epoch."""
        return bool(self.rng(i, 1).random() < self.fraction)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        lr, hr = self.data[i]
        if self.rebuilt(i):
            lr = audio.degrade(hr[0].numpy(), self.ratio, self.channel)
            lr = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))[None]
        return lr, hr

    def __repr__(self) -> str:
        mix = f"ratio={self.ratio}, channel={self.channel!r}, fraction={self.fraction}"
        return f"DegradeMix({self.data!r}, {mix})"


class ChannelDraw(_Drawn):
    """``data``'s high-resolution patches, each through a channel drawn for it (:func:`wavesr.channels.draw`).

    Patch ``i`` of epoch ``e`` yields ``(input, hr)``: with ``ratio`` 1 the channel's output at the
    data's rate (the input a full-band network sees); with ``ratio`` r > 1, the channel (its cutoff
    drawn between half and all of the low-rate Nyquist frequency) then band-limited resampling to
    the low rate: the paper's networks' input, made by a random channel instead of one filter. The
    channel is drawn from ``families`` as the patch is read (no store of patches per channel,
    memory as for one patch) and depends only on ``(seed, e, i)``, so a resumed run and every
    DataLoader worker draw the same; :meth:`channel` says which it was.
    """

    def __init__(
        self,
        data: Any,
        families: tuple[str, ...] = TRAINING_FAMILIES,
        seed: int = 0,
        low: float | None = None,
        high: float | None = None,
        ratio: int = 1,
    ) -> None:
        super().__init__(data, seed)
        self.families, self.sr, self.ratio = tuple(families), int(data.sr), int(ratio)
        nyquist = self.sr / (2 * self.ratio)
        self.low = float(low if low is not None else (MIN_CUTOFF if ratio == 1 else nyquist / 2))
        self.high = float(high if high is not None else (MAX_CUTOFF if ratio == 1 else nyquist))
        self.channel(0)  # the families and the cutoff range are checked once, here

    def channel(self, i: int) -> Channel:
        """The channel patch ``i`` goes through in the current epoch."""
        return draw(self.rng(i, 2), self.sr, self.families, self.low, self.high)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, hr = self.data[i]
        x = self.channel(i).apply(hr[0].numpy(), self.sr)
        if self.ratio > 1:  # to the low rate, band-limited (a channel may keep more than that rate holds)
            x = audio.degrade(x, self.ratio, "sinc")
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None], hr

    def __repr__(self) -> str:
        return f"ChannelDraw({self.data!r}, families={self.families}, cutoffs {self.low:g}-{self.high:g} Hz)"


class WithCutoff(_Drawn):
    """``data``'s ``(input, hr)`` pairs with a third item, the band of the target an objective
    leaves out (``wavesr train --target-band``): a float32 tensor ``[low, high]`` in Hz, from where
    the real content of the patch's source file ends (:meth:`PatchDataset.cutoff`) to the Nyquist
    frequency, or with ``format_top`` only to the source's own Nyquist frequency
    (:meth:`PatchDataset.format_top`; above it the file is empty by its format, not by a codec,
    and that emptiness is taught)."""

    def __init__(self, data: Any, patches: PatchDataset, format_top: bool = False) -> None:
        super().__init__(data, 0)
        self.patches, self.format_top = patches, bool(format_top)
        patches.cutoff(0)  # a dataset prepared without cutoffs fails here, with its one-line error
        if self.format_top:
            patches.format_top(0)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, hr = self.data[i]
        top = self.patches.format_top(i) if self.format_top else self.patches.sr / 2
        return x, hr, torch.tensor([self.patches.cutoff(i), top], dtype=torch.float32)

    def __repr__(self) -> str:
        return f"WithCutoff({self.data!r})"
