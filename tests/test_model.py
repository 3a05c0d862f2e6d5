import pytest
import torch

from looc_hub import LooCConfig, LooCModel

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


@pytest.fixture(scope="module")
def images():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module", params=["looc", "looc++"])
def model(request):
    torch.manual_seed(0)
    return LooCModel(SMALL.replace(variant=request.param)).eval()


def test_spaces_and_dims(model, images):
    assert model.spaces == ("backbone", "invariant", "color", "rotation", "concat")
    out = model(images)
    assert list(out) == list(model.spaces)
    for space, value in out.items():
        assert value.shape == (3, model.embedding_dim(space))
    assert model.embedding_dim("backbone") == 512
    assert model.embedding_dim("rotation") == 128
    per_head = 512 if model.config.variant == "looc++" else 128
    assert model.embedding_dim("concat") == 3 * per_head
    assert model.embedding_dim(["invariant", "color"]) == 256


def test_head_spaces_are_unit_norm_and_backbone_is_raw(model, images):
    out = model(images)
    for space in model.head_names:
        torch.testing.assert_close(out[space].norm(dim=1), torch.ones(3))
    assert not torch.allclose(out["backbone"].norm(dim=1), torch.ones(3))


def test_embed_matches_forward_and_concatenates_in_order(model, images):
    with torch.no_grad():
        out = model(images)
        assert torch.equal(model.embed(images, space="rotation"), out["rotation"])
        both = model.embed(images, space=["rotation", "invariant"])
    assert torch.equal(both, torch.cat([out["rotation"], out["invariant"]], dim=1))


def test_default_space_is_the_papers_representation(model, images):
    expected = "concat" if model.config.variant == "looc++" else "backbone"
    assert model.default_space == expected
    with torch.no_grad():
        assert torch.equal(model.embed(images), model(images)[expected])


def test_forward_projections_stack_the_heads(model, images):
    with torch.no_grad():
        stacked = model.forward_projections(images)
        out = model(images)
    assert stacked.shape == (3, 3, 128)
    for index, name in enumerate(model.head_names):
        torch.testing.assert_close(stacked[index], out[name])


def test_looc_concat_is_the_normalised_heads():
    model = LooCModel(SMALL).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out["concat"], torch.cat([out[n] for n in model.head_names], dim=1))


def test_looc_plus_plus_branches_own_their_last_stage(images):
    model = LooCModel(SMALL.replace(variant="looc++")).eval()
    assert set(model.last_stages) == {"color", "rotation"}
    own = dict(model.backbone.layer4.named_parameters())
    for branch in model.last_stages.values():
        for name, param in branch["layer4"].named_parameters():
            assert param.data_ptr() != own[name].data_ptr()
    with torch.no_grad():
        # timm zero-initialises the last BN of each block, so change the shortcut to make the branch differ
        model.last_stages["color"]["layer4"][0].downsample[0].weight.mul_(-1)
        out = model(images)
        # the backbone space is the invariant branch, untouched by the colour branch's weights
        assert torch.equal(out["backbone"], model.backbone(images))
        pooled = out["concat"].split(512, dim=1)
    assert torch.equal(pooled[0], out["backbone"])
    assert not torch.allclose(pooled[1], pooled[0])


def test_looc_plus_plus_convnext_family(images):
    model = LooCModel(LooCConfig(backbone="convnext_atto", variant="looc++", image_size=32)).eval()
    with torch.no_grad():
        out = model(images)
    assert out["concat"].shape == (3, 3 * 320)
    assert torch.equal(out["backbone"], model.backbone(images))


def test_looc_plus_plus_unsupported_family_is_a_clear_error():
    with pytest.raises(ValueError, match="supported families: ResNet, ConvNeXt"):
        LooCModel(LooCConfig(backbone="vit_tiny_patch16_224", variant="looc++"))


def test_plain_looc_works_for_any_pooled_timm_model():
    model = LooCModel(LooCConfig(backbone="vit_tiny_patch16_224", backbone_kwargs={"img_size": 32})).eval()
    with torch.no_grad():
        assert model.embed(torch.randn(2, 3, 32, 32), space="color").shape == (2, 128)


def test_moco_baseline_has_one_contrastive_space():
    model = LooCModel(LooCConfig(backbone="resnet18", augmentations=(), invariant_augmentations=("color",)))
    assert model.spaces == ("backbone", "invariant", "concat")
    assert model.forward_projections(torch.randn(2, 3, 32, 32)).shape == (1, 2, 128)


def test_unknown_space_names_the_valid_ones(model, images):
    with pytest.raises(ValueError, match=r"valid spaces of this model: \['backbone', 'invariant', 'color'"):
        model.embed(images, space="texture")
    with pytest.raises(ValueError, match="twice"):
        model.embed(images, space=["color", "color"])
    with pytest.raises(ValueError, match="No space"):
        model.embed(images, space=[])


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), TypeError, "float image tensor"),
        (torch.zeros(3, 32, 32), ValueError, "unsqueeze"),
        (torch.zeros(2, 32, 32, 3), ValueError, "3 channels"),
        (torch.zeros(2, 1, 32, 32), ValueError, "3 channels"),
        ([[0.0]], TypeError, "image tensor"),
    ],
)
def test_bad_images_are_clear_errors(model, x, error, message):
    with pytest.raises(error, match=message):
        model.embed(x, space="backbone")


def test_config_must_be_a_looc_config():
    with pytest.raises(TypeError, match="LooCConfig"):
        LooCModel({"backbone": "resnet18"})
