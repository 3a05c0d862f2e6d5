"""Reproduce the paper's claims at CPU scale: a resumable grid of pretraining runs, their evaluation, and a report.

    python scripts/reproduce.py --grid cpu                  # the CPU grid (about an hour on 2 idle cores)
    python scripts/reproduce.py --grid cpu --report_only    # tables, figure and verdicts from finished runs
    python scripts/reproduce.py --grid paper --dataset /data/imagenet-100   # prints the GPU grid's commands

The grid (docs/reproduction.md): MoCo v2, MoCo + Rotation, LooC (rotation left out), LooC (colour + rotation) and
LooC++ (colour + rotation), one zoo recipe each per dataset that differs only in the model, so backbone,
resolution, steps, batch and seed are shared; plus two reference rows, a randomly initialised model (BatchNorm
calibrated) and raw pixels. The grid and its runs are library (`looc_hub.reproduction`: `looc-reproduce` checks
one entry against its card with them): every model is pretrained by `looc-pretrain` and evaluated by
`looc-evaluate`, each in its own process (`--jobs` at a time, one thread each), and every finished step leaves
its file at once: a model folder, then one results JSON per evaluation. A rerun skips what is finished and
resumes an interrupted pretraining from its last checkpoint, so a grid can be completed over several sittings.

The report (`<grid_dir>/report.md`, `report.json`, `reproduction.png`) holds the table (model x space x task,
each with its 95% test-set interval) and one verdict per claim, decided by the rules in `judge`, whichever way
they go.

The texture grid (`--datasets gimp32`, or `textures32` for the pip-only set): MoCo v2, MoCo + Texture and LooC
(texture left out) on texture patches whose label is the texture, from the grid's own recipes (no zoo entries).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from looc_hub import get_zoo_entry  # noqa: E402
from looc_hub.eval.plotting import pyplot, save_figure  # noqa: E402
from looc_hub.eval.results import load_results, save_results, seed_results_path  # noqa: E402
from looc_hub.reproduction.grid import ALL_METHODS, DATASETS, GRIDS, METHODS, PAPER_MODELS, REFERENCE  # noqa: E402
from looc_hub.reproduction.runs import Run, grid_runs, merged_results, run_grid  # noqa: E402
from looc_hub.spaces import PIXELS  # noqa: E402

# ---- the report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One number of the table on one seed or several: per seed, its accuracy (or sensitivity) and 95% test-set
    half-width (None: not given). Its value is the mean over its seeds."""

    per_seed: tuple[tuple[int, float, float | None], ...]

    @classmethod
    def of(cls, seed: int, value: float, ci95: float | None = None) -> Measure:
        return cls(((seed, value, ci95),))

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(seed for seed, _, _ in self.per_seed)

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(value for _, value, _ in self.per_seed)

    @property
    def value(self) -> float:
        return statistics.fmean(self.values)

    @property
    def ci95(self) -> float | None:
        """The test-set half-width: the root mean square of the seeds' (every seed is tested on the same images)."""
        given = [ci95 for _, _, ci95 in self.per_seed if ci95 is not None]
        return statistics.fmean(c**2 for c in given) ** 0.5 if given else None

    @property
    def sd(self) -> float | None:
        """The standard deviation over seeds (None for one seed)."""
        return statistics.stdev(self.values) if len(self.per_seed) > 1 else None

    def on(self, seed: int) -> Measure:
        return Measure(tuple(entry for entry in self.per_seed if entry[0] == seed))

    def cell(self) -> str:
        """A table cell: one seed's value ± its test-set half-width, or the mean ± the sd over seeds."""
        digits = 1 if self.ci95 is not None else 2
        if self.sd is None:
            return f"{self.value:.{digits}f}" + (f" ± {self.ci95:.1f}" if self.ci95 is not None else "")
        return f"{self.value:.{digits}f} ± {self.sd:.{digits}f}"

    def __str__(self) -> str:
        return self.cell() if self.sd is None else f"{self.cell()} (mean ± sd, {len(self.per_seed)} seeds)"


TASKS = {  # column -> (evaluation, protocol, metric); a sensitivity record's metric is its augmentation
    "linear": ("base", "linear_probe", "top1"),
    "knn": ("base", "knn", "top1"),
    "rotation": ("base", "rotation_probe", "top1"),
    "colour": ("colour", "linear_probe", "top1"),
    "colour NN@10": ("colour_retrieval", "retrieval_recall", "precision@10"),  # Fig. 3: neighbours of one tone
    "sens. rotation": ("base", "sensitivity", "rotation"),
    "sens. colour": ("base", "sensitivity", "color"),
    "sens. texture": ("base", "sensitivity", "texture"),
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
                        table.setdefault(key, {})[task] = Measure.of(run.seed, record.value, record.ci95)
    return table


@dataclass(frozen=True)
class Verdict:
    claim: str
    dataset: str
    holds: bool | None  # None: not measurable on this dataset
    evidence: str


def _gap(a: Measure, b: Measure) -> tuple[float, float]:
    """(the mean of a - b over their shared seeds, its 95% noise): the larger of the seed interval of those paired
    differences (t over n - 1 degrees of freedom; none for one seed) and the test-set interval, which is taken
    conservatively from the two unpaired half-widths, as the root mean square over seeds."""
    seeds = [seed for seed in a.seeds if seed in b.seeds]
    if not seeds:
        raise ValueError(f"no seed measured for both {a} (seeds {a.seeds}) and {b} (seeds {b.seeds})")
    differences = [a.on(seed).value - b.on(seed).value for seed in seeds]
    test = statistics.fmean((a.on(seed).ci95 or 0.0) ** 2 + (b.on(seed).ci95 or 0.0) ** 2 for seed in seeds) ** 0.5
    n = len(differences)
    training = float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(differences) / n**0.5 if n > 1 else 0.0
    return statistics.fmean(differences), max(test, training)


Lookup = Callable[[str, str, str], Measure | None]
"""(run name, space, task) -> its measure on one dataset and seed, or None if not measured."""
LOOC_RUNS = ("looc_r", "looc", "loocpp")


def judge_lookup(table: dict[tuple[str, int, str, str], dict[str, Measure]], tag: str, seeds: Sequence[int]) -> Lookup:
    """(run, space, task) -> its measure on `tag` over those of `seeds` where it was measured."""

    def get(run: str, space: str, task: str) -> Measure | None:
        found = [m for seed in seeds if (m := table.get((tag, seed, run, space), {}).get(task))]
        return Measure(tuple(entry for m in found for entry in m.per_seed)) if found else None

    return get


def judge(table: dict[tuple[str, int, str, str], dict[str, Measure]], tag: str, seeds: Sequence[int]) -> list[Verdict]:
    """One verdict per claim of the paper on one dataset, over `seeds` (each comparison on the seeds' paired
    differences), by fixed rules (never tuned to agree)."""

    get = judge_lookup(table, tag, seeds)
    claims = (
        _claim_a, _claim_b, _claim_b_like_for_like, _claim_c, _claim_d, _claim_d_retrieval, _claim_e,
        _texture_claim_a, _texture_claim_b, _texture_claim_c,
    )  # fmt: skip
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
    def evidence(kept: object, invariant: object, moco_head: object) -> str:
        return (
            f"skin-tone probe (6 classes): Z_colour {kept}, Z_0 {invariant}, MoCo's Z_0 {moco_head} and "
            f"backbone {get('moco', 'backbone', 'colour')}, random init {get(REFERENCE, 'backbone', 'colour')}"
        )

    return _colour_kept(
        get, tag, "colour", "colour as an invariance removes colour information; Z_colour keeps it", evidence
    )


def _claim_d_retrieval(get: Lookup, tag: str) -> list[Verdict]:
    """Added with issue 22, before any retrieval number was seen: claim (d) read as the paper's Fig. 3 shows it."""

    def evidence(kept: object, invariant: object, moco_head: object) -> str:
        return (
            f"share of a held-out emoji's 10 nearest training emoji with its skin tone (chance about 16.7): "
            f"Z_colour {kept}, Z_0 {invariant}, MoCo's Z_0 {moco_head}, random init's backbone "
            f"{get(REFERENCE, 'backbone', 'colour NN@10')}"
        )

    claim = "Z_colour's nearest neighbours share the query's skin tone more often than Z_0's"
    return _colour_kept(get, tag, "colour NN@10", claim, evidence, label="d, retrieval")


def _colour_kept(
    get: Lookup, tag: str, metric: str, claim: str, evidence: Callable[..., str], label: str = "d"
) -> list[Verdict]:
    """Claim (d) on one metric: each LooC model's Z_colour beyond its Z_0 and beyond MoCo's Z_0."""
    moco_head = get("moco", "invariant", metric)
    verdicts = []
    for run in ("looc", "loocpp"):
        kept, invariant = get(run, "color", metric), get(run, "invariant", metric)
        if kept and invariant and moco_head:
            verdicts.append(
                Verdict(
                    f"({label}) {run}: {claim}",
                    tag,
                    _beyond_noise((kept, invariant), (kept, moco_head)),
                    evidence(kept, invariant, moco_head),
                )
            )
    return verdicts


def _texture_claim_a(get: Lookup, tag: str) -> list[Verdict]:
    """Texture grid (rules written before any texture result): naming the texture is the base task there."""
    moco, moco_texture = get("moco", "backbone", "linear"), get("moco_texture", "backbone", "linear")
    if not (moco and moco_texture):
        return []
    drop, noise = _gap(moco, moco_texture)
    heads = get("moco", "invariant", "linear"), get("moco_texture", "invariant", "linear")
    evidence = f"texture probe (backbone): MoCo {moco}, MoCo + Texture {moco_texture} ({-drop:+.1f} ± {noise:.1f})"
    if all(heads):
        evidence += f"; Z_0: MoCo {heads[0]}, MoCo + Texture {heads[1]}"
    return [Verdict("(a, texture) texture as an invariance removes texture information", tag, drop > noise, evidence)]


def _texture_claim_b(get: Lookup, tag: str) -> list[Verdict]:
    kept, moco_texture_head = get("looc_t", "texture", "linear"), get("moco_texture", "invariant", "linear")
    if not (kept and moco_texture_head):
        return []
    return [
        Verdict(
            "(b, texture) LooC's Z_texture keeps texture information (against MoCo + Texture's Z_0)",
            tag,
            _beyond_noise((kept, moco_texture_head)),
            f"texture probe: LooC's Z_texture {kept}, its Z_0 {get('looc_t', 'invariant', 'linear')}, MoCo + "
            f"Texture's Z_0 {moco_texture_head}",
        )
    ]


def _texture_claim_c(get: Lookup, tag: str) -> list[Verdict]:
    moco_texture = get("moco_texture", "backbone", "linear")
    measured = [m for space in ("backbone", "concat") if (m := get("looc_t", space, "linear"))]
    if not (measured and moco_texture):
        return []
    best = max(measured, key=lambda m: m.value)
    gap, noise = _gap(best, moco_texture)
    return [
        Verdict(
            "(c, texture) LooC's base task (naming the texture) at least MoCo + Texture's",
            tag,
            gap >= -noise,
            f"linear probe: LooC (texture) best of backbone / concat {best}, MoCo + Texture {moco_texture} "
            f"({gap:+.1f} ± {noise:.1f}); random init {get(REFERENCE, 'backbone', 'linear')}",
        )
    ]


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
    """Write report.md, report.json and reproduction.png under `output`; return the markdown.

    Per dataset: each seed's table and verdicts, then, with several seeds, the table of means ± sd and the
    verdicts over the seeds whose runs all finished (the rule across seeds: `_gap`)."""
    table = collect(runs)
    tags = list(dict.fromkeys(run.dataset.tag for run in runs))
    lines = []
    for tag in tags:
        for seed in seeds:
            rows = [(key, values) for key, values in table.items() if key[0] == tag and key[1] == seed]
            if rows:
                lines += [f"### {DATASETS[tag].label}, seed {seed}", "", _markdown_table(rows), ""]
                lines += [_verdict_line(v) for v in judge(table, tag, [seed])] + [""]
        complete = [s for s in seeds if all(r.finished() for r in runs if r.dataset.tag == tag and r.seed == s)]
        if len(complete) > 1:
            lines += _across_seeds(table, tag, complete, asked=seeds)
    markdown = "\n".join(lines)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.md").write_text(markdown)
    records = [
        {"dataset": k[0], "seed": k[1], "model": k[2], "space": k[3], "task": task, "value": m.value, "ci95": m.ci95}
        for k, values in table.items()
        for task, m in values.items()
    ]
    (output / "report.json").write_text(json.dumps(records, indent=1) + "\n")
    rotation_tags = [tag for tag in tags if any(key[0] == tag and "rotation" in v for key, v in table.items())]
    if rotation_tags:  # the texture grid has no rotation probe: no panel
        _plot(table, rotation_tags, seeds, output / "reproduction.png")
    return markdown


def _across_seeds(table: dict, tag: str, seeds: Sequence[int], asked: Sequence[int]) -> list[str]:
    """The table of means ± sd over `seeds` and each verdict across them, beside the seeds where it held alone."""
    get = judge_lookup(table, tag, seeds)
    names = dict.fromkeys((name, space) for (data, seed, name, space) in table if data == tag and seed in seeds)
    pooled = {(tag, -1, name, space): {task: get(name, space, task) for task in TASKS} for name, space in names}
    pooled = {key: {task: m for task, m in values.items() if m is not None} for key, values in pooled.items()}
    shown = ", ".join(map(str, seeds))
    missing = [seed for seed in asked if seed not in seeds]
    heading = f"### {DATASETS[tag].label}, seeds {shown}: mean ± sd over seeds"
    lines = [heading + (f" (seed {', '.join(map(str, missing))} not finished)" if missing else ""), ""]
    lines += [_markdown_table(list(pooled.items())), ""]
    alone = {seed: {v.claim: v.holds for v in judge(table, tag, [seed])} for seed in seeds}
    for verdict in judge(table, tag, seeds):
        held = sum(bool(alone[seed].get(verdict.claim)) for seed in seeds)
        lines.append(_verdict_line(verdict, f" (alone: held in {held} of {len(seeds)} seeds)"))
    return [*lines, ""]


def _verdict_line(verdict: Verdict, note: str = "") -> str:
    return f"- **{verdict.claim}**: {'holds' if verdict.holds else 'does not hold'}{note}. {verdict.evidence}"


def _model_label(name: str) -> str:
    return next((m.label for m in ALL_METHODS if m.key == name), "random init")


def _markdown_table(rows: list[tuple[tuple[str, int, str, str], dict[str, Measure]]]) -> str:
    order = [m.key for m in ALL_METHODS] + [REFERENCE]
    spaces = ["backbone", "invariant", "color", "rotation", "texture", "concat", PIXELS]
    rows = sorted(rows, key=lambda row: (order.index(row[0][2]), spaces.index(row[0][3])))
    tasks = [task for task in TASKS if any(task in values for _, values in rows)]
    header = ["model", "space", *tasks]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (_, _, name, space), values in rows:
        label = "raw pixels" if space == PIXELS else _model_label(name)
        cells = [values[task].cell() if task in values else "" for task in tasks]
        out.append("| " + " | ".join([label, "" if space == PIXELS else space, *cells]) + " |")
    return "\n".join(out)


def _plot(table: dict, tags: Sequence[str], seeds: Sequence[int], path: Path) -> None:
    """Rotation probe against base-task linear probe, per model and space: the paper's trade-off, per dataset.
    Each point is the mean over the seeds measured, its bars the sd over them (one seed: its test-set interval)."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4.5), squeeze=False)
    markers = {"backbone": "o", "invariant": "s", "color": "^", "rotation": "*", "concat": "D", PIXELS: "x"}
    for axis, tag in zip(axes[0], tags, strict=True):
        names = {(name, space) for (data, _, name, space), values in table.items() if data == tag}
        for name, space in sorted(names):
            get = judge_lookup(table, tag, seeds)
            x, y = get(name, space, "linear"), get(name, space, "rotation")
            if x is None or y is None:
                continue
            color = "grey" if name == REFERENCE else f"C{[m.key for m in METHODS].index(name)}"
            bars = [m.sd if m.sd is not None else m.ci95 for m in (x, y)]
            axis.errorbar(x.value, y.value, xerr=bars[0], yerr=bars[1], fmt=markers[space], color=color, ms=7)
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
    """Each finished model's evaluations merged into `<destination>/<zoo name>.json` for `seed` (the numbers that
    `scripts/make_cards.py` puts in the zoo entry's card: `model_cards/results/`) and `<zoo name>.seed<k>.json` for
    every other finished seed k (the card's mean ± sd over seeds); sets outside the zoo have none."""
    written = []
    for run in runs:
        if run.method is None or not run.dataset.zoo or not run.finished():
            continue
        name = run.dataset.zoo_name(run.method)
        path = destination / f"{name}.json"
        written.append(
            save_results(merged_results(run, name), path if run.seed == seed else seed_results_path(path, run.seed))
        )
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
            f"looc-evaluate --model {output}/model --dataset {dataset} --train_split train "
            f"--test_split validation --label_column label --protocols knn linear_probe rotation_probe sensitivity "
            f"--augmentations rotation color --output_dir {output}/eval_base"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", choices=("cpu", "paper"), default="cpu", help="which grid (default: %(default)s)")
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), help="a part of the cpu grid")
    parser.add_argument("--methods", nargs="+", choices=[m.key for m in ALL_METHODS], help="a part of the cpu grid")
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
        help="write the first seed's results (and the other seeds', for the spread) to model_cards/results/ for the "
        "zoo's cards (then scripts/make_cards.py)",
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
    methods = None if args.methods is None else [m for m in ALL_METHODS if m.key in args.methods]
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
