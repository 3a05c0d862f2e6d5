"""The `--log_level` flag every long-running command shares (help layout and flag grammar: `looc_hub._flags`)."""

from __future__ import annotations

import argparse

__all__ = ["LOG_LEVELS", "add_log_level_flag"]

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_log_level_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log_level",
        default="info",
        choices=LOG_LEVELS,
        help="least severe messages shown: info shows progress (the kNN monitor, epochs, files written), warning "
        "only problems",
    )
