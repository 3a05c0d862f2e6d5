"""The console commands: declared in pyproject, importable, and every flag of every one documented in `--help`."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

from looc_hub.training import PretrainConfig
from looc_hub.training.pretrain_config import FIELD_CHOICES
from tests.pretrain_runs import REPO

SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
COMMANDS = {name: target.split(":")[0] for name, target in SCRIPTS.items()}


def test_every_command_is_declared_and_resolves_to_a_callable_main():
    assert set(SCRIPTS) == {"looc-pretrain", "looc-evaluate", "looc-finetune", "looc-publish", "looc-export"} | {
        "looc-recipes",
        "looc-embed",
        "looc-search",
        "looc-build-in100",
        "looc-reproduce",
    }
    for name, target in SCRIPTS.items():
        module, _, function = target.partition(":")
        assert function == "main", name
        assert callable(getattr(importlib.import_module(module), function)), name


def _action_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The action's entry in `--help`, as a user reads it: from its flag (or name) to the next entry."""
    entries: dict[str, str] = {}
    name = None
    for line in parser.format_help().splitlines():
        if re.match(r"^  \S", line):
            name = line.split()[0].rstrip(",")
        if name is not None:
            entries[name] = entries.get(name, "") + line + "\n"
    if action.option_strings:
        return entries[action.option_strings[0]]
    return entries[action.metavar or ("{" + ",".join(action.choices) + "}" if action.choices else action.dest)]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_flag_has_help_its_default_and_its_choices(command):
    parser = importlib.import_module(COMMANDS[command]).build_parser()
    assert parser.prog == command
    for action in parser._actions:
        shown = _action_help(parser, action)
        assert action.help and action.help.strip(), f"{command} {action.dest}: no help"
        for choice in action.choices or ():
            assert str(choice) in shown, f"{command} {action.dest}: choice {choice!r} not shown"
        has_default = action.default not in (None, argparse.SUPPRESS) and not action.required
        if action.option_strings and has_default and action.dest != "help":
            assert "default" in shown, f"{command} {action.dest}: default not shown"


def test_pretraining_help_shows_every_fields_default_and_choices():
    parser = importlib.import_module(COMMANDS["looc-pretrain"]).build_parser()
    actions = {action.dest: action for action in parser._actions}
    for name in PretrainConfig.__dataclass_fields__:
        shown = " ".join(_action_help(parser, actions[name]).split())  # the wrapped lines joined
        assert "(default: " in shown, name
        for choice in FIELD_CHOICES.get(name, ()):
            assert (str(choice) if choice is not None else "null") in shown, (name, choice)
    assert " ".join(_action_help(parser, actions["epochs"]).split()).endswith("(default: 200)")


@pytest.mark.parametrize("name", ["sync_bn", "streaming", "compile", "overwrite"])
def test_booleans_work_as_flags_and_with_a_value(name):
    assert getattr(PretrainConfig.from_args([f"--{name}"]), name) is True
    assert getattr(PretrainConfig.from_args([f"--{name}", "true"]), name) is True
    assert getattr(PretrainConfig.from_args([f"--{name}", "false"]), name) is False
    config = PretrainConfig.from_args([f"--{name}", "--epochs", "3"])  # a flag alone before another flag
    assert getattr(config, name) is True and config.epochs == 3


def test_a_boolean_flag_with_a_non_boolean_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        PretrainConfig.from_args(["--sync_bn", "maybe"])
    err = capsys.readouterr().err  # jsonargparse's message (the flag grammar's library, looc_hub._flags)
    assert 'Parser key "sync_bn"' in err and "Expected a <class 'bool'>. Got value: maybe" in err


def test_a_bad_field_value_is_a_usage_error_naming_the_choices(capsys):
    main = importlib.import_module(COMMANDS["looc-pretrain"]).main
    with pytest.raises(SystemExit):
        main(["--optimizer", "lamb"])
    err = capsys.readouterr().err  # argparse's choices check, as every command's fixed-choice flags have
    assert "usage: looc-pretrain" in err and "argument --optimizer: invalid choice: 'lamb' (choose from" in err
    assert "'sgd', 'adamw'" in err


def test_commands_run_as_modules_as_accelerate_launch_m_does():
    for module in ("looc_hub.cli.pretrain", "looc_hub.cli.evaluate", "looc_hub.cli.recipes", "looc_hub.cli.embed"):
        done = subprocess.run(
            [sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "usage: looc-" in done.stdout, done.stderr
