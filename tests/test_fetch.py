"""Fetching packages: real dpkg-deb / apt-get / npm on packages made in the test, clear errors."""

import shutil
import subprocess
from pathlib import Path

import pytest

from wavesr.data import fetch
from wavesr.data.fetch import fetch_deb, require_tool, unpack_deb
from wavesr.errors import WavesrError

needs_dpkg = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (not Debian)"
)
needs_apt = pytest.mark.skipif(
    shutil.which("apt-get") is None or not fetch._apt_lists_present(),
    reason="apt-get or its package lists missing (not Debian, or no `apt-get update`)",
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WAVESR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_deb(tmp_path: Path, name: str = "wavesr-test-data") -> Path:
    """A real .deb holding /usr/share/NAME/a.txt, built with dpkg-deb."""
    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.2-3\nArchitecture: all\n"
        "Maintainer: t <t@example.org>\nDescription: test\n"
    )
    (tree / f"usr/share/{name}").mkdir(parents=True)
    (tree / f"usr/share/{name}/a.txt").write_text("hello\n")
    deb = tmp_path / f"{name}.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True, capture_output=True
    )
    return deb


@needs_dpkg
def test_unpack_deb_keeps_installed_paths(tmp_path):
    root = unpack_deb(make_deb(tmp_path), tmp_path / "out")
    assert (root / "usr/share/wavesr-test-data/a.txt").read_text() == "hello\n"


@needs_dpkg
def test_unpack_deb_rejects_a_broken_file(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"not a deb")
    with pytest.raises(WavesrError, match="bad.deb: cannot unpack"):
        unpack_deb(bad, tmp_path / "out")


def test_require_tool_names_the_fix():
    assert Path(require_tool("sh", "unused")).name == "sh"
    with pytest.raises(WavesrError, match="no-such-tool-xyz not found: run `apt-get install x`"):
        require_tool("no-such-tool-xyz", "run `apt-get install x`")


@needs_dpkg
def test_installed_package_is_read_in_place():
    pkg = fetch_deb("dpkg")
    assert pkg.root == Path("/") and pkg.origin == "installed" and pkg.version
    assert pkg.path("/usr/bin/dpkg").is_file()


@needs_apt
def test_unknown_package_says_so(cache):
    with pytest.raises(WavesrError, match="no-such-package-wavesr: not in this machine's apt package lists"):
        fetch_deb("no-such-package-wavesr")
    assert not (cache / "packages/deb/no-such-package-wavesr").exists()


def test_missing_apt_lists_tell_a_non_root_user_what_to_run(tmp_path, monkeypatch):
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("apt-get / dpkg-deb not installed")
    monkeypatch.setattr(fetch, "APT_LISTS", tmp_path / "empty-lists")
    monkeypatch.setattr(fetch.os, "geteuid", lambda: 1000)
    with pytest.raises(WavesrError, match=r"no apt package lists; run `sudo apt-get update`"):
        fetch_deb("gcin-voice", use_installed=False)


def test_no_apt_get_explains_what_the_package_is(monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: None)
    with pytest.raises(WavesrError, match="apt-get not found: gcin-voice is a Debian package"):
        fetch_deb("gcin-voice")


@needs_apt
def test_fetch_deb_downloads_unpacks_and_caches(cache):
    """A real `apt-get download` of a 50 kB package (skipped when the mirror cannot be reached)."""
    try:
        pkg = fetch_deb("hello", use_installed=False)
    except WavesrError as e:
        if "apt-get download hello` failed" in str(e):
            pytest.skip(f"no access to the Debian mirror: {e}")
        raise
    assert pkg.root == cache / "packages/deb/hello" and pkg.origin == "apt-get download"
    assert pkg.path("/usr/bin/hello").is_file() and pkg.version
    assert not list((cache / "packages/deb").glob(".hello.*"))  # no scratch folder left
    assert fetch_deb("hello", use_installed=False) == pkg  # second call: from the cache
