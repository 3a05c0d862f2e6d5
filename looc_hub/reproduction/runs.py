"""Running the grid: one folder per run, every finished step kept, so a grid resumes over several sittings.

Every model is pretrained by `looc-pretrain` and evaluated by `looc-evaluate`, each in its own process (one
thread each when several run at once), and every finished step leaves its file at once: a model folder, then
one results JSON per evaluation. A rerun skips what is finished and resumes an interrupted pretraining from its
last checkpoint. A run given a model folder (`Run.model`) skips pretraining and evaluates that folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import load_image_dataset
from ..eval.baselines import random_init_like
from ..eval.results import EvalResults, load_results
from ..hub.pretrained import LooCModel
from ..hub.zoo import get_zoo_entry
from ..spaces import PIXELS
from ..training.pretrain_config import PretrainConfig
from .grid import REFERENCE, Evaluation, GridDataset, Method

__all__ = ["Run", "evaluate_command", "execute", "grid_runs", "merged_results", "pretrain_command", "run_grid"]


@dataclass(frozen=True)
class Run:
    """One model of the grid: where it lives and the steps that finish it."""

    dataset: GridDataset
    method: Method | None  # None: the reference run
    seed: int
    root: Path
    max_steps: int | None = None  # a smoke run of the pipeline, not the grid's recipe
    model: Path | None = None  # a given model folder: evaluated as it is, never pretrained

    @property
    def name(self) -> str:
        return self.method.key if self.method else REFERENCE

    @property
    def directory(self) -> Path:
        return self.root / self.dataset.tag / f"seed{self.seed}" / self.name

    @property
    def pretrain_dir(self) -> Path:
        """`looc-pretrain`'s output folder (it refuses a folder that holds anything else)."""
        return self.directory / "pretrain"

    @property
    def model_dir(self) -> Path:
        if self.model is not None:
            return self.model
        return self.pretrain_dir / "model" if self.method else self.directory / "model"

    def results_path(self, evaluation: Evaluation) -> Path:
        """Where a finished evaluation's results are: its folder is renamed into place only when it succeeded."""
        return self.directory / f"eval_{evaluation.name}" / "results.json"

    def finished(self) -> bool:
        return all(self.results_path(e).is_file() for e in self.dataset.evaluations)


def grid_runs(
    datasets: Sequence[GridDataset],
    seeds: Sequence[int],
    root: Path,
    methods: Sequence[Method] | None = None,
    max_steps: int | None = None,
) -> list[Run]:
    """Every run of the grid (and each dataset's reference run), the most expensive first, so that parallel jobs
    end together. `methods` (by key) picks among each dataset's own; None: all of them."""
    keys = None if methods is None else {method.key for method in methods}
    runs = []
    for dataset in datasets:
        chosen = [method for method in dataset.methods if keys is None or method.key in keys]
        for seed in seeds:
            runs.append(Run(dataset, None, seed, root))  # raw pixels' probes are the slowest evaluation
            runs += [Run(dataset, method, seed, root, max_steps) for method in reversed(chosen)]
    return runs


def pretrain_command(run: Run) -> list[str]:
    """`looc-pretrain` for a run from its zoo recipe, resuming its last checkpoint if an earlier sitting left one."""
    assert run.method is not None
    command = [
        sys.executable, "-m", "looc_hub.cli.pretrain", "--config", run.dataset.recipe(run.method),
        "--output_dir", str(run.pretrain_dir), "--seed", str(run.seed), "--num_workers", "1",
        "--checkpoint_every_steps", "100", "--keep_checkpoints", "1",
    ]  # fmt: skip
    if run.max_steps is not None:
        command += ["--max_steps", str(run.max_steps)]
    if any((run.pretrain_dir / "checkpoints").glob("*")):
        command += ["--resume", "latest"]
    elif run.pretrain_dir.is_dir() and any(run.pretrain_dir.iterdir()):
        command += ["--overwrite", "true"]  # a start that left no checkpoint: only this grid's own files
    return command


def evaluate_command(run: Run, evaluation: Evaluation, output_dir: Path) -> list[str]:
    spaces = ["--spaces", *LooCModel.from_pretrained(run.model_dir).spaces, PIXELS] if run.method is None else []
    return [
        sys.executable, "-m", "looc_hub.cli.evaluate", "--model", str(run.model_dir),
        "--output_dir", str(output_dir), *evaluation.arguments(run.seed), *spaces,
    ]  # fmt: skip


def make_reference(run: Run) -> None:
    """A random init of the dataset's LooC model (its recipe's configuration), BatchNorm calibrated on the run's
    training images."""
    looc = next(method for method in run.dataset.methods if method.key == run.dataset.reference)
    recipe = PretrainConfig.from_file(run.dataset.recipe(looc))
    model = LooCModel(get_zoo_entry(recipe.model).config.replace(**recipe.model_overrides))
    evaluation = run.dataset.evaluations[0]
    train = load_image_dataset(evaluation.dataset, split=evaluation.train_split, label_column=evaluation.label_column)
    random_init_like(model, train, seed=run.seed).save_pretrained(run.model_dir)


def execute(run: Run, threads: int) -> str:
    """Finish one run: pretrain (or make the reference) unless its model exists, then each missing evaluation.

    Every step's output goes to a log beside its files; a failing step raises with the log's tail.
    """
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    started = time.monotonic()
    run.directory.mkdir(parents=True, exist_ok=True)
    if not (run.model_dir / "config.json").is_file():
        if run.model is not None:
            raise FileNotFoundError(f"{run.model} holds no config.json: not a saved LooC model folder")
        if run.method is None:
            make_reference(run)
        else:
            _call(pretrain_command(run), run.directory / "pretrain.log", env)
    for evaluation in run.dataset.evaluations:
        finished = run.results_path(evaluation).parent
        if finished.is_dir():
            continue
        staging = finished.with_name(finished.name + ".partial")  # a failed or interrupted try: this grid's own
        shutil.rmtree(staging, ignore_errors=True)
        _call(evaluate_command(run, evaluation, staging), run.directory / f"eval_{evaluation.name}.log", env)
        staging.rename(finished)
    return f"{run.dataset.tag}/seed{run.seed}/{run.name}: done in {time.monotonic() - started:.0f} s"


def _call(command: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("a") as stream:
        stream.write(f"\n$ {' '.join(command)}\n")
        stream.flush()
        code = subprocess.call(command, env=env, stdout=stream, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text().splitlines()[-20:]
        raise RuntimeError(f"{' '.join(command[:4])} ... failed (exit {code}); see {log}:\n" + "\n".join(tail))


def run_grid(runs: Sequence[Run], jobs: int) -> list[str]:
    """Run every unfinished run, `jobs` at a time; the others' results are kept when one fails."""
    pending = [run for run in runs if not run.finished()]
    print(f"{len(runs) - len(pending)} of {len(runs)} runs already finished; {len(pending)} to go, {jobs} at a time")
    threads = 1 if jobs > 1 else (os.cpu_count() or 1)
    failures = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(run, pool.submit(execute, run, threads)) for run in pending]
        for run, future in futures:
            try:
                print(future.result(), flush=True)
            except Exception as error:  # the other runs go on; reported at the end
                failures.append(f"{run.directory}: {error}")
                print(f"FAILED {run.directory}: {error}", file=sys.stderr, flush=True)
    return failures


def merged_results(run: Run, source: str) -> EvalResults:
    """A finished run's evaluations as one results file whose model `source` is `source` (a zoo name)."""
    parts = [load_results(run.results_path(evaluation)) for evaluation in run.dataset.evaluations]
    return EvalResults(replace(parts[0].model, source=source), [r for part in parts for r in part.results])
