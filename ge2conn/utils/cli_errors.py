"""Short command-line errors for the LightningCLI verbs: a misspelled option gets its closest valid spelling.

jsonargparse answers an unknown option with the whole usage text (about 95 lines for ``fit``) before the one
line that matters. :class:`FriendlyArgumentParser` prints only that line, the closest valid option
(:func:`ge2conn.utils.suggest.closest`) and where to find the full list.
"""

from __future__ import annotations

import re
import sys
from typing import NoReturn

from lightning.pytorch.cli import LightningArgumentParser

from ge2conn.utils.suggest import closest

SUBCOMMANDS = ("fit", "validate", "test", "predict")
_OPTION = re.compile(r"--[A-Za-z_][\w.\-]*")


def option_names(parser: LightningArgumentParser) -> list[str]:
    """Every long option a parser (and its nested groups) accepts, e.g. ``--trainer.max_epochs``."""
    return sorted(
        {name for action in parser._actions for name in action.option_strings if name.startswith("--")}
    )


def suggestions(message: str, options: list[str]) -> list[str]:
    """``'--wrong' → did you mean '--right'?`` for every unknown option named in an error message.

    Args:
        message: The parser's error message (e.g. ``unrecognized arguments: --trainer.max_epocs 3``).
        options: The valid option names.

    Returns:
        One line per unknown option that has a close valid spelling.
    """
    lines = []
    for wrong in dict.fromkeys(_OPTION.findall(message)):
        if wrong in options:
            continue
        # Compare within the same group first (``--trainer.*``), then against everything.
        group = wrong.rsplit(".", 1)[0] + "." if "." in wrong else "--"
        in_group = [name for name in options if name.startswith(group)]
        match = closest(wrong, in_group) or closest(wrong, options)
        if match:
            lines.append(f"{wrong}: did you mean {match}?")
    return lines


class FriendlyArgumentParser(LightningArgumentParser):
    """A LightningArgumentParser whose errors are one line plus a suggestion, not the whole usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        """Print the error, the closest valid option and the help command; exit with status 2."""
        if not self.exit_on_error:
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        words = str(parser.prog).split()
        verb = next((word for word in reversed(words) if word in SUBCOMMANDS), "")
        lines = [f"error: {message}", *suggestions(message, option_names(parser))]
        lines.append(f"See `ge2conn {verb + ' ' if verb else ''}--help` for every option.")
        sys.stderr.write("\n".join(lines) + "\n")
        self.exit(2)
