"""One flag grammar for every looc-hub command, on jsonargparse (issue 18).

Every command spells a value the same way, as its recipes and the Accelerate / Hugging Face docs write it:

- a boolean alone means true (`--overwrite`), or takes `true` / `false` (`--overwrite false`), as recipes write it;
- a list is either YAML, as recipes write it (`--crop_scale '[0.5, 1.0]'`), or space-separated values
  (`--crop_scale 0.5 1.0`, `--protocols knn linear_probe`);
- every other value is read as YAML and checked against the field's type: numbers, `null`, mappings
  (`--model_overrides '{image_size: 32}'`); a field typed as text keeps what was typed (`--mixed_precision no`,
  Accelerate's value, stays "no" although YAML reads no as false);
- a value outside a fixed set is refused naming the flag and the valid choices.

Why jsonargparse (ours; simple-parsing and tyro were prototyped against the same spellings): it is argparse
underneath, so `--help` keeps every flag's help, default and choices and the existing parsers keep working; it
parses values as YAML against type hints (lists, mappings, Optional, numbers) with errors naming the flag, which
is the grammar the recipes already use; it is what Lightning's CLI is built on, and it is maintained and typed.
simple-parsing reads `--flag`, `--flag true` and space-separated lists, but not a YAML list (`'[0.5, 1.0]'`) or a
mapping; tyro spells booleans `--flag` / `--no-flag` only and has no YAML values or files.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from jsonargparse import ArgumentParser, DefaultHelpFormatter

__all__ = ["CommandParser", "HelpFormatter", "add_dataclass_flags", "add_flag", "command_parser", "show_value"]


class HelpFormatter(DefaultHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """jsonargparse's help (each flag's type and default), the module docstring kept as written, and no second
    default where the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.required or not action.option_strings or "default" in text or action.default is None:
            return text
        return super()._get_help_string(action)


class CommandParser(ArgumentParser):
    """jsonargparse's parser, whose parsed list flags read one YAML list (`'[0.5, 1.0]'`) or `null` as that value,
    as separate values (`0.5 1.0`) read."""

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        namespace = super().parse_args(*args, **kwargs)
        for name, value in vars(namespace).items():
            if isinstance(value, list) and len(value) == 1 and (value[0] is None or isinstance(value[0], list)):
                setattr(namespace, name, value[0])
        return namespace


def command_parser(prog: str, description: str | None) -> CommandParser:
    """A command's parser: its name, its module docstring, and the shared help layout; a flag is spelled in full
    (`--epoch` is an unknown flag, not `--epochs`)."""
    return CommandParser(prog=prog, description=description, formatter_class=HelpFormatter, allow_abbrev=False)


def add_flag(
    parser: argparse._ActionsContainer,
    name: str,
    hint: Any,
    help: str,
    *,
    default: Any = argparse.SUPPRESS,
    choices: Sequence[Any] | None = None,
    required: bool = False,
) -> argparse.Action:
    """`--name`, parsed by the grammar above from the type hint a config field declares.

    `choices` of a single text value are argparse's own (`invalid choice: ... (choose from ...)`); those of a
    list's elements or of an optional value (`null` among them) are shown in the help and checked by the config
    the values build, which names the field and the valid choices."""
    element, optional = _unwrap_optional(hint)
    item = _list_item(element)
    flag: dict[str, Any] = {"help": help, "default": default, "required": required}
    if element is bool:
        flag.update(type=hint, nargs="?", const=True)
    elif item is not None:  # one YAML list or separate values; `CommandParser` makes both a flat list
        flag.update(type=list[item] | item | None if optional else list[item] | item, nargs="+")
    elif choices is not None and element is str and not optional:
        flag.update(choices=list(choices))
    elif hint is not str:
        flag.update(type=hint)
    if choices is not None and "choices" not in flag and item is None:  # a list's choices: in its help only
        flag["metavar"] = "{" + ",".join(str(choice) for choice in choices) + "}"
    return parser.add_argument(f"--{name}", **flag)


def add_dataclass_flags(
    parser: argparse._ActionsContainer,
    settings: type,
    help: Mapping[str, str] | None = None,
    choices: Mapping[str, Sequence[Any]] | None = None,
    skip: Sequence[str] = (),
) -> None:
    """One flag per field of a config dataclass: its help (from `help`, else the field's `metadata["help"]`),
    its choices (likewise), its default shown as YAML, and required where the field has no default. Flags not
    given are left out of the parsed values, so the dataclass's own defaults apply (or a recipe's)."""
    hints = typing.get_type_hints(settings)
    for item in dataclasses.fields(settings):
        if item.name in skip:
            continue
        text = (help or {}).get(item.name) or item.metadata["help"]
        allowed = (choices or {}).get(item.name, item.metadata.get("choices"))
        if allowed is not None:
            text += f" (choices: {', '.join(show_value(choice) for choice in allowed)})"
        has_factory = item.default_factory is not dataclasses.MISSING
        default = item.default_factory() if has_factory else item.default
        required = default is dataclasses.MISSING
        if not required and "(default: " not in text:
            text += f" (default: {show_value(default)})"
        add_flag(parser, item.name, hints[item.name], text, choices=allowed, required=required)


def show_value(value: Any) -> str:
    """A value as it is written on the command line (YAML): null, true, [0.2, 1.0], {}."""
    return (
        value
        if isinstance(value, str)
        else yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()
    )


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None is allowed)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return options[0], len(options) < len(typing.get_args(hint))
    return hint, False


def _list_item(hint: Any) -> Any:
    """The element type of `list[X]`, `tuple[X, ...]` or `tuple[X, X]`; None for any other type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list or (origin is tuple and args and all(arg in (args[0], Ellipsis) for arg in args)):
        return args[0]
    return None
