"""Corpora: lists of audio files with their split, group and provenance.

A :class:`Corpus` is what every reader returns (VCTK, the Beethoven piano set, MagnaTagATune,
any folder, and the default corpora built from Debian packages). It is saved as a JSON
manifest; item paths are stored relative to the manifest's folder when they lie under it, so a
cached corpus can be moved. Splits are ``train``, ``val`` and ``test``; ``group`` is the unit
a split must not cut through (a speaker, a voice, a piece, a track).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..errors import WavesrError
from ..files import read_json, sha256_file, write_json  # noqa: F401 (sha256_file: public here too)

T = TypeVar("T")

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"


def cache_dir() -> Path:
    """The user cache folder: ``$WAVESR_CACHE``, else ``$XDG_CACHE_HOME/wavesr``, else ``~/.cache/wavesr``."""
    if os.environ.get("WAVESR_CACHE"):
        return Path(os.environ["WAVESR_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "wavesr"


@dataclass
class Item:
    """One audio file of a corpus."""

    path: str  # absolute, or relative to the manifest's folder once saved
    split: str  # "train" | "val" | "test"
    group: str  # speaker / voice / piece / track: splits never cut through a group
    duration: float = 0.0  # seconds, 0 when not measured
    sr: int = 0
    channels: int = 0
    sha256: str = ""  # of the file's bytes, "" when not computed
    source: str = ""  # package or data set the file came from
    licence: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # language, bandwidth, ...


@dataclass
class Corpus:
    """A named list of items; ``root`` is the folder the items were read from."""

    name: str
    root: str
    items: list[Item]
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # how it was built (reader, seed, ...)

    def split(self, name: str) -> list[Item]:
        if name not in SPLITS:
            raise WavesrError(f"unknown split {name!r} (choose from {', '.join(SPLITS)})")
        return [it for it in self.items if it.split == name]

    def groups(self, split: str | None = None) -> list[str]:
        return sorted({it.group for it in self.items if split is None or it.split == split})

    def summary(self) -> str:
        """A few lines: files, hours and groups per split."""
        lines = [
            f"{self.name}: {len(self.items)} files, {sum(i.duration for i in self.items) / 3600:.2f} h"
            f" ({self.root})"
        ]
        for s in SPLITS:
            items = self.split(s)
            if items:
                hours = sum(i.duration for i in items) / 3600
                lines.append(
                    f"  {s:5s}: {len(items):6d} files {hours:7.2f} h  {len(self.groups(s)):4d} groups"
                )
        return "\n".join(lines)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the manifest (JSON) atomically; paths under its folder become relative."""
        path = Path(path)
        base = path.parent.resolve()
        items = []
        for it in self.items:
            p = Path(it.path)
            if p.is_absolute() and p.resolve().is_relative_to(base):
                p = p.resolve().relative_to(base)
            items.append(dataclasses.replace(it, path=str(p)))
        write_json(
            path,
            {
                "name": self.name,
                "root": self.root,
                "description": self.description,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "settings": self.settings,
                "items": items,
            },
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Corpus:
        """Read a manifest written by :meth:`save`; relative item paths become absolute."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST
        data = read_json(path)
        try:
            items = [Item(**it) for it in data["items"]]
            for it in items:
                if not Path(it.path).is_absolute():
                    it.path = str(path.parent.resolve() / it.path)
            return cls(
                name=data["name"],
                root=data["root"],
                items=items,
                description=data.get("description", ""),
                settings=data.get("settings", {}),
            )
        except (KeyError, TypeError) as e:
            raise WavesrError(f"{path}: not a wavesr corpus manifest ({e})") from None


def evenly_spaced(items: Sequence[T], n: int | None) -> list[T]:
    """At most ``n`` of ``items``, evenly spaced from the first to the last (all of them when ``n`` is
    ``None`` or not smaller): over a sorted list of files this covers every voice, not the first few."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round()]


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` alone (sha1), for splits that never change."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) / 16**12


def hash_split(key: str, val: float = 0.05, test: float = 0.05) -> str:
    """``train`` / ``val`` / ``test`` by a stable hash of ``key``."""
    u = stable_fraction(key)
    return "test" if u < test else "val" if u < test + val else "train"


def fraction_split(n: int, val: float, test: float) -> list[str]:
    """Splits for ``n`` ordered things: the first ``1 - val - test`` train, then val, then test."""
    n_test = round(n * test)
    n_val = round(n * val)
    n_train = n - n_val - n_test
    return ["train"] * n_train + ["val"] * n_val + ["test"] * n_test


def describe_items(items: Iterable[Item]) -> dict[str, Any]:
    """Totals for a list of items (files, seconds, groups)."""
    items = list(items)
    return {
        "files": len(items),
        "seconds": round(sum(i.duration for i in items), 2),
        "groups": len({i.group for i in items}),
    }
