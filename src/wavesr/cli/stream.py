"""``wavesr stream``: live super-resolution from standard input to standard output (:mod:`wavesr.live`).

Raw PCM (``--rate``, ``--channels``, ``--format``) or a WAV stream comes in; the upsampled audio goes
out in the same sample format, as raw PCM or (``--wav``) a WAV stream whose header declares the
largest length (what ffmpeg and sox write to a pipe). Every block read is processed and written at
once; the end of the input flushes the rest and exits 0. A reader that goes away (SIGPIPE) ends it
quietly with status 141, as ``yes | head`` does; Ctrl-C (SIGINT) with 130. Messages (the model and
the latency) go to standard error, only with ``-v`` or when it is a terminal; a computation slower
than real time is said there always (:class:`Pace`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import struct
import sys
import time
from typing import Any

from ..constants import CONTENTS, PASSES
from ..errors import WavesrError
from .options import RATE, RATIO, Number, device_type

FORMATS = {"s16le": (2, 1), "s24le": (3, 1), "s32le": (4, 1), "f32le": (4, 3)}  # bytes, WAV format tag
WAV_TAGS = {(16, 1): "s16le", (24, 1): "s24le", (32, 1): "s32le", (32, 3): "f32le"}  # (bits, tag) -> format
EXTENSIBLE = 0xFFFE
READ_MS = 10.0  # at most this much input is read at a time (what is there is processed at once)
SIGPIPE_STATUS = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away
PACE_SECONDS = 2.0  # audio computed before wavesr stream judges whether it keeps up with real time


def add_stream(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        help="upsample live audio from standard input to standard output",
        description="Read audio from standard input as it arrives and write the upsampled audio to "
        "standard output, at a fixed latency (about 40 ms by default): raw PCM at --rate, or a WAV "
        "stream. E.g. ffmpeg -i call.wav -f s16le -ar 8000 -ac 1 - | wavesr stream --rate 8000 | "
        "ffplay -f s16le -ar 48000 -ch_layout mono -. The output has the input's sample format.",
    )
    p.add_argument("--rate", type=RATE, metavar="HZ", help="input sample rate (raw PCM; a WAV stream says)")
    p.add_argument(
        "--channels", type=Number(1, 64, integer=True), metavar="N", help="input channels (default 1)"
    )
    p.add_argument("--format", choices=tuple(FORMATS), help="sample format in and out (default s16le)")
    p.add_argument("--wav", action="store_true", help="write a WAV stream (header first) instead of raw PCM")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", metavar="NAME|PATH", help="a shipped model, a .pt checkpoint or a run folder")
    g.add_argument(
        "--ratio", type=RATIO, metavar="R", help="the paper's shipped model for this ratio (16 kHz out)"
    )
    p.add_argument(
        "--content",
        choices=CONTENTS,
        help="which shipped model: the full-band speech (default) or music one, one that streams "
        "frame by frame first; or with --ratio the paper's",
    )
    p.add_argument("--target-sr", type=RATE, metavar="HZ", help="output rate (default 48000, or the model's)")
    p.add_argument(
        "--cutoff",
        type=Number(0, 500_000),
        metavar="HZ",
        help="a full-band model: where the input's content ends (default: its Nyquist frequency)",
    )
    for flag, low, high, text in (
        ("--block-ms", 1, 1000, "the network runs once per block (default 10)"),
        ("--lookahead-ms", 0, 10_000, "future input each block waits for (default: what 40 ms leave)"),
        ("--context-ms", 0, 10_000, "past input each block sees (default: the receptive field, at most 60)"),
    ):
        p.add_argument(flag, type=Number(low, high), metavar="MS", help=text)
    p.add_argument(
        "--exact",
        action="store_true",
        help="the output of wavesr upsample (soxr resampling, the receptive field as context), at a "
        "latency that is larger and not constant",
    )
    p.add_argument("--passes", type=int, choices=PASSES, help="self-ensemble passes (default: the model's)")
    p.add_argument(
        "--strength", type=Number(0, 1), metavar="S", help="a full-band model's generated band x S"
    )
    p.add_argument("--no-limiter", dest="limiter", action="store_false", help="no soft limiter")
    p.add_argument("--device", default="cpu", type=device_type, help="cpu (default), auto, cuda, cuda:N")
    p.add_argument(
        "--threads",
        type=Number(1, 256, integer=True),
        default=1,
        metavar="N",
        help="CPU threads (default 1: a block is too small to share, and threads fight other programs)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="say the model and the latency on stderr")
    p.set_defaults(func=_cmd_stream)


def _cmd_stream(args: argparse.Namespace) -> int:
    if sys.stdout.isatty():
        raise WavesrError("standard output is a terminal: pipe it into a player (ffplay, aplay) or a file")
    fd = sys.stdin.fileno()
    head, rate, channels, fmt = _read_header(fd, args)

    import torch

    from .. import live, pretrained

    torch.set_num_threads(int(args.threads))  # before the model is loaded: its ONNX session takes the count
    name = args.model or pretrained.default_model(args.content or "speech", rate, args.ratio, live=True)
    model = pretrained.load_model(name, device=args.device)
    options: dict[str, Any] = {
        "block": (args.block_ms or live.BLOCK_SECONDS * 1000) / 1000,
        "lookahead": None if args.lookahead_ms is None else args.lookahead_ms / 1000,
        "context": None if args.context_ms is None else args.context_ms / 1000,
    }
    stream = live.LiveStream(
        model,
        rate,
        channels,
        target_sr=args.target_sr,
        band=args.cutoff,
        passes=args.passes,
        strength=args.strength,
        limiter=args.limiter,
        device=args.device,
        exact=args.exact,
        **options,
    )
    if args.verbose or sys.stderr.isatty():
        print(f"wavesr stream: {stream.describe(name)}", file=sys.stderr)
    out = sys.stdout.buffer
    try:
        if args.wav:
            _write(out, wav_header(stream.sr_out, channels, fmt))
        frame = FORMATS[fmt][0] * channels
        step = max(1, round(READ_MS / 1000 * rate)) * frame
        pending, data = b"", head or os.read(fd, step)
        pace = Pace(rate, name)
        while data:
            pending += data
            whole = len(pending) // frame * frame
            if whole:
                block = decode(pending[:whole], fmt, channels)
                with pace.timing(block.shape[-1]):
                    y = stream.process(block)
                _write(out, encode(y, fmt))
                pending = pending[whole:]
            data = os.read(fd, step)
        if pending:
            print(
                f"wavesr stream: ignored {len(pending)} trailing bytes (not a whole frame)", file=sys.stderr
            )
        _write(out, encode(stream.flush(), fmt))
    except BrokenPipeError:  # the reader went away: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
        return SIGPIPE_STATUS
    return 0


class Pace:
    """Says once, on standard error, when the computation is slower than real time: a stretch of
    :data:`PACE_SECONDS` of audio took longer to compute than to play (the time spent waiting for
    input is not counted; the first stretch, which starts the network, is not judged), so that live
    audio would fall behind."""

    def __init__(self, rate: float, name: str) -> None:
        self.rate, self.name = rate, name
        self.samples, self.busy, self.stretches, self.said = 0, 0.0, 0, False

    @contextlib.contextmanager
    def timing(self, samples: int) -> Any:
        start = time.perf_counter()
        yield
        self.busy += time.perf_counter() - start
        self.samples += samples
        seconds = self.samples / self.rate
        if seconds < PACE_SECONDS:
            return
        if self.stretches and self.busy > seconds and not self.said:
            self.said = True
            print(
                f"wavesr stream: slower than real time ({seconds:.1f} s of audio took {self.busy:.1f} s "
                f"to compute with {self.name}): live audio would fall behind; a live model "
                "(speech-48k-live, music-48k-live), fewer --passes or a longer --block-ms is faster",
                file=sys.stderr,
            )
        self.samples, self.busy, self.stretches = 0, 0.0, self.stretches + 1


def _write(out: Any, data: bytes) -> None:
    if data:
        out.write(data)
        out.flush()


def _read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = os.read(fd, n - len(data))
        if not more:
            break
        data += more
    return data


def _read_header(fd: int, args: argparse.Namespace) -> tuple[bytes, int, int, str]:
    """``(bytes already read that are audio, rate, channels, format)``: a WAV stream's header when the
    input starts with one (flags that contradict it are refused), else the flags."""
    head = _read_exactly(fd, 12)
    if len(head) == 12 and head[:4] == b"RIFF" and head[8:] == b"WAVE":
        rate, channels, fmt = _wav_format(fd)
        for flag, value, have in (("--rate", args.rate, rate), ("--channels", args.channels, channels)):
            if value is not None and value != have:
                raise WavesrError(f"{flag} {value} contradicts the WAV stream's {have}")
        if args.format is not None and args.format != fmt:
            raise WavesrError(f"--format {args.format} contradicts the WAV stream's {fmt}")
        return b"", rate, channels, fmt
    if args.rate is None:
        raise WavesrError("raw PCM input needs --rate HZ (or send a WAV stream)")
    return head, int(args.rate), int(args.channels or 1), args.format or "s16le"


def _wav_format(fd: int) -> tuple[int, int, str]:
    """Read a WAV stream's chunks up to ``data``; its rate, channels and sample format."""
    found = None
    while True:
        chunk = _read_exactly(fd, 8)
        if len(chunk) < 8:
            raise WavesrError("the WAV stream ends before its data chunk")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            if found is None:
                raise WavesrError("the WAV stream has no fmt chunk before its data")
            return found
        body = _read_exactly(fd, size + (size & 1)) if size < 1 << 20 else b""
        if kind == b"fmt ":
            if len(body) < 16:
                raise WavesrError("the WAV stream's fmt chunk is damaged")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            if (bits, tag) not in WAV_TAGS or channels < 1 or rate < 1:
                raise WavesrError(
                    f"the WAV stream holds {bits}-bit samples of format tag {tag}; wavesr stream reads "
                    "16, 24 or 32-bit PCM and 32-bit float"
                )
            found = (rate, channels, WAV_TAGS[bits, tag])


def wav_header(rate: int, channels: int, fmt: str) -> bytes:
    """A WAV header declaring the largest length (a stream whose end is not known yet)."""
    width, tag = FORMATS[fmt]
    align = width * channels
    fmt_chunk = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, 8 * width)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt_chunk
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


def decode(data: bytes, fmt: str, channels: int) -> Any:
    """Interleaved samples -> float32 ``[channels, frames]`` (full scale 1.0)."""
    import numpy as np

    if fmt == "f32le":
        x = np.frombuffer(data, "<f4").astype(np.float32)
    elif fmt == "s24le":
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        bits = 8 * FORMATS[fmt][0]
        x = (np.frombuffer(data, f"<i{bits // 8}") / float(1 << (bits - 1))).astype(np.float32)
    return x.reshape(-1, channels).T


def encode(x: Any, fmt: str) -> bytes:
    """float32 ``[channels, frames]`` -> interleaved samples (integer formats clip at full scale)."""
    import numpy as np

    frames = np.ascontiguousarray(np.atleast_2d(x).T)
    if fmt == "f32le":
        return frames.astype("<f4").tobytes()
    bits = 8 * FORMATS[fmt][0]
    scale = float(1 << (bits - 1))
    v = np.clip(np.round(frames.astype(np.float64) * scale), -scale, scale - 1).astype(np.int64)
    if fmt == "s24le":
        v = v & 0xFFFFFF
        return np.stack([v & 0xFF, (v >> 8) & 0xFF, v >> 16], axis=-1).astype(np.uint8).tobytes()
    return v.astype(f"<i{bits // 8}").tobytes()
