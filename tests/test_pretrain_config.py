import pytest

from looc_hub.training import PretrainConfig
from tests.pretrain_runs import DEMO_RECIPE


def test_recipe_then_command_line_overrides_parsed_as_yaml():
    config = PretrainConfig.from_args(
        ["--config", DEMO_RECIPE, "--epochs", "2", "--model_overrides", "{image_size: 32}", "--eval_split", "null"]
    )
    assert config.model == "looc_resnet10t.openmoji32"  # from the recipe
    assert (config.epochs, config.model_overrides, config.eval_split) == (2, {"image_size": 32}, None)


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"epoch": 2}, ValueError, "unknown field"),
        ({"epochs": "two"}, TypeError, "epochs must be"),
        ({"shuffle_bn": True}, ValueError, "valid fields"),
        ({"optimizer": "lamb"}, ValueError, "valid choices"),
        ({"key_momentum_schedule": "linear"}, ValueError, "valid"),
        ({"batch_size": 0}, ValueError, "at least 1"),
        ({"max_steps": 0}, ValueError, "max_steps"),
        (
            {"report_to": ["jsonl", "tensorbord"]},
            ValueError,
            r"Unknown report_to 'tensorbord'; valid choices: \['jsonl'",
        ),
        ({"mixed_precision": "fp32"}, ValueError, "Unknown mixed_precision 'fp32'"),
        ({"queue_size": 0}, ValueError, "queue_size must be at least 1"),
        ({"temperature": 0.0}, ValueError, "temperature must be a positive number"),
        ({"key_momentum": 1.0}, ValueError, r"key_momentum must be in \[0, 1\)"),
        (
            {"model_overrides": {"image_size": 32, "momentum": 0.99}},
            ValueError,
            r"model_overrides \['momentum'\]: these are training settings.*--key_momentum",
        ),
    ],
)
def test_bad_values_are_clear_errors(values, error, message):
    with pytest.raises(error, match=message):
        PretrainConfig.from_dict(values)


def test_a_recipe_must_be_a_mapping(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("- epochs\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        PretrainConfig.from_file(recipe)


def _a_tracker_that_is_not_installed() -> str:
    from accelerate.tracking import get_available_trackers

    from looc_hub.training.tracking import TRACKERS

    installed = {"jsonl", *map(str, get_available_trackers())}
    missing = [name for name in TRACKERS if name not in installed]
    if not missing:
        pytest.skip("every tracker Accelerate knows is installed here")
    return "tensorboard" if "tensorboard" in missing else missing[0]


def test_a_requested_tracker_that_is_not_installed_stops_the_run_before_anything_is_written(tmp_path):
    from looc_hub.cli.pretrain import main

    name = _a_tracker_that_is_not_installed()
    output_dir = tmp_path / "run"
    expected = (
        rf"--report_to \['{name}'\]: the tracker package\(s\) are not installed.*pip install {name.replace('_', '-')}"
    )
    with pytest.raises(ImportError, match=expected):
        main(["--config", DEMO_RECIPE, "--report_to", f"[jsonl, {name}]", "--output_dir", str(output_dir)])
    assert not output_dir.exists()
