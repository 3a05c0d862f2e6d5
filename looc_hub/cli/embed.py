"""Embed a whole dataset per space into Parquet shards (`looc-embed`), resumably, in one or several processes.

    looc-embed --model outputs/looc-r10t-openmoji32/model --dataset looc-hub/openmoji --split validation \
        --label_column group --spaces invariant,color --output_dir outputs/emoji-embeddings
    accelerate launch --num_processes 2 -m looc_hub.cli.embed --model ... --output_dir ...

One row per image: `id` (the row index in the split), `path` (the image file where the source has one), `label`
(with --label_column) and one float column per space, as `model.embed` returns it; `embeddings.json` records the
model, spaces, preprocessing, dataset and shards. `datasets.load_dataset("parquet", data_dir=OUTPUT_DIR)` and
`pandas.read_parquet(OUTPUT_DIR)` read the folder. Rerun the same command after a kill: it writes only the missing
shards; on a finished folder it does nothing. Search it with `looc-search` (docs/embedding.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.data import load_image_dataset
from looc_hub.embeddings import (
    DEFAULT_SHARD_ROWS,
    DatasetInfo,
    EmbedSummary,
    embed_dataset,
    load_embedding_model,
    model_identity,
)
from looc_hub.embeddings.shards import DTYPES
from looc_hub.embeddings.writer import process_state

from ._args import add_log_level_flag
from .console import format_table, setup_logging


def build_parser() -> CommandParser:
    parser = command_parser("looc-embed", __doc__)
    parser.add_argument("--model", required=True, help="a save_pretrained folder, Hub repo id, or create_model name")
    parser.add_argument("--revision", default=None, help="Hub revision of --model (default: main)")
    parser.add_argument("--dataset", required=True, help="the dataset source (anything load_image_dataset takes)")
    parser.add_argument("--split", default="train", help="the split embedded; ids are its row indices")
    parser.add_argument("--image_column", default="image", help="column holding the images")
    parser.add_argument("--label_column", default=None, help="column of class labels stored beside (default: none)")
    add_flag(
        parser,
        "streaming",
        bool,
        "read the split lazily (every process reads the whole stream and embeds its own shards)",
        default=False,
    )
    add_flag(
        parser,
        "spaces",
        list[str] | None,
        "spaces to store, separated by spaces or commas (e.g. invariant,color) (default: all of the model's)",
        default=None,
    )
    parser.add_argument("--output_dir", required=True, help="the folder of shards and embeddings.json")
    parser.add_argument("--dtype", default="float32", choices=list(DTYPES), help="storage type of the vectors")
    parser.add_argument("--shard_rows", type=int, default=DEFAULT_SHARD_ROWS, help="rows per Parquet shard")
    parser.add_argument("--batch_size", type=int, default=256, help="images per forward pass")
    parser.add_argument("--num_workers", type=int, default=1, help="decoding processes per embedding process")
    parser.add_argument("--device", default=None, help="torch device (default: the process's accelerate device)")
    add_log_level_flag(parser)
    return parser


def parse_spaces(values: Sequence[str] | None) -> list[str] | None:
    """--spaces as a list: items may themselves be comma-separated."""
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-embed`: parse the flags, then embed."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    embed(args)


def embed(args: argparse.Namespace) -> EmbedSummary:
    """Embed the dataset, then print the summary table (main process)."""
    state = process_state()
    model = load_embedding_model(args.model, args.revision)
    dataset = load_image_dataset(
        args.dataset,
        split=args.split,
        image_column=args.image_column,
        label_column=args.label_column,
        streaming=args.streaming,
    )
    summary = embed_dataset(
        model,
        dataset,
        args.output_dir,
        model_info=model_identity(model, args.model, args.revision),
        dataset_info=DatasetInfo(args.dataset, args.split, args.image_column, args.label_column, args.streaming),
        spaces=parse_spaces(args.spaces),
        dtype=args.dtype,
        shard_rows=args.shard_rows,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=args.device,
    )
    if state.is_main_process:
        print(summary_report(summary))
    return summary


def summary_report(summary: EmbedSummary) -> str:
    """The end of a run: a table of rows, spaces, shards, time and images/s, or the no-op notice."""
    spaces = ", ".join(f"{name} ({dim})" for name, dim in summary.spaces.items())
    if summary.already_complete:
        return (
            f"{summary.output_dir} is already complete ({summary.rows} rows, {summary.shards} shards, spaces "
            f"{spaces}): nothing to do"
        )
    rows = [
        ("rows", summary.rows),
        ("embedded now", f"{summary.rows_embedded} by {summary.processes} process(es)"),
        ("spaces", spaces),
        ("shards", summary.shards),
        ("time", f"{summary.seconds:.1f} s"),
        ("images/s", f"{summary.images_per_second:.1f}"),
        ("folder", summary.output_dir),
    ]
    return format_table(("looc-embed", ""), rows)


if __name__ == "__main__":
    main()
