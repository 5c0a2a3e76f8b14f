"""Atomic file writes, what wavesr may replace, and small JSON helpers.

Every artefact wavesr writes (audio, checkpoints, manifests, settings) goes through
:func:`atomic_path`: the data are written to a temporary file in the destination folder and
moved onto the destination only once complete, so a crash or a full disk never leaves a
half-written file. An existing file is never replaced without ``force``, and ``force`` replaces
only a file wavesr wrote (:func:`made_by_wavesr`); folders are built the same way
(:func:`staged_folder`). Temporary names are hidden, unique and short, so that they never clash
with a user's file and never exceed a file system's name limit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import WavesrError

MADE_BY = "wavesr"  # what wavesr writes into the files it makes (audio tags, figure metadata)


def software_tag() -> str:
    """The tag wavesr writes into its audio and figures (see :func:`made_by_wavesr`)."""
    from . import __version__

    return f"{MADE_BY} {__version__}"


AUDIO_TAGGED = (".wav", ".flac")  # outputs whose tag libsndfile reads back
_HEAD = 1 << 16  # bytes read to recognise a figure wavesr made


def made_by_wavesr(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` is one that wavesr itself wrote, and so one ``--force`` may replace.

    wavesr marks what it writes: WAV and FLAC files carry ``software = "wavesr ..."``, figures
    ``Software`` (PNG) or ``Creator`` (SVG, PDF) metadata, JSON files a ``wavesr_version`` or
    ``format: "wavesr-..."`` entry, checkpoints their ``wavesr-model`` format entry, and any
    other file (an exported network) a ``<file>.json`` beside it that is wavesr's.
    """
    path = Path(path)
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    try:
        if suffix in AUDIO_TAGGED:
            import soundfile as sf

            with sf.SoundFile(os.fsencode(path)) as f:
                return (f.software or "").startswith(MADE_BY)
        if suffix in (".png", ".svg"):
            with open(path, "rb") as f:
                head = f.read(_HEAD)
            return (b"Software\x00" + MADE_BY.encode() if suffix == ".png" else MADE_BY.encode()) in head
        if suffix == ".pdf":
            with open(path, "rb") as f:
                f.seek(max(0, path.stat().st_size - _HEAD))
                return f"/Creator ({MADE_BY}".encode() in f.read()
        if suffix == ".json":
            data = json.loads(path.read_text())
            return isinstance(data, dict) and (
                "wavesr_version" in data or str(data.get("format", "")).startswith(f"{MADE_BY}-")
            )
        if suffix in (".pt", ".pth", ".ckpt") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                pickles = [n for n in z.namelist() if n.endswith("/data.pkl")]
                if pickles and f"{MADE_BY}-model".encode() in z.read(pickles[0])[:_HEAD]:
                    return True
    except Exception:  # unreadable, damaged or foreign: not one wavesr can vouch for
        return False
    sidecar = path.with_name(path.name + ".json")
    return suffix != ".json" and made_by_wavesr(sidecar)


def check_writable(path: str | os.PathLike, force: bool = False) -> Path:
    """Raise a WavesrError unless ``path`` may be written: it does not exist, or ``force`` is given
    and wavesr made it (:func:`made_by_wavesr`); a folder is never replaced by a file."""
    path = Path(path)
    if path.is_dir():
        raise WavesrError(f"{path}: is a folder, not a file")
    if os.path.lexists(path):
        if not force:
            raise WavesrError(f"{path}: already exists (use --force to overwrite)")
        if not made_by_wavesr(path):
            raise WavesrError(
                f"{path}: already exists and was not written by wavesr; --force only replaces "
                "wavesr's own outputs (move or delete it yourself)"
            )
    return path


def temp_prefix(name: str) -> str:
    """The start of a hidden temporary name beside ``name``, short enough for any file system."""
    return f".{name[:TEMP_STEM]}."


TEMP_STEM = 48  # characters of a name kept in its temporary sibling's name (file names end at 255 bytes)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False, ours: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    The temporary file keeps the destination's suffix so that libraries which infer the
    format from the name (soundfile, torch) behave as for the final name. Without ``force`` the
    destination must not exist, and the move never replaces a file that appeared meanwhile
    (another process's): it is a hard link, which fails on an existing name. ``force`` replaces
    only a file wavesr made (:func:`check_writable`); ``ours`` replaces whatever is there, for the
    files of a folder wavesr made and manages (a run's checkpoints, an evaluation's tables).
    """
    path = Path(path) if ours else check_writable(path, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=temp_prefix(path.stem), suffix=f".tmp{path.suffix}", dir=path.parent
        )
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
        if ours or force:
            os.replace(tmp_path, path)
        else:
            _publish_new(tmp_path, path)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        raise WavesrError(f"{path}: write failed ({e.strerror or e})") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _publish_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path``, failing if ``path`` exists by now (no check-then-rename window)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise WavesrError(
            f"{path}: already exists (written by another process meanwhile; use --force to overwrite)"
        ) from None
    except OSError:  # a file system without hard links (FAT, some network mounts): rename
        if os.path.lexists(path):
            raise WavesrError(f"{path}: already exists (use --force to overwrite)") from None
        os.rename(tmp, path)
        return
    tmp.unlink()


@contextlib.contextmanager
def staged_folder(final: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """A hidden temporary sibling folder of ``final``, moved onto ``final`` when the block succeeds.

    The temporary name is unique and hidden (``.NAME.partial-PID-XXXX``), so no folder of the
    user's is ever taken for it; such folders left by a killed process are removed by the next
    build of the same ``final``. ``replace``: an existing ``final`` is swapped out and deleted
    (the caller has checked that it is wavesr's); otherwise an existing ``final`` is an error.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{temp_prefix(final.name)}partial-"
    for stale in final.parent.glob(f"{glob.escape(prefix)}*"):
        pid = stale.name[len(prefix) :].split("-")[0]
        if stale.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=final.parent))
    try:
        yield tmp
        if os.path.lexists(final):
            if not replace:
                raise WavesrError(f"{final}: already exists (use --force to overwrite)")
            old = Path(tempfile.mkdtemp(prefix=f"{temp_prefix(final.name)}old-", dir=final.parent))
            os.rename(final, old / final.name)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def inside(folder: str | os.PathLike, name: Any, what: str) -> Path:
    """``folder / name`` for a file name read from a file of ``folder`` (a registry, a dataset's
    settings), refused unless it is a plain name that stays inside ``folder``."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise WavesrError(
            f"{folder}: {what} {name!r} is not a file name inside the folder (damaged or edited?)"
        )
    return Path(folder) / name


def check_input_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a regular file to read, else a WavesrError saying what it is."""
    path = Path(path)
    if path.is_file():
        return path
    if not os.path.lexists(path):
        raise WavesrError(f"{path}: no such file")
    if path.is_dir():
        raise WavesrError(f"{path}: is a folder, not a file")
    kind = (
        "a FIFO (named pipe)"
        if path.is_fifo()
        else "a device"
        if path.is_char_device() or path.is_block_device()
        else "a socket"
        if path.is_socket()
        else "a broken link"
        if path.is_symlink()
        else "not a regular file"
    )
    raise WavesrError(f"{path}: is {kind}, not a regular file; wavesr reads audio files")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes (hex), read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


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


def write_json(path: str | os.PathLike, obj: Any, ours: bool = True) -> None:
    """Write ``obj`` (dataclasses allowed) as indented JSON, atomically; ``ours``: see :func:`atomic_path`
    (the default: wavesr's JSON files live in folders it manages)."""
    with atomic_path(path, ours=ours) as tmp:
        tmp.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise WavesrError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WavesrError(f"{path}: not valid JSON ({e})") from None
