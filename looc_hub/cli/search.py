"""Search a `looc-embed` folder with any weighting of its spaces (`looc-search`).

    looc-search --index outputs/emoji-embeddings --query 12 --weights invariant=1 color=1 invariant=1,color=-0.5
    looc-search --index outputs/emoji-embeddings --query photo.png --weights color=1 --k 5

A query is a row id of the index or an image file (embedded with the index's model). Each --weights item is one
weighting, "space=weight" pairs separated by commas: the score is the weighted sum of per-space cosine
similarities, so a negative weight asks for difference in that space. Prints the k best rows per query and
weighting (id, score, label, path); --sheet draws them as a PNG (row-id queries) with the same picture as
`looc-evaluate`'s retrieval protocol.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.embeddings import BACKENDS, EmbeddingIndex, SearchResults, save_search_sheet
from looc_hub.eval.weighting import parse_weighting, weighting_text

from ._args import add_log_level_flag
from .console import format_table, setup_logging


def build_parser() -> CommandParser:
    parser = command_parser("looc-search", __doc__)
    parser.add_argument("--index", required=True, help="a looc-embed output folder")
    add_flag(parser, "query", list[int | str], "row ids of the index and/or image files", default=None, required=True)
    add_flag(
        parser,
        "weights",
        list[str] | None,
        "weightings, each 'space=weight,...', e.g. invariant=1,color=-0.5 (default: every space weight 1)",
        default=None,
    )
    parser.add_argument("--k", type=int, default=10, help="results per query and weighting")
    parser.add_argument("--backend", default="exact", choices=BACKENDS, help="exact (torch) or faiss (faiss-cpu)")
    parser.add_argument("--sheet", default=None, help="also draw the results of row-id queries as this PNG")
    add_log_level_flag(parser)
    return parser


def parse_query(text: str) -> int | Path:
    """A row id (digits) or an image file; a file wins when both could be meant."""
    path = Path(text)
    if path.is_file() or not text.isdigit():
        return path
    return int(text)


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-search`: parse the flags, then search."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    search(args)


def search(args: argparse.Namespace) -> dict[tuple[str, str], SearchResults]:
    """Print a table per query and weighting (and the sheet); returns {(query, weighting text): results}."""
    index = EmbeddingIndex.load(args.index, backend=args.backend)
    weightings = [parse_weighting(text, index.spaces) for text in args.weights or [",".join(index.spaces)]]
    queries = [str(query) for query in args.query]  # `12`, `'[0, 3]'` and `photo.png` alike: parse_query decides
    found = {}
    for text in queries:
        for weights in weightings:
            results = index.search(parse_query(text), weights, args.k)
            found[(text, weighting_text(weights))] = results
            rows = results.table()
            print(f"query {text}, weights {weighting_text(weights)}:")
            print(format_table(list(rows[0]), [list(row.values()) for row in rows]) + "\n")
    if args.sheet:
        ids = [query for query in map(parse_query, queries) if isinstance(query, int)]
        if not ids:
            raise SystemExit("--sheet draws row-id queries; none of --query is a row id")
        named = {weighting_text(weights): weights for weights in weightings}
        print(f"sheet: {save_search_sheet(index, ids, named, args.sheet, k=min(args.k, 8))}")
    return found


if __name__ == "__main__":
    main()
