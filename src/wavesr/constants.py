"""Names shared across wavesr, in a module that imports nothing heavy (the CLI builds its flags from them).

Each is defined here once; the modules that act on them (``audio`` for the degradations,
``pretrained`` for contents and passes, ``inference`` for the self-ensemble) import them.
"""

from __future__ import annotations

import numbers
from typing import Any

SAMPLE_RATE = 16000  # the paper's high-resolution rate
DEGRADE_CHANNELS = (
    "decimate",
    "subsample",
    "sinc",
    "telephone",
)  # audio.degrade: how low-resolution input is made
CONTENTS = (
    "speech",
    "telephone",
    "piano",
    "music",
)  # what a shipped model is for (telephone: 300-3400 Hz speech)
CHANNEL_FAMILIES = ("lowpass", "brickwall", "resample", "codec", "telephone", "decimate")  # wavesr.channels
LOSSES = ("l2", "rmse", "l2+stft", "rmse+logspec", "band")  # training objectives of wavesr.losses
PASSES = (1, 2, 4, 8)  # self-ensemble sizes a model may upsample with (wavesr.inference.ensemble_offsets)
PASSES_TEXT = ", ".join(map(str, PASSES))


def valid_passes(value: Any) -> bool:
    """Whether ``value`` is a self-ensemble size (one of :data:`PASSES`; a whole number, not a bool)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value in PASSES
