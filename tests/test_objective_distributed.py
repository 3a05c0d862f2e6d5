"""LooCObjective in a real 2-process gloo group (torch.multiprocessing spawn, one thread each).

Each process seeds itself differently and sees different images, the objective is wrapped in DDP with
`broadcast_buffers=False` (no buffer sync at init or per step, the setting the objective recommends), and the
processes then write what they hold to safetensors files that the test compares:
- queues, their pointer and the key encoder agree across processes after Shuffle-BN training steps;
- an enqueue writes the positive keys of both processes, in rank order;
- with BatchNorm in eval mode the shuffled key forward equals the plain one (in train mode it does not: BN sees
  a different sub-batch, which is the point of Shuffle-BN).
"""

import warnings
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from looc_hub import LooCConfig, LooCModel
from looc_hub.objective import LooCObjective, shuffle_bn_forward
from looc_hub.views import LooCViews

WORLD_SIZE = 2
BATCH = 4
QUEUE = 20
SPACES = 3


def make_views(seed: int) -> LooCViews:
    generator = torch.Generator().manual_seed(seed)
    return LooCViews(
        query=torch.randn(BATCH, 3, 32, 32, generator=generator),
        keys=torch.randn(SPACES, BATCH, 3, 32, 32, generator=generator),
    )


def train_steps(rank: int, objective: LooCObjective, results: dict[str, torch.Tensor]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 renamed broadcast_buffers; Accelerate passes it
        ddp = DistributedDataParallel(objective, broadcast_buffers=False)
    optimizer = torch.optim.SGD(objective.query_encoder.parameters(), lr=0.1)
    for step in range(3):
        ddp(make_views(seed=10 * step + rank)).loss.backward()  # different images on each process
        optimizer.step()
        optimizer.zero_grad()
        objective.momentum_update(0.9)
    results.update({name: value.clone() for name, value in objective.state_dict().items()})


def shuffled_and_plain_projections(model: LooCModel, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shuffled = shuffle_bn_forward(model.forward_projections, images, output_batch_dim=1)
    return shuffled, model.forward_projections(images)


def worker(rank: int, store: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD_SIZE)
    try:
        torch.manual_seed(100 + rank)  # per-process seeds: the models start out different
        config = LooCConfig(backbone="test_resnet", augmentations=("color", "rotation"), head_out_dim=16)
        objective = LooCObjective(LooCModel(config), queue_size=QUEUE)  # bn_groups 4 is for one process: ignored here
        query_batches: list[int] = []
        objective.query_encoder.backbone.register_forward_hook(lambda m, i, o: query_batches.append(len(i[0])))
        results = {"world_size": torch.tensor(dist.get_world_size())}
        train_steps(rank, objective, results)
        results["query_batches"] = torch.tensor(query_batches)

        # One more training forward with the key encoder's BN in eval mode, so its keys can be known beforehand.
        views = make_views(seed=50 + rank)
        objective.key_encoder.eval()
        keys = objective.encode_keys(views.keys)
        results["positives"] = keys[range(SPACES), range(SPACES)]  # (S, B, D)
        results["pointer_before"] = objective.queue.pointer.clone()
        objective(views)
        results["queue_after"] = objective.queue.keys.clone()

        # Shuffle-BN's bookkeeping, on a model that is the same on both processes, BN statistics included
        # (eval first: a train-mode forward moves the statistics differently on each process).
        torch.manual_seed(0)
        model = LooCModel(config).eval()
        images = views.keys.flatten(0, 1)
        with torch.no_grad():
            results["eval_shuffled"], results["eval_plain"] = shuffled_and_plain_projections(model, images)
            model.train()
            results["train_shuffled"], results["train_plain"] = shuffled_and_plain_projections(model, images)
        packed = {name: value.contiguous() for name, value in results.items()}
        save_file(packed, str(Path(out_dir) / f"rank{rank}.safetensors"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict[str, torch.Tensor]]:
    out_dir = tmp_path_factory.mktemp("two_processes")
    mp.spawn(worker, args=(str(out_dir / "store"), str(out_dir)), nprocs=WORLD_SIZE, join=True)
    return [load_file(out_dir / f"rank{rank}.safetensors") for rank in range(WORLD_SIZE)]


def test_both_processes_ran_in_one_group_of_two(ranks):
    assert [r["world_size"].item() for r in ranks] == [WORLD_SIZE, WORLD_SIZE]


def test_queries_use_the_whole_local_batch_with_several_processes(ranks):
    for r in ranks:  # one forward of BATCH queries per step: one-process BatchNorm groups stay off
        assert r["query_batches"].tolist() == [BATCH] * 3


def test_queues_and_key_encoders_agree_across_processes(ranks):
    first, second = ranks
    assert first["queue.pointer"].item() == (3 * WORLD_SIZE * BATCH) % QUEUE  # wrapped around once
    shared = [name for name in first if name.startswith(("queue.", "key_encoder.", "query_encoder."))]
    assert "queue.keys" in shared and any(name.startswith("key_encoder.") for name in shared)
    for name in shared:
        if "running_" in name or "num_batches_tracked" in name:
            continue  # BN statistics are per process without buffer broadcast (see LooCObjective)
        assert torch.equal(first[name], second[name]), f"{name} differs between processes"


def test_enqueue_writes_the_positive_keys_of_all_processes_in_rank_order(ranks):
    start = ranks[0]["pointer_before"].item()
    slots = [(start + i) % QUEUE for i in range(WORLD_SIZE * BATCH)]
    gathered = torch.cat([r["positives"] for r in ranks], dim=1)  # (S, 2B, D)
    for r in ranks:
        torch.testing.assert_close(r["queue_after"][:, slots], gathered)
    assert torch.equal(ranks[0]["queue_after"], ranks[1]["queue_after"])


def test_shuffled_key_forward_equals_the_plain_one_when_bn_is_in_eval_mode(ranks):
    for r in ranks:
        torch.testing.assert_close(r["eval_shuffled"], r["eval_plain"])
        assert not torch.allclose(r["train_shuffled"], r["train_plain"])  # train mode: another BN sub-batch
