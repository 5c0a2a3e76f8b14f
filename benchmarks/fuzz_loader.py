"""Fuzz the audio loaders: random bytes and mutated real audio files through libsndfile.

Targets, for every input file:

* ``audio.info(path)`` and ``audio.load(path)`` (what ``prepare``, ``evaluate`` and the readers
  use), and ``audiofiles.read_blocks(path)`` (how ``upsample`` streams a file);
* the contract: every failure is a :class:`WavesrError` whose message is one line naming the
  file; every success of ``load`` is finite float32 ``[C, T]`` with ``C >= 1``, ``T >= 1`` and a
  positive integer rate; when both ``load`` and the streamed read succeed they give the same
  samples (upsample and prepare see one file the same way). Anything else is a bug: another
  exception, a broken contract, a crash of the process (a signal) or a hang (``--timeout``).

Inputs: seed files written by libsndfile itself (WAV of every depth, 1-6 channels, FLAC, Ogg
Vorbis and Opus, MP3, AIFF, AU, W64, CAF; plus ``--corpus`` files, e.g. real recordings), and
random bytes. Each input is a seed mutated by one or more of: bit flips, byte overwrites with
boundary values (0, 0xFF, 0x7F, 0x80) in the header, truncation, header fields set to extreme
values (WAV rate / channels / bits / block align / chunk sizes, FLAC STREAMINFO, Ogg page
headers), random insertions, deletions and repeated chunks. A seeded numpy generator drives the
mutations, so a run is reproducible from ``--seed``. (libsndfile is C without coverage
instrumentation, so a coverage-guided fuzzer such as atheris would see no more than this.)

The targets run in a worker process (memory capped at 4 GiB) fed one file at a time; the parent
restarts it after a crash or a hang and keeps the input that caused it.

Usage::

    python benchmarks/fuzz_loader.py --seconds 180          # a few minutes
    python benchmarks/fuzz_loader.py --inputs 300 --seed 7  # what tests/test_hardening.py runs
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SEED_FORMATS = [  # (extension, format, subtype, rate, channels)
    ("wav", "WAV", "PCM_16", 16000, 1),
    ("wav", "WAV", "PCM_24", 44100, 2),
    ("wav", "WAV", "FLOAT", 22050, 1),
    ("wav", "WAV", "DOUBLE", 8000, 3),
    ("wav", "WAV", "PCM_U8", 11025, 1),
    ("wav", "WAV", "PCM_32", 48000, 6),
    ("wav", "WAV", "ULAW", 8000, 1),
    ("wav", "WAV", "IMA_ADPCM", 16000, 2),
    ("flac", "FLAC", "PCM_16", 16000, 1),
    ("flac", "FLAC", "PCM_24", 48000, 2),
    ("ogg", "OGG", "VORBIS", 44100, 2),
    ("ogg", "OGG", "VORBIS", 16000, 1),
    ("opus", "OGG", "OPUS", 48000, 1),
    ("mp3", "MP3", "MPEG_LAYER_III", 44100, 2),
    ("aiff", "AIFF", "PCM_16", 22050, 2),
    ("au", "AU", "PCM_16", 8000, 1),
    ("w64", "W64", "PCM_16", 16000, 1),
    ("caf", "CAF", "PCM_16", 16000, 1),
]
BOUNDARY = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]
TIMEOUT_S = 20.0


# ----------------------------------------------------------------------------------- inputs


def seed_files(corpus: list[str] | None = None) -> list[tuple[str, bytes]]:
    """(extension, bytes) of short real files libsndfile wrote, and any ``corpus`` files (< 2 MB)."""
    rng = np.random.default_rng(0)
    seeds = []
    for ext, fmt, subtype, sr, channels in SEED_FORMATS:
        t = np.arange(int(sr * 0.12)) / sr
        x = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.05 * rng.standard_normal((t.size, channels))
        buf = io.BytesIO()
        try:
            sf.write(buf, x.astype(np.float32), sr, subtype=subtype, format=fmt)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            continue  # this libsndfile build does not write it
        seeds.append((ext, buf.getvalue()))
    for path in corpus or []:
        data = Path(path).read_bytes()
        if len(data) < 2 << 20:
            seeds.append((Path(path).suffix.lstrip(".").lower(), data))
    return seeds


def _put(data: bytearray, offset: int, value: int, size: int) -> None:
    if 0 <= offset and offset + size <= len(data):
        data[offset : offset + size] = struct.pack(
            "<I" if size == 4 else "<H", value & (0xFFFFFFFF if size == 4 else 0xFFFF)
        )


def _corrupt_header(data: bytearray, rng: np.random.Generator) -> None:
    """Set one header field of a WAV, FLAC or Ogg file to an extreme or random value."""
    value = int(rng.choice(BOUNDARY)) if rng.random() < 0.7 else int(rng.integers(0, 2**32))
    if data[:4] == b"RIFF":
        fmt = data.find(b"fmt ")
        fields = [
            (4, 4),
            (fmt + 4, 4),
            (fmt + 8, 2),
            (fmt + 10, 2),
            (fmt + 12, 4),
            (fmt + 16, 4),
            (fmt + 20, 2),
            (fmt + 22, 2),
        ]  # RIFF size, fmt size, codec, channels, rate, byte rate, block align, bits
        dat = data.find(b"data")
        if dat > 0:
            fields.append((dat + 4, 4))
        offset, size = fields[rng.integers(len(fields))]
        _put(data, offset, value, size)
    else:
        if data[:4] == b"fLaC":  # STREAMINFO: block sizes, frame sizes, rate/channels/bits, total samples
            offset = 8 + int(rng.integers(0, 34))
        elif data[:4] == b"OggS":  # a page header field of one of the first pages
            page = int(rng.choice([0, data.find(b"OggS", 4), data.find(b"OggS", 100)]))
            offset = max(page, 0) + int(rng.integers(4, 27))
        else:
            offset = int(rng.integers(0, 64))
        if offset < len(data):
            data[offset] = value & 0xFF


def mutate(seed: bytes, rng: np.random.Generator) -> bytes:
    """One to four random mutations of ``seed``."""
    data = bytearray(seed)
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.integers(7)
        n = len(data)
        if kind == 0 and n:  # bit flips anywhere
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(n))
                data[i] ^= 1 << int(rng.integers(8))
        elif kind == 1 and n:  # boundary bytes in the header
            for _ in range(int(rng.integers(1, 5))):
                data[int(rng.integers(min(n, 128)))] = int(rng.choice([0, 0xFF, 0x7F, 0x80]))
        elif kind == 2:  # truncation
            data = data[: int(rng.integers(0, n + 1))]
        elif kind == 3:
            _corrupt_header(data, rng)
        elif kind == 4:  # insertion of random bytes
            i = int(rng.integers(n + 1))
            data[i:i] = rng.bytes(int(rng.integers(1, 64)))
        elif kind == 5 and n:  # deletion
            i = int(rng.integers(n))
            del data[i : i + int(rng.integers(1, 256))]
        elif kind == 6 and n:  # a chunk repeated
            i = int(rng.integers(n))
            chunk = data[i : i + int(rng.integers(1, 512))]
            data[i:i] = chunk
    return bytes(data)


def make_input(seeds: list[tuple[str, bytes]], rng: np.random.Generator) -> tuple[str, bytes, str]:
    """(extension, bytes, how it was made) of one input."""
    if rng.random() < 0.1:  # random bytes, with a random audio extension
        ext = str(rng.choice(["wav", "flac", "ogg", "mp3", "aiff", "au", "opus"]))
        return ext, rng.bytes(int(rng.integers(0, 4096))), "random"
    if rng.random() < 0.05:  # a random header glued to random bytes
        ext, seed = seeds[int(rng.integers(len(seeds)))]
        return (
            ext,
            seed[: int(rng.integers(4, 64))] + rng.bytes(int(rng.integers(0, 4096))),
            f"{ext} header+random",
        )
    ext, seed = seeds[int(rng.integers(len(seeds)))]
    return ext, mutate(seed, rng), f"mutated {ext}"


# ---------------------------------------------------------------------------------- targets


def check(path: str) -> tuple[str, str]:
    """Run the targets on one file: ``("loaded" | "refused", detail)`` or ``("bug", what)``."""
    from wavesr import audio, audiofiles
    from wavesr.errors import WavesrError

    def bad_message(e: WavesrError) -> str | None:
        text = str(e)
        return (
            None if path in text and "\n" not in text else f"message not one line naming the file: {text!r}"
        )

    for name, call in (("info", lambda: audio.info(path)),):
        try:
            call()
        except WavesrError as e:
            if bad_message(e):
                return "bug", f"{name}: {bad_message(e)}"
        except Exception as e:  # noqa: BLE001 - anything else is what we look for
            return "bug", f"{name}: {type(e).__name__}: {e}"
    try:
        x, sr = audio.load(path)
    except WavesrError as e:
        loaded, detail = None, str(e)
        if bad_message(e):
            return "bug", f"load: {bad_message(e)}"
    except Exception as e:  # noqa: BLE001
        return "bug", f"load: {type(e).__name__}: {e}"
    else:
        if not (
            isinstance(x, np.ndarray)
            and x.dtype == np.float32
            and x.ndim == 2
            and x.shape[0] >= 1
            and x.shape[1] >= 1
            and np.all(np.isfinite(x))
            and isinstance(sr, int)
            and sr > 0
        ):
            return "bug", f"load: returned {getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')} at {sr!r}"
        loaded, detail = x, f"{x.shape[0]} ch, {x.shape[1]} frames"
    try:
        blocks = list(audiofiles.read_blocks(Path(path)))
    except WavesrError as e:
        if bad_message(e):
            return "bug", f"stream: {bad_message(e)}"
        blocks = None
    except Exception as e:  # noqa: BLE001
        return "bug", f"stream: {type(e).__name__}: {e}"
    if loaded is not None and blocks is not None:
        streamed = np.concatenate(blocks, axis=1) if blocks else np.zeros((loaded.shape[0], 0), np.float32)
        if streamed.shape != loaded.shape or not np.array_equal(streamed, loaded):
            return "bug", f"stream and load disagree: {streamed.shape} vs {loaded.shape}"
    return ("loaded" if loaded is not None else "refused"), detail


def _worker(conn: Any) -> None:
    import resource
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    warnings.simplefilter("ignore")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libmpg123 prints its resync notes on stderr
    while True:
        path = conn.recv()
        if path is None:
            return
        conn.send(check(path))


class Worker:
    """The targets in a child process, restarted after a crash or a hang."""

    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        here = str(Path(__file__).resolve().parent)
        if here not in sys.path:  # the spawned child imports this module by name
            sys.path.insert(0, here)
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()

    def run(self, path: str, timeout: float) -> tuple[str, str]:
        try:
            self.conn.send(path)
            answered = self.conn.poll(timeout)
            if answered:
                return self.conn.recv()
        except (EOFError, OSError):  # the worker died
            answered = True
        if not answered:
            self.proc.kill()
            self.proc.join()
            self._start()
            return "bug", f"hang: no answer in {timeout:.0f} s"
        self.proc.join()
        code = self.proc.exitcode
        self._start()
        return "bug", f"crash: worker exit code {code}"

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


# ---------------------------------------------------------------------------------- the run


def fuzz(
    n_inputs: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    corpus: list[str] | None = None,
    keep: str | os.PathLike | None = None,
    timeout: float = TIMEOUT_S,
) -> dict[str, Any]:
    """Fuzz for ``n_inputs`` inputs or ``seconds`` (whichever ends first); return the figures.

    ``keep``: a folder where every input that showed a bug is saved.
    """
    if n_inputs is None and seconds is None:
        raise ValueError("give n_inputs or seconds")
    rng = np.random.default_rng(seed)
    seeds = seed_files(corpus)
    work = Path(tempfile.mkdtemp(prefix="wavesr-fuzz-"))
    worker = Worker()
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    bugs: list[dict[str, str]] = []
    start = time.monotonic()
    try:
        i = 0
        while (n_inputs is None or i < n_inputs) and (seconds is None or time.monotonic() - start < seconds):
            ext, data, how = make_input(seeds, rng)
            path = work / f"input{i}.{ext}"
            path.write_bytes(data)
            outcome, detail = worker.run(str(path), timeout)
            outcomes[outcome] += 1
            kinds[how] += 1
            if outcome == "bug":
                bugs.append({"input": i, "made": how, "bug": detail})
                if keep is not None:
                    Path(keep).mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, Path(keep) / path.name)
            path.unlink()
            i += 1
    finally:
        worker.close()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "inputs": i,
        "seconds": round(time.monotonic() - start, 1),
        "seed": seed,
        "seed_files": len(seeds),
        "loaded": outcomes["loaded"],
        "refused": outcomes["refused"],
        "bugs": bugs,
        "made": dict(kinds),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, help="stop after N inputs")
    p.add_argument("--seconds", type=float, help="stop after S seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus", nargs="*", default=[], help="more seed files (real recordings, < 2 MB each)")
    p.add_argument("--keep", default="fuzz-bugs", help="folder for inputs that showed a bug")
    p.add_argument(
        "--timeout", type=float, default=TIMEOUT_S, help="seconds before an input counts as a hang"
    )
    args = p.parse_args(argv)
    stats = fuzz(
        args.inputs,
        args.seconds if args.seconds or args.inputs else 60.0,
        args.seed,
        args.corpus,
        args.keep,
        args.timeout,
    )
    print(json.dumps({k: v for k, v in stats.items() if k != "bugs"}, indent=1))
    for bug in stats["bugs"][:50]:
        print(f"BUG input {bug['input']} ({bug['made']}): {bug['bug']}")
    print(
        f"{stats['inputs']} inputs in {stats['seconds']} s: {stats['loaded']} loaded, {stats['refused']} "
        "refused, "
        f"{len(stats['bugs'])} bugs"
    )
    return 1 if stats["bugs"] else 0


if __name__ == "__main__":
    sys.exit(main())
