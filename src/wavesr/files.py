"""Atomic file writes and small JSON helpers.

Every artefact wavesr writes (audio, checkpoints, manifests, settings) goes through
:func:`atomic_path`: the data are written to a temporary file in the destination folder and
renamed over the destination only once complete, so a crash or a full disk never leaves a
half-written file, and an existing file is never replaced without ``force``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import WavesrError


def check_writable(path: str | os.PathLike, force: bool = False) -> Path:
    """Raise a WavesrError if ``path`` exists (and not ``force``) or its folder is not writable."""
    path = Path(path)
    if path.exists() and not force:
        raise WavesrError(f"{path}: already exists (use --force to overwrite)")
    if path.is_dir():
        raise WavesrError(f"{path}: is a folder, not a file")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file keeps the destination's suffix so that libraries which infer the
    format from the name (soundfile, torch) behave as for the final name.
    """
    path = check_writable(path, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker else (e.strerror or str(e))
        raise WavesrError(f"{path}: cannot write here ({reason})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        raise WavesrError(f"{path}: write failed ({e.strerror or e})") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths and numpy scalars to plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj


def write_json(path: str | os.PathLike, obj: Any, force: bool = True) -> None:
    """Write ``obj`` (dataclasses allowed) as indented JSON, atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise WavesrError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WavesrError(f"{path}: not valid JSON ({e})") from None
