"""The augmentation registry is the single source of names, roles, keywords, card text and sensitivity settings."""

import pytest
import torch

import looc_hub
from looc_hub import LooCConfig, LooCModel, LooCViewGenerator
from looc_hub.eval.sensitivity import SENSITIVITY_AUGMENTATIONS, fixed_augmentation
from looc_hub.hub.card import build_model_card
from looc_hub.views import AUGMENTATIONS, REGISTRY, RandomRotation90, get_augmentation
from looc_hub.views.registry import (
    GEOMETRY_AUGMENTATIONS,
    IN_PLACE_AUGMENTATIONS,
    LEAVE_ONE_OUT_AUGMENTATIONS,
    trained_augmentations,
)

SIZE = 16


def test_every_list_of_names_is_the_registrys():
    leave_one_out = tuple(name for name, spec in REGISTRY.items() if spec.leave_one_out)
    assert looc_hub.AUGMENTATIONS == AUGMENTATIONS == LEAVE_ONE_OUT_AUGMENTATIONS == leave_one_out
    assert tuple(REGISTRY) == SENSITIVITY_AUGMENTATIONS
    assert set(GEOMETRY_AUGMENTATIONS) | set(IN_PLACE_AUGMENTATIONS) == set(REGISTRY)
    LooCConfig(backbone="resnet18", augmentations=leave_one_out)  # the config accepts every listable name


def test_the_generator_draws_every_registered_augmentation_and_takes_exactly_their_keywords():
    generator = LooCViewGenerator(AUGMENTATIONS, output_size=SIZE)
    images = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    params = generator(images, generator=torch.Generator().manual_seed(0), return_params=True).params
    assert tuple(params) == tuple(REGISTRY)  # registry order is the draw order
    for name, spec in REGISTRY.items():
        assert type(params[name]) is spec.params
        assert type(generator.augmentation(name)) is spec.augmentation
    keywords = [keyword for spec in REGISTRY.values() for keyword in spec.options]
    with pytest.raises(TypeError, match=r"\['blur_sigmas'\]; valid keywords: \[.*'blur_sigma'") as error:
        LooCViewGenerator(blur_sigmas=(0.1, 1.0))
    assert all(repr(keyword) in str(error.value) for keyword in keywords)
    with pytest.raises(ValueError, match="valid choices"):
        generator.augmentation("jpeg")


def test_the_card_describes_each_space_with_the_registrys_words():
    config = LooCConfig(backbone="resnet18", image_size=32, augmentations=AUGMENTATIONS)
    with torch.device("meta"):
        text = str(build_model_card(LooCModel(config), repo_id="org/name"))
    for name in AUGMENTATIONS:
        assert f"| `{name}` |" in text and REGISTRY[name].sensitive in text, name
    assert "invariant to crop, flip, blur, color, rotation, texture" in text


def test_roles_and_rendering_order():
    assert AUGMENTATIONS == ("blur", "color", "rotation", "texture")  # blur: base unless left out
    assert SENSITIVITY_AUGMENTATIONS == ("crop", "flip", "blur", "color", "rotation", "texture")
    assert GEOMETRY_AUGMENTATIONS == ("crop", "flip", "rotation")  # one resampling
    assert IN_PLACE_AUGMENTATIONS == ("texture", "color", "blur")  # then in place, in this order
    assert trained_augmentations(("rotation",), ("color",)) == ("crop", "flip", "blur", "color", "rotation")


def test_unknown_names_fail_listing_the_registry():
    with pytest.raises(ValueError, match=r"'jpeg'; valid choices: \['crop', 'flip', 'blur'"):
        get_augmentation("jpeg")
    with pytest.raises(ValueError, match="valid choices"):
        fixed_augmentation("jpeg", SIZE, seed=0)


def test_rotation_turns_are_data_default_draws_unchanged():
    seeded = torch.Generator().manual_seed
    default = RandomRotation90().sample(1000, seeded(0)).quarter_turns
    assert torch.equal(default, torch.randint(0, 4, (1000,), generator=seeded(0)))  # same draws as before turns
    never_identity = RandomRotation90(turns=(1, 2, 3)).sample(1000, seeded(0)).quarter_turns
    assert set(never_identity.tolist()) == {1, 2, 3}
    assert REGISTRY["rotation"].always == {"turns": (1, 2, 3)}
    for turns in ((), (0, 0), (4,), (1.0,), "0123"):
        with pytest.raises(ValueError, match="quarter turns"):
            RandomRotation90(turns=turns)
