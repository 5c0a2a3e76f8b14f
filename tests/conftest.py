"""Shared test helpers: synthetic signals made in the test."""

import numpy as np
import pytest


def tone(freqs, sr: int = 16000, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * sum(np.sin(2 * np.pi * f * t) for f in np.atleast_1d(freqs)) / len(np.atleast_1d(freqs))).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
