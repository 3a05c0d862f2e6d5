"""Shipped recipes and Accelerate configs: found by name from the package, any file by path, clear errors."""

from __future__ import annotations

import pytest
import yaml

import looc_hub
from looc_hub.cli import recipes as recipes_command
from looc_hub.recipes import (
    RECIPE_DIR,
    accelerate_config_path,
    list_accelerate_configs,
    list_recipes,
    recipe_path,
)
from looc_hub.training import PretrainConfig


def test_every_zoo_entry_names_a_shipped_recipe():
    names = {looc_hub.get_zoo_entry(name).recipe for name in looc_hub.list_models()}
    assert names == set(list_recipes())  # one recipe per entry, no orphan file
    assert {"single_node_8gpu", "multi_node_4x8"} <= set(list_accelerate_configs())


def test_every_shipped_recipe_holds_the_whole_run_the_objective_included():
    for name in list_recipes():
        values = yaml.safe_load(recipe_path(name).read_text())
        assert {"queue_size", "temperature", "key_momentum"} <= set(values), name
        config = PretrainConfig.from_file(name)
        assert (config.queue_size, config.temperature, config.key_momentum) == (
            values["queue_size"],
            values["temperature"],
            values["key_momentum"],
        )


def test_a_recipe_resolves_by_name_with_or_without_yaml_and_by_path(tmp_path):
    shipped = RECIPE_DIR / "looc_r10t_openmoji32.yaml"
    assert recipe_path("looc_r10t_openmoji32") == shipped
    assert recipe_path("looc_r10t_openmoji32.yaml") == shipped
    own = tmp_path / "looc_r10t_openmoji32.yaml"  # a file of the same name elsewhere wins: it is what was given
    own.write_text("model: moco_resnet10t.openmoji32\nepochs: 3\n")
    assert recipe_path(own) == own
    assert PretrainConfig.from_file(own).model == "moco_resnet10t.openmoji32"
    config = PretrainConfig.from_args(["--config", "looc_r10t_openmoji32", "--epochs", "2"])
    assert config.model == "looc_resnet10t.openmoji32" and config.epochs == 2
    assert config.batch_size == yaml.safe_load(shipped.read_text())["batch_size"]  # the recipe's, not the default
    assert accelerate_config_path("single_node_8gpu").read_text().count("num_processes: 8") == 1


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "looc_r18_openmoji64",
            r"Unknown pretraining recipe 'looc_r18_openmoji64'.*shipped: \[.*'looc_r10t_openmoji32'",
        ),
        # the old in-repo path: not a file any more, and a path is never silently read as a name
        (
            "training/configs/looc_r10t_openmoji32.yaml",
            r"no such file.*did you mean 'looc_r10t_openmoji32'\?",
        ),
    ],
)
def test_an_unknown_recipe_is_an_error_listing_the_shipped_ones(given, message):
    with pytest.raises(ValueError, match=message):
        recipe_path(given)
    with pytest.raises(ValueError, match="Unknown pretraining recipe"):
        PretrainConfig.from_args(["--config", given])


def test_an_unknown_accelerate_config_lists_the_shipped_ones():
    with pytest.raises(ValueError, match=r"Unknown Accelerate config 'one_gpu'.*shipped: \['multi_node_4x8'"):
        accelerate_config_path("one_gpu")


def test_looc_recipes_lists_them_and_prints_one_path(capsys):
    recipes_command.main([])
    listing = capsys.readouterr().out
    assert all(name in listing for name in [*list_recipes(), *list_accelerate_configs()])
    recipes_command.main(["multi_node_4x8"])
    assert capsys.readouterr().out.strip() == str(accelerate_config_path("multi_node_4x8"))
