"""Issue #18, stored files: content checksums, old format versions, stored dtypes and killed writes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from ge2conn.data.checksums import array_checksum, verify_file
from ge2conn.data.cli import main
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.utils.atomic import OutputError, atomic_output, remove_stale_temporaries

REPO = Path(__file__).parents[2]


@pytest.fixture
def copy(synthetic_path: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic dataset (format version 2, with checksums)."""
    path = tmp_path / "copy.h5"
    path.write_bytes(synthetic_path.read_bytes())
    return path


def flip_stored_centroid(path: Path) -> tuple[float, float]:
    """Change one byte of the first centroid's x in the raw file; return (before, after)."""
    with h5py.File(path, "r") as file:
        dataset = file["regions/centroid"]
        offset = dataset.id.get_offset()  # contiguous, uncompressed: the bytes sit at this file offset
        before = float(dataset[0, 0])
    data = bytearray(path.read_bytes())
    data[offset + 7] ^= 0x01  # the float64's top byte (little-endian): sign and exponent bits
    path.write_bytes(bytes(data))
    with h5py.File(path, "r") as file:
        return before, float(file["regions/centroid"][0, 0])


def test_checksum_is_an_independent_sha256_of_dtype_shape_and_bytes() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = hashlib.sha256(b"<f4(2, 3)" + values.astype("<f4").tobytes()).hexdigest()
    assert array_checksum(values) == expected
    assert array_checksum(values.astype(">f4")) == expected  # byte order does not matter
    assert array_checksum(np.asfortranarray(values)) == expected  # nor memory layout
    assert array_checksum(np.array(["a", "b"])) == hashlib.sha256(b"str(2,)a\x00b\x00").hexdigest()


def test_flipped_byte_in_a_centroid_is_caught_on_load_info_and_verify(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = flip_stored_centroid(copy)
    assert before != after and np.isfinite(after)  # a plausible-looking wrong number
    with pytest.raises(DatasetError) as error:
        BrainDataset.load(copy)
    assert error.value.field == "regions/centroid" and "do not match the stored checksum" in str(error.value)
    assert main(["info", str(copy)]) == 1
    assert "regions/centroid" in capsys.readouterr().out
    assert main(["info", str(copy), "--verify"]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("error:") and "regions/centroid" in text and "rebuild" in text


def test_verify_reports_every_array(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = verify_file(copy)
    assert report.format_version == 2 and report.unchecked == ()
    assert {"expression", "regions/centroid", "connectivity/population", "connectivity/individual"} <= set(
        report.verified
    )
    assert main(["info", str(copy), "--verify"]) == 0
    assert f"verified: all {len(report.verified)} arrays match their sha256" in capsys.readouterr().out


def make_version_1(path: Path) -> None:
    names: list[str] = []
    with h5py.File(path, "r+") as file:
        file.attrs["format_version"] = 1
        file.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
        for name in names:
            del file[name].attrs["sha256"]


def test_version_1_file_without_checksums_still_loads_with_a_note(
    copy: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_version_1(copy)
    with pytest.warns(UserWarning, match="format version 1 stores no content checksums"):
        old = BrainDataset.load(copy)
    np.testing.assert_array_equal(old.connectivity, BrainDataset.load(synthetic_path).connectivity)
    assert verify_file(copy).verified == ()
    assert main(["info", str(copy), "--verify"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "warning:" in text and "none: format version 1 predates content checksums" in text


def test_expression_stored_as_integers_is_refused(copy: Path) -> None:
    with h5py.File(copy, "r+") as file:
        values = np.rint(file["expression"][()] * 100).astype(np.int32)
        del file["expression"]
        stored = file.create_dataset("expression", data=values)
        stored.attrs["sha256"] = array_checksum(values)  # a consistent file, only the dtype is wrong
    with pytest.raises(DatasetError) as error:
        BrainDataset.load(copy)
    assert error.value.field == "expression" and "stored as int32, expected floating-point" in str(
        error.value
    )


KILLED_WRITER = """
import sys, time
from ge2conn.utils.atomic import atomic_output
with atomic_output(sys.argv[1]) as temporary:
    temporary.write_bytes(b"half a file")
    print("writing", flush=True)
    time.sleep(120)
"""


def killed_write(destination: Path) -> Path:
    """Start a real writer, SIGKILL it mid-write, and return the temporary file it left behind."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(destination)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    leftovers = list(destination.parent.glob(f".{destination.name}.*.tmp"))
    assert len(leftovers) == 1 and not destination.exists()
    return leftovers[0]


def test_temporary_file_of_a_killed_import_is_removed_by_the_next_write(
    user_files: dict[str, Path], tmp_path: Path
) -> None:
    from tests.support.user_inputs import import_arguments

    destination = tmp_path / "home" / "datasets" / "mine.h5"
    leftover = killed_write(destination)
    assert main(import_arguments(user_files)) == 0
    assert not leftover.exists() and destination.exists()
    assert list(destination.parent.glob(".*")) == []


def test_temporary_file_of_a_killed_nulls_generate_is_removed_by_the_next_one(
    tmp_path: Path, synthetic_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ge2conn.nulls.cli import main as nulls_main

    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "datasets").mkdir(parents=True)
    dataset = tmp_path / "home" / "datasets" / "synthetic.h5"
    dataset.write_bytes(synthetic_path.read_bytes())
    destination = dataset.with_name("synthetic.nulls.h5")
    leftover = killed_write(destination)
    assert nulls_main(["generate", "synthetic", "--n", "8", "--top", "2"]) == 0
    assert not leftover.exists() and destination.exists()
    assert list(destination.parent.glob(".*")) == []


def test_temporary_file_of_a_live_writer_is_kept(tmp_path: Path) -> None:
    destination = tmp_path / "out.bin"
    with atomic_output(destination) as mine:
        mine.write_bytes(b"in progress")
        assert remove_stale_temporaries(destination) == [] and mine.exists()  # this process is alive
        with atomic_output(destination) as second:  # a second writer to the same file keeps the first one's
            second.write_bytes(b"second")
        assert mine.exists()
    assert destination.read_bytes() == b"in progress"


def test_legacy_temporary_without_writer_id_is_removed_once_old(tmp_path: Path) -> None:
    destination = tmp_path / "dk82.h5"
    fresh, old = tmp_path / ".dk82.h5.abc123.tmp", tmp_path / ".dk82.h5.def456.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    assert remove_stale_temporaries(destination) == [old]
    assert fresh.exists()


def test_unwritable_destination_raises_an_output_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as error, atomic_output(blocker / "sub" / "out.h5"):
        pass
    assert str(error.value).startswith(f"{blocker / 'sub' / 'out.h5'}: cannot write the output")
    assert isinstance(error.value, OSError)  # callers catching OSError still catch it
