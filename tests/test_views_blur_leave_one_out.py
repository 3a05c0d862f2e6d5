"""Blur as a leave-one-out augmentation (issue 13's example of the registry recipe): a key, a space, a card row."""

import pytest
import torch

from looc_hub import LooCConfig, LooCModel
from looc_hub.eval.sensitivity import augmentation_sensitivity
from looc_hub.hub.card import build_model_card
from looc_hub.objective import LooCObjective
from looc_hub.views import REGISTRY, LooCViewGenerator, RandomGaussianBlur

BATCH = 64
SIZE = 16
CONFIG = LooCConfig(backbone="resnet10t", image_size=32, augmentations=("blur", "rotation"))


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def views_of(augmentations: tuple[str, ...]):
    images = torch.rand(BATCH, 3, SIZE, SIZE, generator=seeded(2))
    # sigma well above the 16 px default (at most 0.14 px), which leaves the pixels exactly as they were
    generator = LooCViewGenerator(augmentations, output_size=SIZE, blur_sigma=(0.5, 1.5))
    return images, generator(images, generator=seeded(), return_params=True)


def test_the_blur_key_shares_the_querys_blur_and_blur_is_drawn_once():
    _, views = views_of(("blur", "rotation"))
    blur = views.params["blur"].split(BATCH)  # q, k_0, k_blur, k_rotation
    assert blur[2].equals(blur[0]) and not blur[1].equals(blur[0]) and not blur[3].equals(blur[0])
    # Drawn in the base slot, once: the following draws (rotation) are those of a generator where blur is base.
    _, base = views_of(("rotation", "texture"))
    rotation, base_rotation = views.params["rotation"].split(BATCH), base.params["rotation"].split(BATCH)
    assert rotation[0].equals(base_rotation[0]) and rotation[1].equals(base_rotation[1])
    for name in ("crop", "flip"):
        assert views.params[name].equals(base.params[name]), name
    base_blur = base.params["blur"].split(BATCH)
    assert all(blur[view].equals(base_blur[view]) for view in (0, 1, 3))
    assert not base_blur[2].equals(base_blur[0])  # not listed: resampled for every view, as before


def test_shares_query_marks_exactly_the_keys_with_the_querys_blur_pixels():
    images, views = views_of(("blur", "rotation"))
    blur = RandomGaussianBlur()  # apply reads sigma from the parameters
    query, *keys = views.params["blur"].split(BATCH)
    query_pixels = blur.apply(images, query)
    for view, key in enumerate(keys):
        same_pixels = (blur.apply(images, key) == query_pixels).flatten(1).all(1)
        assert torch.equal(views.shares_query[0, view], same_pixels), view
    assert views.shares_query[0, 1].all()  # k_blur
    rate = views.shares_query[0, [0, 2]].float().mean().item()
    assert 0.15 < rate < 0.35  # by chance: both unblurred, 1 key in 4 at p = 0.5


def test_a_blur_model_embeds_trains_and_is_measured_and_carded(digits_test):
    torch.manual_seed(0)
    model = LooCModel(CONFIG).eval()
    assert model.spaces[:3] == ("backbone", "invariant", "blur")
    assert model.embed(torch.rand(2, 3, 32, 32), space="blur").shape == (2, 128)
    views = LooCViewGenerator.from_config(CONFIG)(torch.rand(4, 3, 40, 40), generator=seeded())
    assert views.keys.shape[0] == 3  # k_0, k_blur, k_rotation
    assert torch.isfinite(LooCObjective(model, queue_size=64, shuffle_bn=False)(views).loss)
    matrix = augmentation_sensitivity(model, digits_test.select(range(8)), keys=["blur"], augmentations=["blur"])
    assert matrix.values.shape == (1, 1) and torch.isfinite(matrix.values).all()
    with torch.device("meta"):
        text = str(build_model_card(LooCModel(CONFIG), repo_id="org/name"))
    assert f"| `blur` | 128 | Z_blur, L2-normalised | {REGISTRY['blur'].sensitive} |" in text
    assert "invariant to crop, flip, blur, rotation |" in text  # blur once, though both base and left out


@pytest.mark.parametrize("build", [LooCConfig, LooCViewGenerator], ids=["config", "generator"])
def test_blur_as_an_invariance_is_refused_it_is_one_already(build):
    with pytest.raises(ValueError, match=r"\['blur'\] in invariant_augmentations: base augmentations"):
        build(augmentations=("rotation",), invariant_augmentations=("color", "blur"))
    build(augmentations=("blur",), invariant_augmentations=("color",))  # left out instead: fine
