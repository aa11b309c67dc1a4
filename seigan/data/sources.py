"""The Debian packages the embedded data set is built from, fetched and verified offline-safely.

`apt-get download` (no root needed once package lists exist) at a pinned version, checked against a pinned
SHA-256, unpacked with `dpkg-deb -x` into a cache folder outside git.
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
}

STAMPS_DIR = "usr/share/tuxpaint/stamps/animals"

# Real background photos only (vector art, and photos with a salient object such as Kite or LadyBird, are
# left out). One fixed file per photo, so the build never depends on directory order.
BACKGROUNDS = [
    ("plasma-workspace-wallpapers", f"usr/share/wallpapers/{name}/contents/images/{size}.jpg")
    for name, size in [("BytheWater", "1920x1080"), ("ColdRipple", "1920x1080"), ("DarkestHour", "1920x1080"),
                       ("EveningGlow", "1920x1080"), ("FallenLeaf", "1920x1080"), ("Grey", "1920x1080"),
                       ("OneStandsOut", "1920x1080"), ("Path", "1920x1080"), ("Volna", "5120x2880"),
                       ("summer_1am", "1920x1080")]
] + [
    ("mate-backgrounds", f"usr/share/backgrounds/mate/nature/{name}.jpg")
    for name in ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "RainDrops", "Storm",
                 "Wood", "YellowFlower"]
]


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
    root = cache_dir() / "unpacked" / f"{pkg.name}_{pkg.version.replace(':', '%3a')}"
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
    res = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
    if res.returncode != 0:
        raise SourceError(f"{deb}: dpkg-deb -x failed: {res.stderr.strip()}")
    (tmp / ".complete").write_text(pkg.sha256 + "\n")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)


def unpack_all() -> dict:
    return {name: unpack(pkg) for name, pkg in PACKAGES.items()}
