"""Shared test helpers: synthetic signals made in the test."""

import signal

import numpy as np
import pytest


def tone(freqs, sr: int = 16000, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (
        amp * sum(np.sin(2 * np.pi * f * t) for f in np.atleast_1d(freqs)) / len(np.atleast_1d(freqs))
    ).astype(np.float32)


def voice(rng: np.random.Generator, seconds: float = 1.5, sr: int = 16000) -> np.ndarray:
    """A harmonic 'voice' with a wandering pitch and a syllable-like envelope."""
    t = np.arange(int(sr * seconds)) / sr
    f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 40))
    x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2) + 0.01 * rng.standard_normal(t.size)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture
def one_thread():
    """Tiny networks gain nothing from threads; one keeps their tests quick on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# `wavesr train` flags of a tiny real run: a 2-block AudioUNet at 1/16 width, no whole-file validation
TINY_TRAIN = [
    "--model",
    "audiounet",
    "--set",
    "blocks=2",
    "--set",
    "width=0.0625",
    "--batch-size",
    "8",
    "--val-files",
    "0",
    "--val-patches",
    "8",
    "--epochs",
    "1",
]


def prepare_voices(root, counts=(("train", 4), ("val", 2)), seconds: float = 2.0):
    """Real WAV files of :func:`voice` under ``root`` per split, prepared as x4 patches of 1024
    samples (stride 512) in ``root/<split>``; returns ``root``."""
    import soundfile as sf

    from wavesr.data.corpus import Item
    from wavesr.data.patches import PrepareConfig, prepare

    rng = np.random.default_rng(0)
    items = []
    for split, n in counts:
        for i in range(n):
            path = root / "audio" / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, voice(rng, seconds=seconds), 16000)
            items.append(Item(path=str(path), split=split, group=f"{split}{i}"))
    cfg = PrepareConfig(sr=16000, ratio=4, patch_len=1024, stride=512, workers=0)
    for split, _ in counts:
        prepare([it for it in items if it.split == split], root / split, cfg, progress=False)
    return root


def train_and_kill(cfg, min_step: int, timeout: float = 120.0) -> int:
    """Train TrainConfig ``cfg`` in a subprocess and SIGKILL it once its ``last.pt`` holds step
    ``min_step`` or later; returns the step of the ``last.pt`` it left."""
    import json
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import torch

    script = (
        "import sys, json; from wavesr.train import TrainConfig, train; "
        "train(TrainConfig(**json.loads(sys.argv[1])), progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(cfg.__dict__)])
    ckpt = Path(cfg.out) / "last.pt"
    deadline = time.time() + timeout
    while time.time() < deadline:  # kill once a mid-run checkpoint exists
        if ckpt.exists():
            try:
                if torch.load(ckpt, weights_only=True)["training"]["step"] >= min_step:
                    break
            except Exception:
                pass  # being replaced right now
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return torch.load(ckpt, weights_only=True)["training"]["step"]


def default_signals() -> None:
    """``preexec_fn`` for a wavesr child whose signal handling a test checks: SIGINT, SIGTERM and SIGHUP
    at their defaults, whatever the runner inherited (a shell's background job ignores SIGINT, nohup
    SIGHUP, and wavesr rightly leaves an ignored signal ignored)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
