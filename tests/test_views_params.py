"""Parameter records: row indexing, splitting, concatenation and exact comparison."""

import pytest
import torch

from looc_hub.views import ColorParams, FlipParams, RandomColor, RotationParams


@pytest.fixture
def params() -> ColorParams:
    return RandomColor().sample(6, torch.Generator().manual_seed(0))


def test_rows_index_split_and_cat_round_trip(params):
    assert params.batch_size == len(params) == 6
    blocks = params.split(2)
    assert [block.batch_size for block in blocks] == [2, 2, 2]
    assert ColorParams.cat(blocks).equals(params)
    assert blocks[1].equals(params[slice(2, 4)])
    picked = params[torch.tensor([5, 0])]
    assert picked.order.tolist() == [params.order[5].tolist(), params.order[0].tolist()]
    assert params[params.grayscale].batch_size == int(params.grayscale.sum())


def test_equals_is_exact_and_type_aware(params):
    assert params.equals(params.to("cpu"))
    assert not params.equals(params[torch.tensor([1, 0, 2, 3, 4, 5])])
    assert not FlipParams(torch.ones(2, dtype=torch.bool)).equals(RotationParams(torch.ones(2, dtype=torch.long)))


def test_fields_must_share_the_row_dimension():
    with pytest.raises(ValueError, match="leading"):
        FlipParams(flipped=torch.zeros(()))
    with pytest.raises(TypeError, match="torch.Tensor"):
        FlipParams(flipped=[True, False])


def test_bad_indices_and_mixed_concatenation_raise(params):
    with pytest.raises(TypeError, match="slice or a tensor"):
        params[0]
    with pytest.raises(TypeError, match="ColorParams"):
        ColorParams.cat([params, FlipParams(torch.ones(1, dtype=torch.bool))])
