"""Prepared patch datasets: (low-res, high-res) training pairs cut once, read through memmaps.

Kuleshov et al. (2017) train on fixed-length patches cut from longer recordings ("pairs of high
and low-resolution audio patches of length 6000"; their code used 8192 with stride 4096). This
module cuts a list of corpus items into such pairs once, writes them as flat float32 arrays and
reads them back cheaply with ``np.memmap`` (as nanoGPT does with its token files).

Method
------
For each source file, in the items' order:

1. ``audio.load(path, sr=cfg.sr, mono=True)``: channels averaged, soxr resampling to the target
   (high-resolution) rate.
2. Patches of ``L`` samples every ``stride`` samples, starting at sample 0; the last partial
   patch is dropped and a file shorter than one patch is skipped (and counted). ``L`` is
   ``patch_len`` rounded down to a multiple of the ratio (8192 at r = 6 gives 8190), so that a
   patch has exactly ``L / r`` low-resolution samples.
3. Optionally, patches whose RMS is below ``silence_db`` dBFS are dropped.
4. Each patch is degraded *on its own*: ``lr = audio.degrade(hr, ratio, channel)``.

Degrading per patch (rather than degrading the whole file and slicing, as the original code did)
is a deliberate choice: every stored pair satisfies ``lr == degrade(hr)`` exactly, the same call
that evaluation and inference make, so a dataset can be verified pair by pair and the stride need
not be a multiple of the ratio. The price is the anti-alias filter's start-up at both ends of a
patch (``decimate`` filters forwards and backwards with odd-extension padding), which the
network then sees in training exactly as it is produced at test time (how much that differs
from slicing a whole degraded file: docs/design.md).

Layout on disk
--------------
::

    OUT/
      settings.json   the PrepareConfig, corpus, split, source files (each with where its real
                      content ends at sr, audio.cutoff), skipped files, totals
      hr.f32          float32 little-endian, [N, L]        (raw, no header)
      lr.f32          float32 little-endian, [N, L / r]
      index.csv       patch,file,offset: source number in settings["sources"], first sample at sr

The folder is built in a hidden temporary sibling (``files.staged_folder``) and renamed to ``OUT``
only when complete; one left by a killed run is deleted by the next, and a rerun after an
interrupt gives the same bytes as an uninterrupted run. Worker processes each decode and cut one
file at a time; the main process appends results in file order, so memory stays bounded by a few
files, never by the dataset.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import itertools
import multiprocessing
import operator
import os
import time
from collections import Counter, deque
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .. import __version__, audio, checks
from ..errors import WavesrError
from ..files import inside, read_json, staged_folder, write_json
from .corpus import SPLITS, Corpus, Item

FORMAT = "wavesr-patches"
FORMAT_VERSION = 1
SETTINGS = "settings.json"
HR_FILE, LR_FILE, INDEX_FILE = "hr.f32", "lr.f32", "index.csv"
DTYPE = np.dtype("<f4")  # float32, little-endian, whatever the machine


@dataclass
class PrepareConfig:
    """How a split is cut into patches (all of it is written to ``settings.json``)."""

    sr: int = audio.SAMPLE_RATE  # high-resolution rate (Hz); files are resampled to it
    ratio: int = 4  # low-resolution rate = sr / ratio
    channel: str = "decimate"  # the audio.degrade channel: decimate | subsample | sinc | telephone
    patch_len: int = 8192  # high-res samples per patch (rounded down to a multiple of ratio)
    stride: int | None = None  # hop between patch starts; None = patch_len // 2
    silence_db: float | None = None  # drop patches with RMS below this (dBFS), e.g. -60
    max_files: int | None = None  # use at most this many files (a random subset, by seed)
    seed: int = 0  # only picks the max_files subset
    workers: int = 2  # decoding processes; 0 or 1 = in this process

    def __post_init__(self) -> None:
        if self.sr <= 0:
            raise WavesrError(f"sample rate must be positive, got {self.sr}")
        if int(self.ratio) != self.ratio or self.ratio < 2:
            raise WavesrError(f"ratio must be an integer >= 2, got {self.ratio}")
        if self.channel not in audio.DEGRADE_CHANNELS:
            raise WavesrError(
                f"unknown channel {self.channel!r} (choose from {', '.join(audio.DEGRADE_CHANNELS)})"
            )
        if self.patch_len < self.ratio:
            raise WavesrError(f"patch length {self.patch_len} is shorter than the ratio {self.ratio}")
        if self.stride is not None and self.stride < 1:
            raise WavesrError(f"stride must be >= 1, got {self.stride}")
        if self.max_files is not None and self.max_files < 1:
            raise WavesrError(f"max_files must be >= 1, got {self.max_files}")
        if self.workers < 0:
            raise WavesrError(f"workers must be >= 0, got {self.workers}")

    @property
    def length(self) -> int:
        """Effective high-res patch length: ``patch_len`` rounded down to a multiple of ``ratio``."""
        return self.patch_len - self.patch_len % self.ratio

    @property
    def hop(self) -> int:
        """Effective stride."""
        return self.stride if self.stride is not None else self.patch_len // 2


# ------------------------------------------------------------------------------ pure helpers


def cut_patches(x: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``x`` (``[time]``) into full patches ``[n, length]`` starting at ``0, stride, 2 stride, ...``.

    Returns the patches (a copy) and their offsets ``[n]``; ``n = 0`` when ``x`` is shorter than
    one patch. The last partial patch is dropped.
    """
    n = (x.size - length) // stride + 1 if x.size >= length else 0
    offsets = np.arange(n, dtype=np.int64) * stride
    if n == 0:
        return np.zeros((0, length), dtype=x.dtype), offsets
    windows = np.lib.stride_tricks.sliding_window_view(x, length)[::stride]
    return np.ascontiguousarray(windows[:n]), offsets


def rms_db(patches: np.ndarray) -> np.ndarray:
    """RMS level of each row in dBFS (full scale = 1.0): ``10 log10(mean(x^2))``, -200 for silence.

    ``[n, time]`` -> ``[n]``.
    """
    ms = np.mean(np.square(patches, dtype=np.float64), axis=-1)
    return 10 * np.log10(np.maximum(ms, 1e-20))


def _process_file(job: tuple[str, PrepareConfig]) -> dict[str, Any]:
    """Decode, cut, filter and degrade one file (runs in a worker process)."""
    path, cfg = job
    try:
        x, _ = audio.load(path, sr=cfg.sr, mono=True)
    except WavesrError as e:
        return {"skip": "unreadable", "detail": str(e)}
    duration = x.size / cfg.sr
    hr, offsets = cut_patches(x, cfg.length, cfg.hop)
    if len(hr) == 0:
        return {"skip": "shorter than one patch", "detail": f"{duration:.3f} s", "duration": duration}
    silent = 0
    if cfg.silence_db is not None:
        keep = rms_db(hr) >= cfg.silence_db
        silent = int(np.count_nonzero(~keep))
        hr, offsets = hr[keep], offsets[keep]
    lr = np.zeros((len(hr), cfg.length // cfg.ratio), dtype=np.float32)
    for i, patch in enumerate(hr):  # one patch at a time: lr == degrade(hr) exactly
        lr[i] = audio.degrade(patch, cfg.ratio, cfg.channel)
    out = {"hr": hr, "lr": lr, "offsets": offsets, "duration": duration, "silent": silent}
    # where the file's real content ends, and the rate it was stored at (its format's Nyquist limit)
    return {**out, "cutoff": audio.cutoff(x, cfg.sr), "source_sr": audio.info(path).samplerate}


def _results(paths: list[str], cfg: PrepareConfig) -> Generator[dict[str, Any], None, None]:
    """``_process_file`` over ``paths``, in order; with workers, at most 2 x workers files in flight."""
    jobs = iter([(p, cfg) for p in paths])
    workers = min(cfg.workers, len(paths))
    if workers <= 1:
        yield from map(_process_file, jobs)
        return
    with multiprocessing.get_context().Pool(workers) as pool:
        pending = deque(
            pool.apply_async(_process_file, (job,)) for job in itertools.islice(jobs, 2 * workers)
        )
        while pending:
            result = pending.popleft().get()
            job = next(jobs, None)
            if job is not None:
                pending.append(pool.apply_async(_process_file, (job,)))
            yield result
        pool.close()  # every file done: the workers end on their own, not by terminate's signal
        pool.join()


# ---------------------------------------------------------------------------------- writing


def check_output(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """Refuse an existing output (unless ``force``) and anything ``force`` must not delete."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise WavesrError(f"{out}: exists and is not a folder")
    if out.exists() and not force:
        raise WavesrError(f"{out}: already exists (use --force to overwrite)")
    if out.is_dir() and any(out.iterdir()) and not (out / SETTINGS).is_file():
        raise WavesrError(f"{out}: is a non-empty folder but not a prepared dataset; refusing to replace it")
    return out


def _select(items: list[Item], cfg: PrepareConfig) -> list[Item]:
    """At most ``max_files`` items: a seeded random subset, kept in the original order."""
    if cfg.max_files is None or cfg.max_files >= len(items):
        return list(items)
    keep = np.random.default_rng(cfg.seed).choice(len(items), size=cfg.max_files, replace=False)
    return [items[i] for i in sorted(keep)]


def prepare(
    items: list[Item],
    out_dir: str | os.PathLike,
    cfg: PrepareConfig,
    corpus_info: dict[str, Any] | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Cut ``items`` into (low-res, high-res) patch pairs and write a prepared dataset at ``out_dir``.

    Parameters
    ----------
    items : corpus items (usually one split); their ``path`` must be readable.
    out_dir : the dataset folder to create (see the module docstring for its layout).
    cfg : patch settings.
    corpus_info : where the items came from (name, root, spec, split, ...), stored in the settings.
    force : replace an existing prepared dataset at ``out_dir``.
    progress : show a tqdm bar over files.

    Returns
    -------
    ``out_dir`` as a Path. Raises :class:`WavesrError` when no file gives a patch.
    """
    out = check_output(out_dir, force)
    corpus_info = dict(corpus_info or {})
    selected = _select(items, cfg)
    if not selected:
        raise WavesrError(f"{out}: no files to prepare")
    try:
        with staged_folder(out, replace=force) as partial:
            _build(items, selected, partial, out, cfg, corpus_info, progress)
    except OSError as e:  # a full disk, a folder that cannot be written: nothing half-built is kept
        blocker = next((q for q in out.parents if q.exists() and not q.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker else e.strerror or str(e)
        raise WavesrError(f"{out}: cannot write the dataset ({reason}); nothing was kept") from None
    return out


def _build(
    items: list[Item],
    selected: list[Item],
    partial: Path,
    out: Path,
    cfg: PrepareConfig,
    corpus_info: dict[str, Any],
    progress: bool,
) -> None:
    """:func:`prepare`'s work: write the dataset into the empty folder ``partial``."""

    sources: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    n = silent = 0
    bar = tqdm(total=len(selected), unit="file", desc=f"prepare {out.name}", disable=not progress)
    results = _results([it.path for it in selected], cfg)
    with (
        open(partial / HR_FILE, "wb") as f_hr,
        open(partial / LR_FILE, "wb") as f_lr,
        open(partial / INDEX_FILE, "w", newline="") as f_index,
        bar,
        contextlib.closing(results),
    ):  # stops workers
        index = csv.writer(f_index)
        index.writerow(["patch", "file", "offset"])
        for item, res in zip(selected, results, strict=True):  # strict: runs _results to its end
            bar.update()
            if "skip" in res:
                skipped.append({"path": item.path, "reason": res["skip"], "detail": res["detail"]})
                continue
            file_no = len(sources)
            sources.append(
                {
                    "path": item.path,
                    "sha256": item.sha256,
                    "group": item.group,
                    "split": item.split,
                    "duration": round(res["duration"], 4),
                    "patches": len(res["hr"]),
                    "silent": res["silent"],
                    "cutoff": round(res["cutoff"], 1),
                    "source_sr": int(res["source_sr"]),
                }
            )
            f_hr.write(np.ascontiguousarray(res["hr"], dtype=DTYPE).tobytes())
            f_lr.write(np.ascontiguousarray(res["lr"], dtype=DTYPE).tobytes())
            index.writerows([n + i, file_no, int(off)] for i, off in enumerate(res["offsets"]))
            n += len(res["hr"])
            silent += res["silent"]
            bar.set_postfix(patches=n)

    if n == 0:
        why = [f"{k}: {v}" for k, v in Counter(s["reason"] for s in skipped).items()]
        if silent:
            why.append(f"{silent} patches below {cfg.silence_db} dBFS")
        raise WavesrError(f"{out}: no patches from {len(selected)} files ({', '.join(why)})")

    splits = sorted({it.split for it in selected})
    settings = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wavesr_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": dataclasses.asdict(cfg),
        "sr": cfg.sr,
        "ratio": cfg.ratio,
        "channel": cfg.channel,
        "patch_len": cfg.length,
        "lr_len": cfg.length // cfg.ratio,
        "stride": cfg.hop,
        "pairing": "per patch: lr == audio.degrade(hr, ratio, channel)",
        "loading": "audio.load(path, sr, mono=True): channels averaged, soxr resampling",
        "dtype": "float32, little-endian",
        "files": {
            "hr": {"name": HR_FILE, "shape": [n, cfg.length]},
            "lr": {"name": LR_FILE, "shape": [n, cfg.length // cfg.ratio]},
            "index": {"name": INDEX_FILE, "columns": ["patch", "file", "offset"]},
        },
        "corpus": corpus_info,
        "split": corpus_info.get("split", splits[0] if len(splits) == 1 else splits),
        "sources": sources,
        "skipped": dict(Counter(s["reason"] for s in skipped)),
        "skipped_files": skipped,
        "totals": {
            "files_given": len(items),
            "files": len(selected),
            "files_used": len(sources),
            "files_skipped": len(skipped),
            "patches": n,
            "silent_patches": silent,
            "patch_seconds": round(n * cfg.length / cfg.sr, 2),
            "source_seconds": round(sum(s["duration"] for s in sources), 2),
            "hours": round(n * cfg.length / cfg.sr / 3600, 4),
        },
    }
    write_json(partial / SETTINGS, settings)


def prepare_corpus(
    corpus: Corpus,
    split: str,
    out_dir: str | os.PathLike,
    cfg: PrepareConfig,
    force: bool = False,
    spec: str | None = None,
    progress: bool = True,
) -> Path:
    """:func:`prepare` on one split of ``corpus``; ``spec`` is how the corpus was named (CLI argument)."""
    if split not in SPLITS:
        raise WavesrError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    items = corpus.split(split)
    if not items:
        raise WavesrError(f"{corpus.name}: split {split!r} has no files")
    info = {
        "name": corpus.name,
        "root": corpus.root,
        "spec": spec,
        "split": split,
        "description": corpus.description,
        "settings": corpus.settings,
    }
    return prepare(items, out_dir, cfg, corpus_info=info, force=force, progress=progress)


# ---------------------------------------------------------------------------------- reading


def load_settings(folder: str | os.PathLike) -> dict[str, Any]:
    """Read a prepared dataset's ``settings.json`` and check that its raw files are complete."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WavesrError(f"{folder}: no such folder")
    path = folder / SETTINGS
    if not path.is_file():
        hint = " (an interrupted build: run `wavesr prepare` again)" if ".partial-" in folder.name else ""
        raise WavesrError(f"{folder}: not a prepared patch dataset (no {SETTINGS}){hint}")
    s = read_json(path)
    if not isinstance(s, dict) or s.get("format") != FORMAT:
        raise WavesrError(f"{path}: not the settings of a prepared patch dataset")
    if s.get("format_version") != FORMAT_VERSION:
        raise WavesrError(
            f"{path}: format version {s.get('format_version')}, this wavesr reads {FORMAT_VERSION}"
        )
    _check_settings(s, folder, path)
    for key in ("hr", "lr"):
        name, shape = s["files"][key]["name"], s["files"][key]["shape"]
        raw = folder / name
        expected = int(np.prod(shape)) * DTYPE.itemsize
        actual = raw.stat().st_size if raw.is_file() else None
        if actual != expected:
            raise WavesrError(
                f"{raw}: incomplete dataset ({'missing' if actual is None else f'{actual} bytes'}, "
                f"settings say {expected} for {shape[0]} x {shape[1]} float32)"
            )
    return s


def _check_settings(s: dict[str, Any], folder: Path, path: Path) -> None:
    """The entries a dataset is read by: present, of their types, consistent (a hand-edited or damaged
    ``settings.json`` is one line), and file names that stay inside the dataset's folder."""

    def damaged(what: str) -> WavesrError:
        return WavesrError(f"{path}: damaged or edited settings ({what})")

    for key in ("sr", "ratio", "patch_len", "lr_len"):
        checks.number(s.get(key), f"{path}: {key}", 1, integer=True)
    if s["lr_len"] * s["ratio"] != s["patch_len"]:
        raise damaged(f"lr_len {s['lr_len']} x ratio {s['ratio']} is not patch_len {s['patch_len']}")
    totals, files, sources = s.get("totals"), s.get("files"), s.get("sources")
    if not isinstance(totals, dict) or not isinstance(files, dict) or not isinstance(sources, list):
        raise damaged("'totals', 'files' and 'sources' must be present")
    n = checks.number(totals.get("patches"), f"{path}: totals.patches", 1, integer=True)
    for key, width in (("hr", s["patch_len"]), ("lr", s["lr_len"]), ("index", None)):
        entry = files.get(key)
        if not isinstance(entry, dict):
            raise damaged(f"no files.{key}")
        inside(folder, entry.get("name"), f"files.{key}.name")
        if width is not None and entry.get("shape") != [n, width]:
            raise damaged(
                f"files.{key}.shape {entry.get('shape')!r}, expected [{n}, {width}] from the totals"
            )
    if not all(isinstance(src, dict) and isinstance(src.get("path"), str) for src in sources):
        raise damaged("every entry of 'sources' needs a 'path'")
    s.setdefault("channel", s.pop("method", "decimate"))  # datasets prepared before the name was "channel"
    if isinstance(s.get("config"), dict) and "method" in s["config"]:
        s["config"]["channel"] = s["config"].pop("method")
    if not isinstance(s["channel"], str) or not isinstance(s.get("skipped_files", []), list):
        raise damaged("'channel' must be a name and 'skipped_files' a list")


class PatchDataset(torch.utils.data.Dataset):
    """A prepared dataset as (low-res, high-res) pairs of float32 tensors.

    ``dataset[i]`` is ``(lr [1, L / r], hr [1, L])``. The raw files are memory-mapped on first
    access (in whichever process makes it), so the dataset pickles cheaply into DataLoader
    workers and reads only the patches asked for.

    Attributes
    ----------
    settings : the dataset's ``settings.json``.
    sr, ratio, patch_len, lr_len : high-res rate, ratio, patch lengths (high-res, low-res).
    channel : the ``audio.degrade`` channel its low-resolution patches came through.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.settings = load_settings(self.folder)
        self.sr = int(self.settings["sr"])
        self.ratio = int(self.settings["ratio"])
        self.patch_len = int(self.settings["patch_len"])
        self.lr_len = int(self.settings["lr_len"])
        self.channel = str(self.settings["channel"])  # the audio.degrade channel its inputs came through
        self._n = int(self.settings["totals"]["patches"])
        self._hr: np.memmap | None = None
        self._lr: np.memmap | None = None
        self._index: np.ndarray | None = None

    def __len__(self) -> int:
        return self._n

    def _open(self) -> None:
        files = self.settings["files"]
        self._hr = np.memmap(
            self.folder / files["hr"]["name"], dtype=DTYPE, mode="r", shape=(self._n, self.patch_len)
        )
        self._lr = np.memmap(
            self.folder / files["lr"]["name"], dtype=DTYPE, mode="r", shape=(self._n, self.lr_len)
        )

    def _position(self, i: int) -> int:
        i = operator.index(i)
        j = i + self._n if i < 0 else i
        if not 0 <= j < self._n:
            raise IndexError(f"patch {i} out of range for {self._n} patches")
        return j

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = self._position(i)
        if self._hr is None or self._lr is None:
            self._open()
        assert self._hr is not None and self._lr is not None
        lr = torch.from_numpy(np.array(self._lr[i], dtype=np.float32))
        hr = torch.from_numpy(np.array(self._hr[i], dtype=np.float32))
        return lr[None], hr[None]

    def source(self, i: int) -> tuple[str, int]:
        """The source file of patch ``i`` and the sample (at ``sr``) where the patch starts."""
        file_no, offset = self._file_of(i)
        return self.settings["sources"][file_no]["path"], offset

    def cutoff(self, i: int) -> float:
        """Where the real content of patch ``i``'s source file ends (Hz, :func:`wavesr.audio.cutoff`
        measured at ``sr`` when the dataset was prepared)."""
        value = self.settings["sources"][self._file_of(i)[0]].get("cutoff")
        if not isinstance(value, (int, float)):
            raise WavesrError(
                f"{self.folder}: prepared without each file's measured cutoff (an older wavesr); "
                "prepare it again"
            )
        return float(value)

    def format_top(self, i: int) -> float:
        """The highest frequency patch ``i``'s source file could hold at the rate it was stored at
        (Hz: half of that rate, at most ``sr / 2``)."""
        stored = self.settings["sources"][self._file_of(i)[0]].get("source_sr")
        if not isinstance(stored, int) or stored <= 0:
            raise WavesrError(
                f"{self.folder}: prepared without each file's own rate (an older wavesr); prepare it again"
            )
        return min(float(stored), float(self.sr)) / 2

    def _file_of(self, i: int) -> tuple[int, int]:
        i = self._position(i)
        if self._index is None:
            name = self.settings["files"]["index"]["name"]
            try:
                self._index = np.loadtxt(
                    self.folder / name, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2
                )
            except (ValueError, OSError) as e:
                raise WavesrError(
                    f"{self.folder / name}: damaged index ({' '.join(str(e).split())[:120]})"
                ) from None
        if len(self._index) != self._n or self._index.shape[1] != 3:
            raise WavesrError(f"{self.folder}: damaged index ({len(self._index)} rows for {self._n} patches)")
        _, file_no, offset = self._index[i]
        if not 0 <= file_no < len(self.settings["sources"]):
            raise WavesrError(f"{self.folder}: damaged index (patch {i} names source {file_no})")
        return int(file_no), int(offset)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_hr"] = state["_lr"] = None  # reopened lazily in the receiving process
        return state

    def __repr__(self) -> str:
        return (
            f"PatchDataset({str(self.folder)!r}: {self._n} patches of {self.patch_len} at {self.sr} Hz, "
            f"ratio {self.ratio}, {self.channel})"
        )
