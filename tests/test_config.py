import json

import pytest

from looc_hub import LooCConfig


def test_defaults_are_the_papers_recipe():
    config = LooCConfig()
    assert (config.backbone, config.head_out_dim, config.image_size) == ("resnet50", 128, 224)
    assert config.head_names == ("invariant", "color", "rotation")


def test_json_round_trip_is_equal():
    config = LooCConfig(backbone="resnet18", augmentations=("rotation",), invariant_augmentations=("color",))
    assert LooCConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backbone": "resnet5O"}, "close matches"),
        ({"augmentations": ("colour",)}, "valid choices"),
        ({"augmentations": ("color", "color")}, "twice"),
        ({"augmentations": ("color",), "invariant_augmentations": ("color",)}, "both"),
        ({"variant": "looc+"}, "valid variants"),
        ({"head_out_dim": 0}, "positive integer"),
        ({"image_size": 2.5}, "positive integer"),
        ({"mean": (0.5, 0.5)}, "one per channel"),
        ({"std": (0.2, 0.0, 0.2)}, "positive"),
        ({"interpolation": "lanczos5"}, "valid choices"),
        ({"crop_pct": 1.5}, "crop_pct"),
        ({"backbone_kwargs": {"num_classes": 10}}, "may not set"),
    ],
)
def test_invalid_fields_fail_at_construction(changes, message):
    with pytest.raises(ValueError, match=message):
        LooCConfig(**changes)


def test_unknown_fields_are_rejected_by_from_dict_and_replace():
    with pytest.raises(ValueError, match="valid fields"):
        LooCConfig.from_dict({"backbone": "resnet18", "heads": 3})
    with pytest.raises(ValueError, match="valid fields"):
        LooCConfig().replace(head_out=64)


def test_training_settings_are_no_model_fields_and_say_where_they_went():
    assert not {"queue_size", "temperature", "momentum"} & set(LooCConfig.field_names())
    with pytest.raises(ValueError, match=r"queue_size \(the pretraining run's queue_size\)"):
        LooCConfig().replace(queue_size=128)
    with pytest.raises(ValueError, match=r"momentum \(the pretraining run's key_momentum\)"):
        LooCConfig.from_dict({"backbone": "resnet18", "momentum": 0.99})


def test_non_json_backbone_kwargs_are_rejected():
    with pytest.raises(TypeError, match="JSON"):
        LooCConfig(backbone_kwargs={"act_layer": object()})


def test_in_chans_follows_backbone_kwargs():
    config = LooCConfig(backbone="resnet18", backbone_kwargs={"in_chans": 1}, mean=(0.5,), std=(0.25,))
    assert config.in_chans == 1
