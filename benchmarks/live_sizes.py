"""What a 10 ms block costs a live model of each size: causal BandNets (random weights) through LiveStream.

The live models' frame step is per call more than per frame, and ONNX Runtime's turn through the
weights slows the numpy around it (its FFTs take two to three times as long right after a step),
so the size of the network is measured where it runs: ``--seconds`` of noise at 8 kHz pushed in
10 ms blocks through :class:`wavesr.live.LiveStream` (one torch thread, the frame step in ONNX
Runtime), each shape in turn, ``--rounds`` rounds interleaved so that the machine's drift hits
them alike. Prints the least and the median time per block and the real-time factor of the median.
With ``--ffts``: the median time of each FFT a frame stream could use on 4 frames, alone and right
after a frame step of the first shape.

    python benchmarks/live_sizes.py --shapes 96x6 96x4 64x5 64x4 64x3 --rounds 4 --ffts
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.fft
import torch

from wavesr.fullband_recipes import BAND_LIVE
from wavesr.live import LiveStream
from wavesr.models.band import BandConfig, BandNet


def block_seconds(model: BandNet, x: np.ndarray, sr: int, block: int) -> float:
    stream = LiveStream(model, sr, band=sr / 2)
    start = time.perf_counter()
    for i in range(0, x.size, block):
        stream.process(x[i : i + block])
    stream.flush()
    return (time.perf_counter() - start) / (x.size // block)


def ffts(model: BandNet, calls: int = 2000) -> None:
    """Each FFT's median time on 4 frames of 512, alone and right after the model's frame step."""
    stream = model.streamer(1)  # its step in ONNX Runtime, its put-back weights and starting states
    step, mix, states = stream.step, stream.mix, stream.states
    c, rng = model.config, np.random.default_rng(0)
    frames = rng.standard_normal((1, 4, c.n_fft)).astype(np.float32)
    spec = torch.view_as_real(torch.fft.rfft(torch.from_numpy(frames), dim=-1)).numpy()
    level = np.ones((1, 4, 1), np.float32)
    z = step(spec, level, mix, states)[0].view(np.complex64)[..., 0]
    candidates = {
        "torch rfft": lambda: torch.view_as_real(torch.fft.rfft(torch.from_numpy(frames), dim=-1)).numpy(),
        "scipy irfft": lambda: scipy.fft.irfft(z, n=c.n_fft, axis=-1),
        "numpy irfft": lambda: np.fft.irfft(z, n=c.n_fft, axis=-1),
        "torch irfft": lambda: torch.fft.irfft(torch.from_numpy(z), n=c.n_fft, dim=-1).numpy(),
    }
    print("| FFT (4 frames) | alone (us) | after a frame step (us) |")
    print("|---|---|---|")
    for name, f in candidates.items():
        alone, after = [], []
        for _ in range(calls):
            t = time.perf_counter()
            f()
            alone.append(time.perf_counter() - t)
        for _ in range(calls):
            step(spec, level, mix, states)
            t = time.perf_counter()
            f()
            after.append(time.perf_counter() - t)
        print(f"| {name} | {1e6 * np.median(alone):.1f} | {1e6 * np.median(after):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["96x6", "64x5"], help="WIDTHxBLOCKS")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--ffts", action="store_true", help="also time the FFTs alone and after a step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sr = 8000
    x = (0.05 * np.random.default_rng(0).standard_normal(int(args.seconds * sr))).astype(np.float32)
    models = {}
    for shape in args.shapes:
        width, blocks = (int(v) for v in shape.split("x"))
        torch.manual_seed(0)
        config = BandConfig(**{**BAND_LIVE, "width": width, "blocks": blocks})
        models[shape] = BandNet(config).eval()
        block_seconds(models[shape], x[: sr // 2], sr, sr // 100)  # export and warm up
    times: dict[str, list[float]] = {shape: [] for shape in models}
    for _ in range(args.rounds):
        for shape, model in models.items():
            times[shape].append(block_seconds(model, x, sr, sr // 100))
    print("| width x blocks | parameters | least (ms) | median (ms) | RTF (median) |")
    print("|---|---|---|---|---|")
    for shape, model in models.items():
        t = np.array(times[shape])
        params = sum(p.numel() for p in model.parameters())
        print(
            f"| {shape} | {params:,} | {1e3 * t.min():.3f} | {1e3 * np.median(t):.3f} | "
            f"{0.01 / np.median(t):.1f}x |"
        )
    if args.ffts:
        ffts(next(iter(models.values())))


if __name__ == "__main__":
    main()
