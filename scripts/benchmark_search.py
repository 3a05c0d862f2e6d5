"""Queries per second of the exact chunked torch search against FAISS, on 100k and 1M random unit vectors.

Both search the same (N, 128) float32 matrix by inner product for the top 10 (FAISS's `IndexFlatIP`, also exact;
the index build is not timed), with the same number of threads, runs alternating; the ratio is the median of the
per-pair ratios, and the two are compared neighbour by neighbour. The gallery is 128-d, one LooC space;
a weighting of several spaces searches their concatenation (n x 128). Results: benchmarks/results/search.{json,md}.

    python scripts/benchmark_search.py              # 100k and 1M rows, 256 queries, 3 pairs
    python scripts/benchmark_search.py --quick      # 10k rows, smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import faiss
import torch

from looc_hub.embeddings.search import ExactSearch, FaissSearch

REPO = Path(__file__).resolve().parents[1]
DIM, K = 128, 10


def queries_per_second(
    backend: ExactSearch | FaissSearch, queries: torch.Tensor
) -> tuple[float, tuple[torch.Tensor, torch.Tensor]]:
    started = time.perf_counter()
    found = backend.search(queries, K)
    return len(queries) / (time.perf_counter() - started), found


def agreement(exact: tuple[torch.Tensor, torch.Tensor], fast: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """Rows whose top-k ids differ, and the largest score gap at a differing position (float rounding: ~1e-7)."""
    differ = exact[1] != fast[1]
    gap = (exact[0] - fast[0]).abs()[differ].max().item() if differ.any() else 0.0
    return {"rows_differing": int(differ.any(dim=1).sum()), "max_score_gap_where_ids_differ": gap}


def measure(rows: int, num_queries: int, pairs: int) -> dict:
    generator = torch.Generator().manual_seed(rows)
    gallery = torch.nn.functional.normalize(torch.randn(rows, DIM, generator=generator), dim=1)
    queries = torch.nn.functional.normalize(torch.randn(num_queries, DIM, generator=generator), dim=1)
    exact, fast = ExactSearch(gallery), FaissSearch(gallery)
    runs = []
    for _ in range(pairs):
        exact_qps, exact_found = queries_per_second(exact, queries)
        faiss_qps, faiss_found = queries_per_second(fast, queries)
        runs.append({"exact_qps": exact_qps, "faiss_qps": faiss_qps, **agreement(exact_found, faiss_found)})
        print(json.dumps({"rows": rows, **runs[-1]}), flush=True)
    return {
        "rows": rows,
        "queries": num_queries,
        "runs": runs,
        "exact_qps": statistics.median(r["exact_qps"] for r in runs),
        "faiss_qps": statistics.median(r["faiss_qps"] for r in runs),
        "faiss_over_exact": statistics.median(r["faiss_qps"] / r["exact_qps"] for r in runs),
        "rows_differing": max(r["rows_differing"] for r in runs),
        "max_score_gap_where_ids_differ": max(r["max_score_gap_where_ids_differ"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output_dir", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.pairs = [10_000], 1
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    results = [measure(rows, args.queries, args.pairs) for rows in args.rows]
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, faiss {faiss.__version__}",
        "dim": DIM,
        "k": K,
        "threads": args.threads,
        "load_average_after": os.getloadavg()[0],
        "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "search.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "search.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    rows = "\n".join(
        f"| {r['rows']:,} | {r['queries']} | {r['exact_qps']:,.0f} | {r['faiss_qps']:,.0f} | "
        f"{r['faiss_over_exact']:.2f}x | {r['rows_differing']} | {r['max_score_gap_where_ids_differ']:.1e} |"
        for r in report["results"]
    )
    return f"""# Search throughput: exact chunked torch search against FAISS

{report["date"]}, {report["machine"]}. Random unit vectors, {report["dim"]}-d, top {report["k"]}, {report["threads"]}
thread(s), medians of alternating runs. FAISS is `IndexFlatIP` (exact; build not timed). Load average after the runs:
{report["load_average_after"]:.1f} (above the core count: other processes shared the CPU). Where the two order
neighbours differently, the score gap shows whether it is float rounding between near-equal scores.

| rows | queries | exact queries/s | FAISS queries/s | FAISS / exact | queries with other ids | score gap there |
|---|---|---|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
