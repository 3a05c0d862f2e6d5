"""Reproduce the paper's claims at CPU scale: a resumable grid of pretraining runs, their evaluation, and a report.

    python scripts/reproduce.py --grid cpu                  # the CPU grid (about an hour on 2 idle cores)
    python scripts/reproduce.py --grid cpu --report_only    # tables, figure and verdicts from finished runs
    python scripts/reproduce.py --grid paper --dataset /data/imagenet-100   # prints the GPU grid's commands

The grid (docs/reproduction.md): MoCo v2, MoCo + Rotation, LooC (rotation left out), LooC (colour + rotation) and
LooC++ (colour + rotation), one zoo recipe each per dataset that differs only in the model, so backbone,
resolution, steps, batch and seed are shared; plus two reference rows, a randomly initialised model (BatchNorm
calibrated) and raw pixels. Every model is pretrained by `training/pretrain.py` and evaluated by
`training/evaluate.py`, each in its own process (`--jobs` at a time, one thread each), and every finished step
leaves its file at once: a model folder, then one results JSON per evaluation. A rerun skips what is finished and
resumes an interrupted pretraining from its last checkpoint, so a grid can be completed over several sittings.

The report (`<grid_dir>/report.md`, `report.json`, `reproduction.png`) holds the table (model x space x task,
each with its 95% test-set interval) and one verdict per claim, decided by the rules in `CLAIMS`, whichever way
they go.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from looc_hub import LooCModel, get_zoo_entry  # noqa: E402
from looc_hub.data import load_image_dataset  # noqa: E402
from looc_hub.eval.baselines import random_init_like  # noqa: E402
from looc_hub.eval.plotting import pyplot, save_figure  # noqa: E402
from looc_hub.eval.results import EvalResults, load_results, save_results  # noqa: E402
from looc_hub.spaces import PIXELS  # noqa: E402


@dataclass(frozen=True)
class Method:
    """One row of the paper's grid: its zoo prefix and tag suffix (`<prefix>_resnet10t.<data><suffix>`)."""

    key: str
    label: str
    prefix: str
    suffix: str = ""


METHODS = (
    Method("moco", "MoCo v2", "moco"),
    Method("moco_rotation", "MoCo + Rotation", "moco_rotation"),
    Method("looc_r", "LooC (rotation)", "looc", "_r"),
    Method("looc", "LooC (colour + rotation)", "looc"),
    Method("loocpp", "LooC++ (colour + rotation)", "loocpp"),
)
REFERENCE = "random_init"
"""The reference run of a dataset: a random init of the LooC (colour + rotation) model, evaluated also on `PIXELS`."""


@dataclass(frozen=True)
class Evaluation:
    """One `training/evaluate.py` call of every model of a dataset: a task and the protocols that measure it."""

    name: str
    dataset: str
    train_split: str
    test_split: str
    label_column: str
    protocols: tuple[str, ...]
    max_train_rows: int | None = None
    max_test_rows: int | None = None

    def arguments(self, seed: int) -> list[str]:
        rows = []
        if self.max_train_rows:
            rows += ["--max_train_rows", str(self.max_train_rows)]
        if self.max_test_rows:
            rows += ["--max_test_rows", str(self.max_test_rows)]
        return [
            "--dataset", self.dataset, "--train_split", self.train_split, "--test_split", self.test_split,
            "--label_column", self.label_column, "--protocols", *self.protocols,
            "--augmentations", "rotation", "color", "--knn_k", "20", "--seed", str(seed), *rows,
        ]  # fmt: skip


_BASE_PROTOCOLS = ("knn", "linear_probe", "rotation_probe", "sensitivity")


@dataclass(frozen=True)
class GridDataset:
    """A pretraining dataset of the grid (`tag` names its zoo entries and recipes) and how its models are judged."""

    tag: str
    label: str
    evaluations: tuple[Evaluation, ...]

    def zoo_name(self, method: Method) -> str:
        return f"{method.prefix}_resnet10t.{self.tag}{method.suffix}"


DATASETS = {
    "fmnist32": GridDataset(
        "fmnist32",
        "Fashion-MNIST (10 classes, grey, upright)",
        # Probes on a seeded subset: 5,000 of the 60,000 training images and 2,000 of the 10,000 test images
        # (the rotation probe sees each at four turns), enough for a 95% interval of about 2 points.
        (Evaluation("base", "looc-hub/fashion-mnist", "train", "test", "label", _BASE_PROTOCOLS, 5000, 2000),),
    ),
    "openmoji32": GridDataset(
        "openmoji32",
        "OpenMoji (12 emoji groups, colour, upright)",
        (
            Evaluation("base", "looc-hub/openmoji", "train", "validation", "group", _BASE_PROTOCOLS),
            Evaluation("colour", "looc-hub/openmoji-skin-tones", "train", "validation", "skin_tone", ("linear_probe",)),
        ),
    ),
}
GRIDS = {"cpu": ("fmnist32", "openmoji32")}
PAPER_MODELS = (
    "moco_resnet50.in100",
    "moco_rotation_resnet50.in100",
    "looc_resnet50.in100_r",
    "looc_resnet50.in100",
    "loocpp_resnet50.in100",
)


# ---- running the grid ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One model of the grid: where it lives and the steps that finish it."""

    dataset: GridDataset
    method: Method | None  # None: the reference run
    seed: int
    root: Path
    max_steps: int | None = None  # a smoke run of the pipeline, not the grid's recipe

    @property
    def name(self) -> str:
        return self.method.key if self.method else REFERENCE

    @property
    def directory(self) -> Path:
        return self.root / self.dataset.tag / f"seed{self.seed}" / self.name

    @property
    def pretrain_dir(self) -> Path:
        """`training/pretrain.py`'s output folder (it refuses a folder that holds anything else)."""
        return self.directory / "pretrain"

    @property
    def model_dir(self) -> Path:
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
    methods: Sequence[Method] = METHODS,
    max_steps: int | None = None,
) -> list[Run]:
    """Every run of the grid (and each dataset's reference run), the most expensive first, so that parallel jobs
    end together."""
    runs = []
    for dataset in datasets:
        for seed in seeds:
            runs.append(Run(dataset, None, seed, root))  # raw pixels' probes are the slowest evaluation
            runs += [Run(dataset, method, seed, root, max_steps) for method in reversed(methods)]
    return runs


def pretrain_command(run: Run) -> list[str]:
    """`training/pretrain.py` for a run, resuming its last checkpoint if an earlier sitting left one."""
    assert run.method is not None
    entry = get_zoo_entry(run.dataset.zoo_name(run.method))
    command = [
        sys.executable, str(REPO / "training" / "pretrain.py"), "--config", entry.recipe,
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
        sys.executable, str(REPO / "training" / "evaluate.py"), "--model", str(run.model_dir),
        "--output_dir", str(output_dir), *evaluation.arguments(run.seed), *spaces,
    ]  # fmt: skip


def make_reference(run: Run) -> None:
    """A random init of the LooC (colour + rotation) model, BatchNorm calibrated on the run's training images."""
    looc = next(method for method in METHODS if method.key == "looc")
    model = LooCModel(get_zoo_entry(run.dataset.zoo_name(looc)).config)
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
        code = subprocess.call(command, cwd=REPO, env=env, stdout=stream, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text().splitlines()[-20:]
        raise RuntimeError(f"{' '.join(command[:3])} ... failed (exit {code}); see {log}:\n" + "\n".join(tail))


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


# ---- the report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One number of the table: accuracy (or sensitivity) and its 95% test-set half-width (None: not given)."""

    value: float
    ci95: float | None = None

    def __str__(self) -> str:
        return f"{self.value:.1f} ± {self.ci95:.1f}" if self.ci95 is not None else f"{self.value:.2f}"


TASKS = {  # column -> (evaluation, protocol, metric); a sensitivity record's metric is its augmentation
    "linear": ("base", "linear_probe", "top1"),
    "knn": ("base", "knn", "top1"),
    "rotation": ("base", "rotation_probe", "top1"),
    "colour": ("colour", "linear_probe", "top1"),
    "sens. rotation": ("base", "sensitivity", "rotation"),
    "sens. colour": ("base", "sensitivity", "color"),
}


def collect(runs: Sequence[Run]) -> dict[tuple[str, int, str, str], dict[str, Measure]]:
    """{(dataset tag, seed, run name, space key): {task: Measure}} from every finished results JSON."""
    table: dict[tuple[str, int, str, str], dict[str, Measure]] = {}
    for run in runs:
        for evaluation in run.dataset.evaluations:
            path = run.results_path(evaluation)
            if not path.is_file():
                continue
            for record in load_results(path).results:
                for task, (name, protocol, metric) in TASKS.items():
                    if name == evaluation.name and record.protocol == protocol and record.metric == metric:
                        key = (run.dataset.tag, run.seed, run.name, record.space)
                        table.setdefault(key, {})[task] = Measure(record.value, record.ci95)
    return table


@dataclass(frozen=True)
class Verdict:
    claim: str
    dataset: str
    holds: bool | None  # None: not measurable on this dataset
    evidence: str


def _gap(a: Measure, b: Measure) -> tuple[float, float]:
    """(a - b, the 95% half-width of the difference, conservatively from the two unpaired intervals)."""
    return a.value - b.value, ((a.ci95 or 0.0) ** 2 + (b.ci95 or 0.0) ** 2) ** 0.5


Lookup = Callable[[str, str, str], Measure | None]
"""(run name, space, task) -> its measure on one dataset and seed, or None if not measured."""
LOOC_RUNS = ("looc_r", "looc", "loocpp")


def judge(table: dict[tuple[str, int, str, str], dict[str, Measure]], tag: str, seed: int) -> list[Verdict]:
    """One verdict per claim of the paper on one dataset and seed, by fixed rules (never tuned to agree)."""

    def get(run: str, space: str, task: str) -> Measure | None:
        return table.get((tag, seed, run, space), {}).get(task)

    claims = (_claim_a, _claim_b, _claim_b_like_for_like, _claim_c, _claim_d, _claim_e)
    return [verdict for claim in claims for verdict in claim(get, tag)]


def _beyond_noise(*pairs: tuple[Measure, Measure]) -> bool:
    """Whether every first measure exceeds its second by more than the difference's noise."""
    return all(gap > noise for gap, noise in (_gap(a, b) for a, b in pairs))


def _claim_a(get: Lookup, tag: str) -> list[Verdict]:
    moco, moco_rot = get("moco", "backbone", "rotation"), get("moco_rotation", "backbone", "rotation")
    base, base_rot = get("moco", "backbone", "linear"), get("moco_rotation", "backbone", "linear")
    if not (moco and moco_rot and base and base_rot):
        return []
    drop, noise = _gap(moco, moco_rot)
    moved, moved_noise = _gap(base_rot, base)
    evidence = (
        f"rotation probe (backbone): MoCo {moco}, MoCo + Rotation {moco_rot} ({-drop:+.1f} ± {noise:.1f}); "
        f"base task moves {moved:+.1f} ± {moved_noise:.1f} (paper: 61.1 -> 43.3, base 81.0 -> 79.4)"
    )
    return [Verdict("(a) rotation as an invariance removes orientation information", tag, drop > noise, evidence)]


def _claim_b(get: Lookup, tag: str) -> list[Verdict]:
    moco_rot = get("moco_rotation", "backbone", "rotation")
    verdicts = []
    for run in LOOC_RUNS:
        rotation, concat = get(run, "rotation", "rotation"), get(run, "concat", "rotation")
        if moco_rot and rotation and concat:
            verdicts.append(
                Verdict(
                    f"(b) {run}: LooC keeps orientation information (rotation space and concatenation)",
                    tag,
                    _beyond_noise((rotation, moco_rot), (concat, moco_rot)),
                    f"rotation probe: Z_rotation {rotation}, concat {concat}, vs MoCo + Rotation's backbone {moco_rot}",
                )
            )
    return verdicts


def _claim_b_like_for_like(get: Lookup, tag: str) -> list[Verdict]:
    """Added after the first results: claim (b)'s rule sets a 128-d head space against a 512-d backbone."""
    moco_rot = get("moco_rotation", "backbone", "rotation")
    moco_rot_head = get("moco_rotation", "invariant", "rotation")
    verdicts = []
    for run in LOOC_RUNS:
        head, backbone = get(run, "rotation", "rotation"), get(run, "backbone", "rotation")
        if moco_rot and moco_rot_head and head and backbone:
            verdicts.append(
                Verdict(
                    f"(b, like for like) {run}: LooC keeps more orientation than MoCo + Rotation, space by space",
                    tag,
                    _beyond_noise((head, moco_rot_head), (backbone, moco_rot)),
                    f"rotation probe: Z_rotation {head} vs MoCo + Rotation's Z_0 {moco_rot_head}; backbone "
                    f"{backbone} vs {moco_rot}",
                )
            )
    return verdicts


def _claim_c(get: Lookup, tag: str) -> list[Verdict]:
    base_rot = get("moco_rotation", "backbone", "linear")
    verdicts = []
    for run in LOOC_RUNS:
        measured = [m for space in ("backbone", "concat") if (m := get(run, space, "linear"))]
        if not (measured and base_rot):
            continue
        best = max(measured, key=lambda m: m.value)
        gap, noise = _gap(best, base_rot)
        verdicts.append(
            Verdict(
                f"(c) {run}: base-task accuracy at least MoCo + Rotation's",
                tag,
                gap >= -noise,
                f"linear probe: {run} best of backbone / concat {best}, MoCo + Rotation {base_rot} "
                f"({gap:+.1f} ± {noise:.1f})",
            )
        )
    return verdicts


def _claim_d(get: Lookup, tag: str) -> list[Verdict]:
    reference, moco_backbone = get(REFERENCE, "backbone", "colour"), get("moco", "backbone", "colour")
    moco_head = get("moco", "invariant", "colour")
    verdicts = []
    for run in ("looc", "loocpp"):
        kept, invariant = get(run, "color", "colour"), get(run, "invariant", "colour")
        if kept and invariant and moco_head:
            verdicts.append(
                Verdict(
                    f"(d) {run}: colour as an invariance removes colour information; Z_colour keeps it",
                    tag,
                    _beyond_noise((kept, invariant), (kept, moco_head)),
                    f"skin-tone probe (6 classes): Z_colour {kept}, Z_0 {invariant}, MoCo's Z_0 {moco_head} and "
                    f"backbone {moco_backbone}, random init {reference}",
                )
            )
    return verdicts


def _claim_e(get: Lookup, tag: str) -> list[Verdict]:
    verdicts = []
    for run in LOOC_RUNS:
        heads = [space for space in ("invariant", "color", "rotation") if get(run, space, "sens. rotation")]
        most, least, parts = [], [], []
        for augmentation, own in (("rotation", "rotation"), ("colour", "color")):
            if own not in heads:
                continue
            values = {space: get(run, space, f"sens. {augmentation}").value for space in heads}
            most.append(max(values, key=values.get) == own)
            least.append(min(values, key=values.get) == "invariant")
            parts.append(f"{augmentation}: " + ", ".join(f"{space} {value:.2f}" for space, value in values.items()))
        if not parts:
            continue
        evidence = "sensitivity per head space; " + "; ".join(parts)
        verdicts += [
            Verdict(f"(e) {run}: Z_i is the most sensitive space to augmentation i", tag, all(most), evidence),
            Verdict(f"(e) {run}: Z_0 is the least sensitive space to each augmentation", tag, all(least), evidence),
        ]
    return verdicts


def report(runs: Sequence[Run], seeds: Sequence[int], output: Path) -> str:
    """Write report.md, report.json and reproduction.png under `output`; return the markdown."""
    table = collect(runs)
    tags = list(dict.fromkeys(run.dataset.tag for run in runs))
    lines = []
    for tag in tags:
        for seed in seeds:
            rows = [(key, values) for key, values in table.items() if key[0] == tag and key[1] == seed]
            if not rows:
                continue
            lines += [f"### {DATASETS[tag].label}, seed {seed}", "", _markdown_table(rows), ""]
            verdicts = judge(table, tag, seed)
            lines += [f"- **{v.claim}**: {'holds' if v.holds else 'does not hold'}. {v.evidence}" for v in verdicts] + [
                ""
            ]
    markdown = "\n".join(lines)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.md").write_text(markdown)
    records = [
        {"dataset": k[0], "seed": k[1], "model": k[2], "space": k[3], "task": task, "value": m.value, "ci95": m.ci95}
        for k, values in table.items()
        for task, m in values.items()
    ]
    (output / "report.json").write_text(json.dumps(records, indent=1) + "\n")
    _plot(table, tags, seeds, output / "reproduction.png")
    return markdown


def _model_label(name: str) -> str:
    return next((m.label for m in METHODS if m.key == name), "random init")


def _markdown_table(rows: list[tuple[tuple[str, int, str, str], dict[str, Measure]]]) -> str:
    order = [m.key for m in METHODS] + [REFERENCE]
    spaces = ["backbone", "invariant", "color", "rotation", "concat", PIXELS]
    rows = sorted(rows, key=lambda row: (order.index(row[0][2]), spaces.index(row[0][3])))
    tasks = [task for task in TASKS if any(task in values for _, values in rows)]
    header = ["model", "space", *tasks]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (_, _, name, space), values in rows:
        label = "raw pixels" if space == PIXELS else _model_label(name)
        cells = [str(values[task]) if task in values else "" for task in tasks]
        out.append("| " + " | ".join([label, "" if space == PIXELS else space, *cells]) + " |")
    return "\n".join(out)


def _plot(table: dict, tags: Sequence[str], seeds: Sequence[int], path: Path) -> None:
    """Rotation probe against base-task linear probe, per model and space: the paper's trade-off, per dataset."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4.5), squeeze=False)
    markers = {"backbone": "o", "invariant": "s", "color": "^", "rotation": "*", "concat": "D", PIXELS: "x"}
    for axis, tag in zip(axes[0], tags, strict=True):
        for (data, seed, name, space), values in table.items():
            if data != tag or seed != seeds[0] or "rotation" not in values or "linear" not in values:
                continue
            x, y = values["linear"], values["rotation"]
            color = "grey" if name == REFERENCE else f"C{[m.key for m in METHODS].index(name)}"
            axis.errorbar(x.value, y.value, xerr=x.ci95, yerr=y.ci95, fmt=markers[space], color=color, ms=7)
        for index, method in enumerate(METHODS):
            axis.plot([], [], "o", color=f"C{index}", label=method.label)
        axis.plot([], [], "o", color="grey", label="random init / raw pixels (x)")
        for space, marker in markers.items():
            if space != PIXELS:
                axis.plot([], [], marker, color="black", fillstyle="none", label=space)
        axis.axhline(25, color="grey", lw=0.5, ls=":")
        axis.set(title=DATASETS[tag].label, xlabel="base task, linear probe top-1 (%)", ylabel="rotation probe (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    save_figure(figure, path)


def zoo_results(runs: Sequence[Run], seed: int, destination: Path) -> list[Path]:
    """Each finished model's evaluations of `seed`, merged into `<destination>/<zoo name>.json`: the numbers that
    `scripts/make_cards.py` puts in the zoo entry's card (`model_cards/results/`)."""
    written = []
    for run in runs:
        if run.method is None or run.seed != seed or not run.finished():
            continue
        name = run.dataset.zoo_name(run.method)
        parts = [load_results(run.results_path(evaluation)) for evaluation in run.dataset.evaluations]
        merged = EvalResults(replace(parts[0].model, source=name), [r for part in parts for r in part.results])
        written.append(save_results(merged, destination / f"{name}.json"))
    return written


# ---- the GPU grid ---------------------------------------------------------------------------------------------


def paper_commands(dataset: str, processes: int) -> Iterator[str]:
    """The ImageNet-100 grid from the zoo's paper recipes: pretraining with `accelerate launch`, then evaluation."""
    for name in PAPER_MODELS:
        entry = get_zoo_entry(name)
        output = f"outputs/paper/{name}"
        yield (
            f"accelerate launch --multi_gpu --num_processes {processes} training/pretrain.py --config {entry.recipe} "
            f"--dataset {dataset} --output_dir {output}"
        )
        yield (
            f"python training/evaluate.py --model {output}/model --dataset {dataset} --train_split train "
            f"--test_split validation --label_column label --protocols knn linear_probe rotation_probe sensitivity "
            f"--augmentations rotation color --output_dir {output}/eval_base"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", choices=("cpu", "paper"), default="cpu", help="which grid (default: %(default)s)")
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), help="a part of the cpu grid")
    parser.add_argument("--methods", nargs="+", choices=[m.key for m in METHODS], help="a part of the cpu grid")
    parser.add_argument("--max_steps", type=int, default=None, help="a quick check of the pipeline, not the grid")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="pretraining seeds (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each (default: %(default)s)")
    parser.add_argument(
        "--output_dir", type=Path, default=REPO / "outputs" / "reproduction", help="default: %(default)s"
    )
    parser.add_argument("--report_only", action="store_true", help="only write the report from finished runs")
    parser.add_argument(
        "--zoo_results",
        action="store_true",
        help="write the first seed's results to model_cards/results/ for the zoo's cards (then scripts/make_cards.py)",
    )
    parser.add_argument("--dataset", default="/path/to/imagenet-100", help="--grid paper: the ImageNet-100 source")
    parser.add_argument("--num_processes", type=int, default=8, help="--grid paper: GPUs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.grid == "paper":
        print("\n".join(paper_commands(args.dataset, args.num_processes)))
        return
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    datasets = [DATASETS[tag] for tag in args.datasets or GRIDS["cpu"]]
    methods = [m for m in METHODS if args.methods is None or m.key in args.methods]
    runs = grid_runs(datasets, args.seeds, args.output_dir, methods, args.max_steps)
    failures = [] if args.report_only else run_grid(runs, args.jobs)
    print(report(runs, args.seeds, args.output_dir))
    print(f"report written to {args.output_dir / 'report.md'}")
    if args.zoo_results:
        if args.max_steps is not None:
            parser.error("--zoo_results takes the grid's own runs, not a --max_steps check")
        for path in zoo_results(runs, args.seeds[0], REPO / "model_cards" / "results"):
            print(f"zoo results written to {path}")
    if failures:
        raise SystemExit(f"{len(failures)} run(s) failed:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
