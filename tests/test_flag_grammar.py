"""One flag grammar for every command (issue 18): the same spelling means the same value in each command's parser.

Each command is parsed with its real parser (`build_parser()`, what its console script runs); a boolean alone, with
`true` and with `false`; a list as YAML (as recipes write it) and as separate values; `null`; Accelerate's `no`.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from looc_hub.cli import evaluate, finetune
from looc_hub.training import PretrainConfig
from tests.pretrain_runs import REPO

FINETUNE = ["--model", "m", "--dataset", "d", "--output_dir", "o"]
EVALUATE = ["--model", "m", "--dataset", "d", "--output_dir", "o"]

BOOLEANS = {  # command module: (the arguments it needs, a boolean flag of it)
    "pretrain": ([], "overwrite"),
    "finetune": (FINETUNE, "overwrite"),
    "embed": (["--model", "m", "--dataset", "d", "--output_dir", "o"], "streaming"),
    "publish": (["folder", "org/name"], "dry-run"),
    "build_in100": (["--imagenet", "i", "--output", "o"], "overwrite"),
}
LISTS = {  # command module: (the arguments it needs, a list flag of it, the values typed, the values parsed)
    "pretrain": ([], "crop_scale", ["0.5", "1.0"], [0.5, 1.0]),
    "finetune": (FINETUNE, "crop_scale", ["0.5", "1.0"], [0.5, 1.0]),
    "evaluate": (EVALUATE, "shots", ["1", "3"], [1, 3]),
    "embed": (["--model", "m", "--dataset", "d", "--output_dir", "o"], "spaces", ["invariant", "color"], None),
    "search": (["--index", "i"], "query", ["a.png", "b.png"], None),
    "export": (["m", "timm", "out"], "space", ["invariant", "color"], None),
}


def _parse(command: str, argv: list[str]) -> dict:
    return vars(importlib.import_module(f"looc_hub.cli.{command}").build_parser().parse_args(argv))


@pytest.mark.parametrize("command", sorted(BOOLEANS))
def test_a_boolean_alone_true_and_false_mean_the_same_in_every_command(command):
    needed, name = BOOLEANS[command]
    dest = name.replace("-", "_")
    assert _parse(command, [*needed, f"--{name}"])[dest] is True
    assert _parse(command, [*needed, f"--{name}", "true"])[dest] is True
    assert _parse(command, [*needed, f"--{name}", "false"])[dest] is False
    if needed and needed[0].startswith("--"):  # a flag alone before the next flag
        assert _parse(command, [f"--{name}", *needed])[dest] is True


@pytest.mark.parametrize("command", sorted(LISTS))
def test_a_list_is_a_yaml_list_or_separate_values_in_every_command(command):
    needed, name, typed, parsed = LISTS[command]
    expected = parsed if parsed is not None else typed
    assert _parse(command, [*needed, f"--{name}", *typed])[name] == expected
    yaml_list = "[" + ", ".join(typed) + "]"
    assert _parse(command, [*needed, f"--{name}", yaml_list])[name] == expected


def test_the_configs_read_the_same_spellings():
    for crop_scale in (["[0.5, 1.0]"], ["0.5", "1.0"]):
        assert PretrainConfig.from_args(["--crop_scale", *crop_scale]).crop_scale == [0.5, 1.0]
        assert finetune.parse_args([*FINETUNE, "--crop_scale", *crop_scale]).crop_scale == (0.5, 1.0)
    assert finetune.parse_args([*FINETUNE, "--crop_scale", "null"]).crop_scale is None
    assert PretrainConfig.from_args(["--mixed_precision", "no"]).mixed_precision == "no"  # YAML would read false
    assert finetune.parse_args([*FINETUNE, "--mixed_precision", "no"]).mixed_precision == "no"
    assert PretrainConfig.from_args(["--report_to", "none"]).report_to == []
    assert PretrainConfig.from_args(["--report_to", "[jsonl]"]).report_to == ["jsonl"]
    config = evaluate.parse_args([*EVALUATE, "--protocols", "[knn, linear_probe]", "--probe_weight_decay", "null"])
    assert config.protocols == ["knn", "linear_probe"] and config.probe_weight_decay is None
    assert evaluate.parse_args([*EVALUATE, "--protocols", "knn", "linear_probe"]).protocols == config.protocols


def test_a_recipe_value_and_a_flag_over_it(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("epochs: 3\nmixed_precision: no\ncrop_scale: [0.3, 1.0]\nsync_bn: true\n")
    config = PretrainConfig.from_args(["--config", str(recipe), "--crop_scale", "0.6", "1.0", "--sync_bn", "false"])
    assert (config.epochs, config.mixed_precision, config.crop_scale, config.sync_bn) == (3, "no", [0.6, 1.0], False)


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        ("pretrain", ["--optimizer", "lamb"], "argument --optimizer: invalid choice: 'lamb'"),
        ("finetune", [*FINETUNE, "--mode", "half"], "argument --mode: invalid choice: 'half'"),
        ("pretrain", ["--epochs", "two"], 'Parser key "epochs"'),
        ("finetune", [*FINETUNE, "--overwrite", "maybe"], 'Parser key "overwrite"'),
        ("evaluate", [*EVALUATE, "--knn_k", "many"], 'Parser key "knn_k"'),
        ("pretrain", ["--epoch", "2"], "unrecognized arguments: --epoch 2"),
    ],
)
def test_a_bad_value_or_an_unknown_flag_is_a_usage_error_naming_it(capsys, command, argv, message):
    with pytest.raises(SystemExit):
        _parse(command, argv)
    assert message in capsys.readouterr().err


def test_a_bad_list_element_names_the_field_and_the_valid_choices():
    with pytest.raises(ValueError, match=r"Unknown corruptions 'fog'; valid choices: \['gaussian_noise'"):
        evaluate.parse_args([*EVALUATE, "--corruptions", "[fog]"])
    with pytest.raises(ValueError, match=r"Unknown report_to 'tensorbord'; valid choices: \['jsonl'"):
        PretrainConfig.from_args(["--report_to", "jsonl", "tensorbord"])


def test_looc_recipes_lists_without_importing_torch_or_timm():
    """Listing file names needs neither (they took 8-9 s to import, issue 18)."""
    code = (
        "import sys; from looc_hub.cli.recipes import main; main([]); "
        "print(sorted(name for name in ('torch', 'timm', 'accelerate', 'datasets') if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "looc_r10t_openmoji32" in done.stdout and done.stdout.strip().endswith("[]")
