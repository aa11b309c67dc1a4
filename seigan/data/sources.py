"""The Debian packages the embedded data set is built from, fetched and verified offline-safely.

`apt-get download` (no root needed once package lists exist) at a pinned version, checked against a pinned
SHA-256, unpacked with `dpkg-deb -x` into a cache folder outside git. A package of which only a folder is used
(`members`: tar patterns) has just that folder extracted, so a 1.3 GB game data package costs one pass over its
archive and a few hundred MB of disk. Which photos of them are used is seigan.data.photos' reviewed list.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    members: tuple = ()  # tar patterns of the only paths extracted (empty: the whole package)

    @property
    def deb_glob(self) -> str:
        return f"{self.name}_*_all.deb"


PACKAGES = {
    "tuxpaint-stamps-default": Package(
        "tuxpaint-stamps-default", "2022.06.04-1",
        "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"),
    "plasma-workspace-wallpapers": Package(
        "plasma-workspace-wallpapers", "4:5.27.5-2",
        "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b"),
    "mate-backgrounds": Package(
        "mate-backgrounds", "1.26.0-1",
        "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04"),
    "tuxpaint-data": Package(
        "tuxpaint-data", "1:0.9.28-sdl2-1",
        "f5d0de8f9a70d2efc1241d19f26168cb8bf279f1b77abd3631e7a1a55c40e5e5", ("./usr/share/tuxpaint/templates/*",)),
    "lxqt-themes": Package(
        "lxqt-themes", "1.2.0-1",
        "d518df36b515b09d36cb00b12645dd8ce170bb82bb0966297741905ce3edc8e1", ("./usr/share/lxqt/wallpapers/*",)),
    "lomiri-wallpapers-16.04": Package(
        "lomiri-wallpapers-16.04", "20.04.0-2",
        "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab"),
    "ufoai-textures": Package(
        "ufoai-textures", "2.5-2",
        "51c9c6a778249a3fa432c81c8c30ac5675ae5a1e675a33b0ce04545753d3218c"),
    "flightgear-data-base": Package(
        "flightgear-data-base", "1:2020.3.16+dfsg-1",
        "f37bdab5ebc52c0dc622f9feead4301410a97bf6ec47bd595d3253c7681f0332",
        ("./usr/share/games/flightgear/Textures/Terrain/*",)),
}

STAMPS_DIR = "usr/share/tuxpaint/stamps/animals"

class SourceError(RuntimeError):
    """A package that cannot be had or does not match its pin: the message says which and what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("SEIGAN_CACHE", Path.home() / ".cache" / "seigan-repro"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _apt_download(pkg: Package, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["apt-get", "download", f"{pkg.name}={pkg.version}"], cwd=folder,
                          capture_output=True, text=True)


def fetch(pkg: Package, folder: Path | None = None) -> Path:
    """The verified .deb of `pkg`, downloaded into the cache if needed."""
    folder = folder or cache_dir() / "debs"
    folder.mkdir(parents=True, exist_ok=True)
    for deb in sorted(folder.glob(pkg.deb_glob)):
        if sha256(deb) == pkg.sha256:
            return deb
    if shutil.which("apt-get") is None:
        raise SourceError(f"{pkg.name}={pkg.version}: apt-get not found; put the .deb in {folder}")
    res = _apt_download(pkg, folder)
    if res.returncode != 0 and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)  # fresh machines lack lists
        res = _apt_download(pkg, folder)
    if res.returncode != 0:
        why = (res.stderr.strip().splitlines() or ["no message"])[-1]
        hint = "" if os.geteuid() == 0 else " (as root, run `apt-get update` first)"
        raise SourceError(f"{pkg.name}={pkg.version}: cannot be downloaded: {why}{hint}")
    for deb in sorted(folder.glob(pkg.deb_glob)):
        digest = sha256(deb)
        if digest == pkg.sha256:
            return deb
    raise SourceError(f"{pkg.name}={pkg.version}: downloaded file does not match the pinned SHA-256 "
                      f"{pkg.sha256[:12]}... (got {digest[:12]}...)")


def unpack(pkg: Package) -> Path:
    """`dpkg-deb -x` the verified package into the cache (once); returns the unpacked root."""
    part = "" if not pkg.members else "_part-" + hashlib.sha256("\n".join(pkg.members).encode()).hexdigest()[:8]
    root = cache_dir() / "unpacked" / f"{pkg.name}_{pkg.version.replace(':', '%3a')}{part}"
    if (root / ".complete").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):  # two processes (a build and a test) may ask for the same package at once
        if not (root / ".complete").is_file():
            _unpack(pkg, root)
    return root


def _unpack(pkg: Package, root: Path) -> None:
    deb = fetch(pkg)
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if pkg.members:  # only the listed paths: dpkg-deb streams the archive, tar keeps what matches
        res = subprocess.run(f"dpkg-deb --fsys-tarfile '{deb}' | tar -x -C '{tmp}' --wildcards "
                             + " ".join(f"'{m}'" for m in pkg.members), shell=True, capture_output=True, text=True)
    else:
        res = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
    if res.returncode != 0:
        raise SourceError(f"{deb}: unpacking failed: {res.stderr.strip()}")
    (tmp / ".complete").write_text(pkg.sha256 + "\n")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)


def unpack_all(names=None) -> dict:
    """The unpacked roots of `names` (default: every package of the embedded set)."""
    return {name: unpack(PACKAGES[name]) for name in (names or PACKAGES)}
