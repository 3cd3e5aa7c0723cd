"""The README's "Using ge2conn with abagen / nilearn / neuromaps" commands parse with the real CLIs.

Their behaviour is tested in ``test_formats.py`` (import, export, nulls without FC, neuromaps' compare_images)
and ``tests/data/test_targets.py``; this guards the README against option names drifting from the parsers.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from ge2conn.data.cli import make_parser as data_parser
from ge2conn.experiments.cli import build_parser as experiment_parser
from ge2conn.nulls.cli import build_parser as nulls_parser

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using ge2conn with abagen / nilearn / neuromaps"


def section_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands, pending, in_bash = [], "", False
    for raw in body.splitlines():
        if raw.startswith("```"):
            in_bash = raw.strip() == "```bash"
            continue
        if not in_bash:
            continue
        line = pending + raw.split("  #", 1)[0].strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith("ge2conn "):
            commands.append(shlex.split(line)[1:])
    return commands


def test_readme_section_has_examples_of_every_input_and_output() -> None:
    flat = [" ".join(command) for command in section_commands()]
    for needle in ("--atlas-info", "--parcellation", "--surfaces", ".npy --fc-transform", "xcp_d/",
                   "nulls export", "--map", "nulls generate --expression"):
        assert any(needle in command for command in flat), f"no README example with {needle!r}"


@pytest.mark.parametrize("command", section_commands(), ids=lambda command: " ".join(command[:2]))
def test_readme_commands_parse(command: list[str], monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    if command[0] == "data":
        data_parser().parse_args(command[1:])
    elif command[0] == "nulls":
        nulls_parser().parse_args(command[1:])
    elif command[0] == "experiment":
        experiment_parser().parse_args(command[1:])
    else:  # LightningCLI: parse the whole configuration without building anything
        from ge2conn.main import main

        monkeypatch.chdir(README.parent)
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--print_config"])
        assert exit_info.value.code in (0, None), capsys.readouterr().err
