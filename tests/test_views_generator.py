"""The leave-one-out view generator: shapes, sharing semantics (parameters and pixels), modes, reproducibility."""

from types import SimpleNamespace

import pytest
import torch

from looc_hub.views import LooCViewGenerator
from looc_hub.views._validate import to_unit_float
from looc_hub.views.reference import render_reference

BATCH = 16
SIZE = 16
NO_BASE = {"crop_scale": (1.0, 1.0), "crop_ratio": (1.0, 1.0), "flip_p": 0.0, "blur_p": 0.0}


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def canvas() -> torch.Tensor:
    return torch.randint(0, 256, (BATCH, 3, 24, 24), dtype=torch.uint8, generator=seeded(1))


def view_rows(params, view: int):
    return params[slice(view * BATCH, (view + 1) * BATCH)]


@pytest.mark.parametrize(
    "augmentations, invariant, num_keys",
    [(("color", "rotation"), (), 3), (("color", "rotation", "texture"), (), 4), ((), ("color",), 1), ((), (), 1)],
)
def test_views_have_the_documented_shapes(canvas, augmentations, invariant, num_keys):
    generator = LooCViewGenerator(augmentations, invariant, output_size=SIZE)
    views = generator(canvas, generator=seeded())
    assert views.query.shape == (BATCH, 3, SIZE, SIZE)
    assert views.keys.shape == (num_keys, BATCH, 3, SIZE, SIZE)
    assert views.query.dtype == views.keys.dtype == torch.float32
    assert views.params is None
    assert generator.view_names[: 2 + len(augmentations)] == ("q", "k_0", *(f"k_{a}" for a in augmentations))


def test_each_key_shares_exactly_its_augmentation_with_the_query(canvas):
    augmentations = ("color", "rotation", "texture")
    generator = LooCViewGenerator(augmentations, output_size=SIZE)
    params = generator(canvas, generator=seeded(), return_params=True).params
    assert set(params) == {"crop", "flip", "blur", *augmentations}
    for name, values in params.items():
        assert values.batch_size == generator.num_views * BATCH
        query = view_rows(values, 0)
        for view, key_name in enumerate(generator.view_names[1:], start=1):
            shared = key_name == f"k_{name}"
            assert view_rows(values, view).equals(query) == shared, (name, key_name)


def test_plain_moco_resamples_invariant_augmentations_for_every_view(canvas):
    generator = LooCViewGenerator((), ("color", "rotation"), output_size=SIZE)
    params = generator(canvas, generator=seeded(), return_params=True).params
    for name in ("crop", "flip", "blur", "color", "rotation"):
        assert not view_rows(params[name], 1).equals(view_rows(params[name], 0))
    assert "texture" not in params


def test_color_key_shares_colour_pixels_and_nothing_else():
    """Constant-colour images hide every geometric augmentation: only colour parameters change pixels."""
    colours = torch.rand(BATCH, 3, 1, 1, generator=seeded(2)).expand(BATCH, 3, 24, 24)
    generator = LooCViewGenerator(("color", "rotation", "texture"), output_size=SIZE, texture_p=0.0, blur_p=0.0)
    views = generator(colours, generator=seeded())
    k_0, k_color, k_rotation, _ = views.keys
    torch.testing.assert_close(k_color, views.query, atol=1e-5, rtol=0)
    for other in (k_0, k_rotation):
        assert not torch.allclose(other, views.query, atol=1e-2)


def test_rotation_key_shares_the_querys_orientation():
    """A bright top-left quadrant marks "up"; colour jitter and grayscale keep it the brightest quadrant."""
    marker = torch.zeros(BATCH, 3, 24, 24)
    marker[:, :, :12, :12] = 1.0
    generator = LooCViewGenerator(("color", "rotation"), output_size=SIZE, **NO_BASE)
    views = generator(marker, generator=seeded())

    def brightest_quadrant(images):  # (B, 3, S, S) -> (B,) index of the brightest quadrant
        quadrants = images.mean(1).unfold(1, SIZE // 2, SIZE // 2).unfold(2, SIZE // 2, SIZE // 2)
        return quadrants.mean((-1, -2)).flatten(1).argmax(1)

    k_0, k_color, k_rotation = views.keys
    assert torch.equal(brightest_quadrant(k_rotation), brightest_quadrant(views.query))
    for other in (k_0, k_color):
        assert not torch.equal(brightest_quadrant(other), brightest_quadrant(views.query))


def test_texture_key_shares_the_querys_texture():
    """On a flat grey image only the texture is visible (rotation, crop, flip leave it unchanged)."""
    grey = torch.full((BATCH, 3, 24, 24), 0.5)
    generator = LooCViewGenerator(("texture", "rotation"), output_size=SIZE, texture_p=1.0, blur_p=0.0)
    views = generator(grey, generator=seeded())
    k_0, k_texture, k_rotation = views.keys
    torch.testing.assert_close(k_texture, views.query, atol=1e-6, rtol=0)
    for other in (k_0, k_rotation):
        assert not torch.allclose(other, views.query, atol=1e-2)


@pytest.mark.parametrize("augmentations, invariant", [(("color", "rotation", "texture"), ()), ((), ("color",))])
def test_views_match_the_per_sample_torchvision_pipeline(canvas, augmentations, invariant):
    generator = LooCViewGenerator(augmentations, invariant, output_size=SIZE)
    views = generator(canvas, generator=seeded(), return_params=True)
    expected = render_reference(generator, to_unit_float(canvas), views.params)
    ours = torch.cat((views.query[None], views.keys)).flatten(0, 1)
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=0)  # normalised units: ~4e-5 in [0, 1]


def test_same_seed_same_views_and_different_seed_different_views(canvas):
    generator = LooCViewGenerator(("color", "rotation", "texture"), output_size=SIZE)
    first, again = generator(canvas, generator=seeded(3)), generator(canvas, generator=seeded(3))
    assert torch.equal(first.query, again.query) and torch.equal(first.keys, again.keys)
    other = generator(canvas, generator=seeded(4))
    assert not torch.allclose(first.keys, other.keys)


def test_chunks_and_worker_threads_do_not_change_the_views(canvas):
    whole = LooCViewGenerator(("color", "rotation", "texture"), output_size=SIZE, chunk_size=BATCH)
    chunked = LooCViewGenerator(("color", "rotation", "texture"), output_size=SIZE, chunk_size=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # chunks rendered by a pool of 2 worker threads
    try:
        pooled = chunked(canvas, seeded()).keys
        torch.set_num_threads(1)  # whole views rendered inline
        inline = whole(canvas, seeded()).keys
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(pooled, inline, atol=1e-6, rtol=0)


def test_float_input_in_unit_range_equals_uint8_input(canvas):
    generator = LooCViewGenerator(output_size=SIZE)
    from_uint8 = generator(canvas, generator=seeded())
    from_float = generator(canvas.double() / 255, generator=seeded())
    torch.testing.assert_close(from_float.keys, from_uint8.keys, atol=1e-5, rtol=0)


def test_non_square_inputs_and_identity_normalisation(canvas):
    generator = LooCViewGenerator(output_size=SIZE, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    views = generator(torch.rand(4, 3, 30, 50, generator=seeded()), generator=seeded())
    assert views.keys.shape == (3, 4, 3, SIZE, SIZE)
    assert views.keys.min() >= 0.0 and views.keys.max() <= 1.0  # un-normalised views stay in [0, 1]


def test_from_config_reads_the_lead_configs_fields():
    config = SimpleNamespace(
        augmentations=["rotation"],
        invariant_augmentations=["color"],
        image_size=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
    )
    generator = LooCViewGenerator.from_config(config)
    assert generator.augmentations == ("rotation",)
    assert generator.invariant_augmentations == ("color",)
    assert (generator.output_size, generator.mean, generator.std) == (32, (0.5,) * 3, (0.25,) * 3)
    with pytest.raises(TypeError, match="image_size"):
        LooCViewGenerator.from_config(SimpleNamespace(augmentations=(), invariant_augmentations=()))
    assert generator.augmentation("crop").scale == (0.2, 1.0)  # MoCo v2's unless a recipe says otherwise
    assert LooCViewGenerator.from_config(config, crop_scale=(0.5, 1.0)).augmentation("crop").scale == (0.5, 1.0)
    with pytest.raises(ValueError, match="scale"):
        LooCViewGenerator.from_config(config, crop_scale=(1.0, 0.5))


def test_shares_query_marks_exactly_the_keys_that_render_the_querys_value():
    batch = 256
    images = torch.rand(batch, 3, SIZE, SIZE, generator=seeded(2))
    augmentations = ("color", "rotation", "texture")
    generator = LooCViewGenerator(augmentations, output_size=SIZE)
    views = generator(images, generator=seeded(), return_params=True)
    assert views.shares_query.shape == (3, 4, batch)
    for i, name in enumerate(augmentations):
        shared = views.shares_query[i]  # (V, B)
        assert shared[1 + i].all()  # k_i: the query's parameters, by construction
        assert not shared[[v for v in range(4) if v != 1 + i]].all()
        query_params, *key_params = views.params[name].split(batch)
        augmentation = generator.augmentation(name)
        query_pixels = augmentation.apply(images, query_params) if name != "rotation" else None
        for v, params in enumerate(key_params):
            if name == "rotation":
                assert torch.equal(shared[v], params.quarter_turns == query_params.quarter_turns)
                continue
            same_pixels = (augmentation.apply(images, params) == query_pixels).flatten(1).all(1)
            assert torch.equal(shared[v], same_pixels), (name, v)  # marked iff the very same pixels
    rotation_rate = views.shares_query[1, [0, 1, 3]].float().mean().item()
    assert 0.18 < rotation_rate < 0.32  # 1 key in 4 draws the query's quarter turn


def test_blur_sigma_scales_with_the_output_size():
    assert LooCViewGenerator(output_size=224).augmentation("blur").sigma == (0.1, 2.0)  # MoCo v2's, at its resolution
    small = LooCViewGenerator(output_size=32).augmentation("blur").sigma
    assert small == pytest.approx((0.1 * 32 / 224, 2.0 * 32 / 224))
    assert LooCViewGenerator(output_size=32, blur_sigma=(0.5, 1.0)).augmentation("blur").sigma == (0.5, 1.0)
