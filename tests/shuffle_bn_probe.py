"""Run under `accelerate launch` (2 processes): which images each process's key encoder normalised together in
Shuffle-BN, for a shipped recipe's objective (`build_objective`, as pretraining builds it). Writes
`<out>/rank<r>.json`: the ids of the images in this process's key sub-batch, per draw.

    accelerate launch ... tests/shuffle_bn_probe.py RECIPE OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate import Accelerator

import looc_hub
from looc_hub.cli.pretrain import build_objective
from looc_hub.objective import shuffle_bn_forward
from looc_hub.training import PretrainConfig

BATCH = 4  # images per process
DRAWS = 3


def main(recipe: str, out_dir: str) -> None:
    accelerator = Accelerator()
    config = PretrainConfig.from_file(recipe)
    objective = build_objective(looc_hub.create_model(config.model), config)
    size = objective.query_encoder.config.image_size
    seen: list[float] = []
    first_conv = next(m for m in objective.key_encoder.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_pre_hook(lambda _m, args: seen.extend(args[0][:, 0, 0, 0].tolist()))
    rank = accelerator.process_index
    ids = torch.arange(BATCH) + rank * BATCH  # image i of process r is filled with its global id r*B + i
    images = ids.float().view(-1, 1, 1, 1).expand(BATCH, 3, size, size).contiguous()
    draws = []
    for draw in range(DRAWS):
        seen.clear()
        generator = torch.Generator().manual_seed(1000 * draw + rank)  # as the loop: per process; rank 0's wins
        with torch.no_grad():
            shuffle_bn_forward(objective.key_encoder.forward_projections, images, 1, generator=generator)
        draws.append([round(value) for value in seen])
    result = {"world_size": accelerator.num_processes, "own": ids.tolist(), "key_sub_batches": draws}
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(result))
    accelerator.wait_for_everyone()
    accelerator.end_training()


if __name__ == "__main__":
    main(*sys.argv[1:])
