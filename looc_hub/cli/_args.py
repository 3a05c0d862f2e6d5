"""What every command's `--help` shares: defaults shown, the module docstring kept as written, a `--log_level`."""

from __future__ import annotations

import argparse

__all__ = ["LOG_LEVELS", "HelpFormatter", "add_log_level_flag"]

LOG_LEVELS = ("debug", "info", "warning", "error")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Appends "(default: X)" to optional flags whose help does not already say what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.required or not action.option_strings or "default" in text or action.default is None:
            return text
        return super()._get_help_string(action)


def add_log_level_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log_level",
        default="info",
        choices=LOG_LEVELS,
        help="least severe messages shown: info shows progress (the kNN monitor, epochs, files written), warning "
        "only problems",
    )
