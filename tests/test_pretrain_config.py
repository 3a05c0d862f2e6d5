import pytest

from looc_hub.training import PretrainConfig
from tests.pretrain_runs import DEMO_RECIPE


def test_recipe_then_command_line_overrides_parsed_as_yaml():
    config = PretrainConfig.from_args(
        ["--config", str(DEMO_RECIPE), "--epochs", "2", "--model_overrides", "{image_size: 32}", "--eval_split", "null"]
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
