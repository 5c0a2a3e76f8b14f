"""Fetch Debian packages into wavesr's cache, without installing anything.

The default corpora are built from audio that ships inside packages (recorded speech and music
in Debian packages, a piano soundfont). Nothing here changes the system:

* Debian: ``apt-get download PKG`` fetches the ``.deb`` into a scratch folder and
  ``dpkg-deb -x PKG.deb DIR`` unpacks its files under ``cache_dir()/packages/deb/PKG/``, where
  they keep their installed paths (``DIR/usr/share/...``). A package that is already installed
  is read in place (its root is ``/``). Only ``apt-get update`` touches the system, and it runs
  only when the package lists are missing and we are root; otherwise the error says what to run.

Each unpacked package is written to a temporary sibling folder and renamed into place, so an
interrupted fetch never looks complete. Every failure raises :class:`WavesrError` naming the
command to run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import WavesrError
from .corpus import cache_dir

APT_LISTS = Path("/var/lib/apt/lists")
INFO_FILE = ".wavesr-package.json"  # written beside an unpacked package: name, version, origin


@dataclass(frozen=True)
class Package:
    """An unpacked package: its files live under ``root`` at their installed paths."""

    name: str
    version: str
    root: Path  # "/" for an installed Debian package
    origin: str  # "installed" | "apt-get download"

    def path(self, installed_path: str) -> Path:
        """Where a file the package installs at ``installed_path`` (absolute) lies here."""
        return self.root / installed_path.lstrip("/")


def packages_dir() -> Path:
    """``cache_dir()/packages``: unpacked Debian packages (``deb/``)."""
    return cache_dir() / "packages"


def require_tool(tool: str, hint: str) -> str:
    """Full path of the program ``tool``; raise a WavesrError with ``hint`` when it is missing."""
    found = shutil.which(tool)
    if found is None:
        raise WavesrError(f"{tool} not found: {hint}")
    return found


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _last_error(stderr: str) -> str:
    """The most telling line of a tool's stderr (its last ``E:`` line, else its last line)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("E:")]
    return (errors or lines or ["no message"])[-1]


# ----------------------------------------------------------------------------------- Debian


def installed_version(package: str) -> str | None:
    """The version of ``package`` if dpkg says it is installed, else None."""
    if shutil.which("dpkg-query") is None:
        return None
    out = _run(["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", package])
    status, _, version = out.stdout.strip().partition(" ")
    return version if out.returncode == 0 and status == "installed" else None


def _apt_lists_present() -> bool:
    return APT_LISTS.is_dir() and any("_Packages" in p.name for p in APT_LISTS.iterdir())


def _ensure_apt_lists(package: str) -> None:
    """Run ``apt-get update`` when the package lists are missing and we are root."""
    if _apt_lists_present():
        return
    if os.geteuid() != 0:
        raise WavesrError(
            f"{package}: this machine has no apt package lists; run `sudo apt-get update` once, then retry"
        )
    print("wavesr: no apt package lists yet, running `apt-get update`", file=sys.stderr)
    out = _run(["apt-get", "update"])
    if out.returncode != 0 or not _apt_lists_present():
        raise WavesrError(
            f"{package}: `apt-get update` failed ({_last_error(out.stderr)}); "
            "check access to the Debian mirror"
        )


def fetch_deb(package: str, use_installed: bool = True) -> Package:
    """Unpack the Debian package ``package`` into the cache (once) and return where its files are.

    Parameters
    ----------
    package : Debian package name, e.g. ``"gcin-voice"``.
    use_installed : read an installed package in place (root ``/``) instead of fetching it.
    """
    if use_installed and (version := installed_version(package)):
        return Package(package, version, Path("/"), "installed")
    dest = packages_dir() / "deb" / package
    if (dest / INFO_FILE).is_file():
        info = json.loads((dest / INFO_FILE).read_text())
        return Package(package, info["version"], dest, info["origin"])
    hint = f"on Debian or Ubuntu, `sudo apt-get install {package}` also works"
    require_tool("apt-get", f"{package} is a Debian package; {hint}")
    require_tool("dpkg-deb", f"{package} is a Debian package; {hint}")
    _ensure_apt_lists(package)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{package}.", dir=dest.parent) as scratch:
        tmp = Path(scratch)
        out = _run(["apt-get", "download", package], cwd=tmp)
        debs = sorted(tmp.glob("*.deb"))
        if out.returncode != 0 or not debs:
            reason = _last_error(out.stderr)
            if "Unable to locate package" in reason or "has no installation candidate" in reason:
                raise WavesrError(
                    f"{package}: not in this machine's apt package lists ({reason}); "
                    "run `sudo apt-get update`, or add Debian's main archive to the sources"
                )
            raise WavesrError(
                f"{package}: `apt-get download {package}` failed ({reason}); check access "
                f"to the Debian mirror, or install it with `sudo apt-get install {package}`"
            )
        version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).stdout.strip()
        unpack_deb(debs[0], tmp / "root")
        (tmp / "root" / INFO_FILE).write_text(
            json.dumps({"name": package, "version": version, "origin": "apt-get download"}) + "\n"
        )
        _install_folder(tmp / "root", dest)
    return Package(package, version, dest, "apt-get download")


def unpack_deb(deb: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """``dpkg-deb -x DEB DEST``: the package's files under ``dest`` at their installed paths."""
    dest = Path(dest)
    out = _run(["dpkg-deb", "-x", str(deb), str(dest)])
    if out.returncode != 0:
        raise WavesrError(f"{deb}: cannot unpack ({_last_error(out.stderr)})")
    return dest


def _install_folder(src: Path, dest: Path) -> None:
    """Rename the finished folder ``src`` onto ``dest``; keep ``dest`` if another process won."""
    try:
        os.rename(src, dest)
    except OSError:
        if not (dest / INFO_FILE).is_file():
            raise WavesrError(f"{dest}: cannot write the package cache here") from None
