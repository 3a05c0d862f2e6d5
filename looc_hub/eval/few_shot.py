"""Few-shot classification on frozen features (the paper's Flowers-102 5/10-shot transfer), two protocols.

The paper reports 5- and 10-shot accuracy but not its protocol. Two are common, and they measure different things:
- `few_shot_accuracy`, results protocol "few_shot" (ours: the standard episodic one, Prototypical Networks,
  Snell et al. 2017): each episode samples N classes, K support and Q query images per class (all from the test
  split); queries take the class of the nearest prototype (mean of the L2-normalised support features) by cosine
  similarity. The result is the mean over episodes with the half-width of its 95% confidence interval.
- `kshot_linear_probe`, results protocol "kshot_linear_probe" (how Flowers-102 5/10-shot transfer is usually
  reported, e.g. CLIP's few-shot linear probes): K labelled training images of EVERY class train a linear probe
  (`fit_linear_probe`, its penalty chosen by leave-one-shot-out cross-validation on the K shots: the only
  labels a K-shot learner may see), tested on the whole test split, all classes at once. Several seeded draws of
  the K shots give the mean and the half-width of its 95% confidence interval (Student t over the draws).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from scipy.stats import t as student_t
from torch import Tensor

from .._checks import check_int, is_int
from ..spaces import concat_features
from .config import option
from .linear_probe import WEIGHT_DECAY_GRID, fit_linear_probe
from .protocol import EvalContext, Metric, Protocol
from .record import EvalRecord

__all__ = [
    "FEW_SHOT",
    "KSHOT_LINEAR_PROBE",
    "PROTOCOLS",
    "FewShotOptions",
    "FewShotResult",
    "KShotOptions",
    "KShotResult",
    "few_shot_accuracy",
    "kshot_linear_probe",
    "kshot_problem",
]


@dataclass(frozen=True)
class FewShotResult:
    accuracy: float  # mean episode accuracy, %
    ci95: float  # half-width of the 95% confidence interval of the mean, %
    episodes: int


def few_shot_accuracy(
    features: Tensor,
    labels: Tensor,
    *,
    ways: int = 5,
    shots: int = 5,
    queries: int = 15,
    episodes: int = 600,
    seed: int = 0,
) -> FewShotResult:
    """Mean ± 95% CI accuracy of nearest-prototype classification over `episodes` N-way K-shot episodes.

    Only classes with at least `shots + queries` images take part; at least `ways` such classes must exist.
    """
    for name, value in (("ways", ways), ("shots", shots), ("queries", queries), ("episodes", episodes)):
        check_int(name, value)
    if ways < 2:
        raise ValueError(f"ways must be at least 2, got {ways}")
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(f"need features (N, d) and labels (N,), got {tuple(features.shape)}, {tuple(labels.shape)}")
    features = F.normalize(features.float(), dim=1)
    per_class = [(labels == c).nonzero().squeeze(1) for c in labels.unique()]
    eligible = [rows for rows in per_class if len(rows) >= shots + queries]
    if len(eligible) < ways:
        raise ValueError(
            f"{ways}-way {shots}-shot with {queries} queries needs {ways} classes of >= {shots + queries} images; "
            f"only {len(eligible)} qualify"
        )
    generator = torch.Generator().manual_seed(seed)
    accuracies = torch.empty(episodes)
    for episode in range(episodes):
        chosen = torch.randperm(len(eligible), generator=generator)[:ways]
        picks = [eligible[c][torch.randperm(len(eligible[c]), generator=generator)[: shots + queries]] for c in chosen]
        rows = torch.stack(picks)  # (ways, shots + queries)
        support, query = features[rows[:, :shots]], features[rows[:, shots:]]  # (W, K, d), (W, Q, d)
        prototypes = F.normalize(support.mean(1), dim=1)  # (W, d)
        predicted = (query @ prototypes.T).argmax(-1)  # (W, Q, W) -> (W, Q)
        truth = torch.arange(ways).unsqueeze(1)  # (W, 1)
        accuracies[episode] = 100.0 * (predicted == truth).float().mean()
    half_width = 1.96 * accuracies.std().item() / math.sqrt(episodes) if episodes > 1 else 0.0
    return FewShotResult(accuracies.mean().item(), half_width, episodes)


@dataclass(frozen=True)
class KShotResult:
    accuracy: float  # mean test top-1 over the draws, %
    ci95: float  # half-width of the 95% confidence interval of the mean (Student t over draws), %
    shots: int
    accuracies: tuple[float, ...]  # per draw, %
    weight_decays: tuple[float, ...]  # the penalty each draw's probe chose


def kshot_problem(
    labels: Tensor, shots: int, *, num_classes: int | None = None, choose_penalty: bool = True
) -> str | None:
    """Why a K-shot linear probe cannot run on these training labels (a sentence), or None when it can.

    It needs at least 2 classes, `shots` >= 2 when it chooses its penalty (cross-validation holds out one shot
    per class; 1 with a fixed penalty) and `shots` training images in every class, including any class only the test
    split holds (`num_classes`).
    """
    minimum = 2 if choose_penalty else 1
    if not is_int(shots) or shots < minimum:
        why = " (choosing the penalty holds out one shot per class)" if choose_penalty else ""
        return f"shots must be an integer >= {minimum}{why}, got {shots!r}"
    counts = torch.bincount(labels.long(), minlength=num_classes or 0)
    if int((counts > 0).sum()) < 2:
        return f"it needs at least 2 classes in the training labels, found {int((counts > 0).sum())}"
    short = {index: int(count) for index, count in enumerate(counts.tolist()) if count < shots}
    if short:
        listed = ", ".join(f"class {index}: {count}" for index, count in list(short.items())[:5])
        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
        return (
            f"{shots}-shot needs {shots} training images in every class; {len(short)} class(es) have fewer "
            f"({listed}{more}); the largest valid K is {int(counts.min())}"
        )
    return None


def kshot_linear_probe(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    shots: int,
    draws: int = 5,
    seed: int = 0,
    weight_decay: float | None = None,
    weight_decay_grid: Sequence[float] = WEIGHT_DECAY_GRID,
) -> KShotResult:
    """Mean ± 95% CI test top-1 of linear probes trained on `shots` images per class, over `draws` seeded draws.

    Every class of the training and test labels takes part. `weight_decay` None chooses the penalty per draw by
    leave-one-shot-out cross-validation (K folds, each holding out one shot per class); a value fixes it (then
    `shots` may be 1).
    """
    check_int("draws", draws)
    for name, features, labels in (("train", train_features, train_labels), ("test", test_features, test_labels)):
        if features.ndim != 2 or labels.shape != (len(features),) or len(features) == 0:
            raise ValueError(
                f"need {name} features (N, d) and labels (N,) with N > 0, got {tuple(features.shape)}, "
                f"{tuple(labels.shape)}"
            )
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    problem = kshot_problem(train_labels, shots, num_classes=num_classes, choose_penalty=weight_decay is None)
    if problem is not None:
        raise ValueError(f"K-shot linear probe: {problem}")
    per_class = [(train_labels == c).nonzero().squeeze(1) for c in range(num_classes)]
    accuracies, chosen = [], []
    for draw in range(draws):
        generator = torch.Generator().manual_seed(seed + draw)
        rows = torch.cat(
            [class_rows[torch.randperm(len(class_rows), generator=generator)[:shots]] for class_rows in per_class]
        )
        probe = fit_linear_probe(
            train_features[rows],
            train_labels[rows],
            num_classes=num_classes,
            weight_decay=weight_decay,
            weight_decay_grid=weight_decay_grid,
            folds=shots if weight_decay is None else None,
            seed=seed + draw,
        )
        accuracies.append(probe.accuracy(test_features, test_labels)["top1"])
        chosen.append(probe.weight_decay)
    values = torch.tensor(accuracies, dtype=torch.float64)
    half_width = float(student_t.ppf(0.975, draws - 1) * values.std().item() / math.sqrt(draws)) if draws > 1 else 0.0
    return KShotResult(values.mean().item(), half_width, shots, tuple(accuracies), tuple(chosen))


@dataclass
class FewShotOptions:
    """The episodic few-shot protocol's settings."""

    shots: list[int] = option([5, 10], help="few_shot (episodic) shots")
    ways: int = option(5, help="few_shot (episodic) ways")
    queries: int = option(15, help="few_shot (episodic) queries per class")
    episodes: int = option(600, help="few_shot (episodic) episodes")


def _check_few_shot(context: EvalContext) -> list[str]:
    options, found = context.config.options(FewShotOptions), []
    if options.ways < 2:
        found.append(f"--ways must be >= 2, got {options.ways}")
    for name in ("queries", "episodes"):
        if getattr(options, name) < 1:
            found.append(f"--{name} must be >= 1, got {getattr(options, name)}")
    test_counts = torch.bincount(context.test_labels)
    ranked = test_counts.sort(descending=True).values  # images per class, largest first
    for shots in options.shots:
        eligible = int((test_counts >= shots + options.queries).sum())
        if shots < 1:
            found.append(f"--shots must be >= 1, got {shots}")
        elif eligible < options.ways:
            largest = int(ranked[options.ways - 1]) - options.queries if len(ranked) >= options.ways else 0
            fix = f"--shots <= {largest} fit" if largest >= 1 else "use fewer --ways or --queries"
            found.append(
                f"--ways {options.ways} --shots {shots} --queries {options.queries} needs {options.ways} classes with "
                f"{shots + options.queries}+ images in the {context.config.test_split!r} split; {eligible} have that "
                f"({fix})"
            )
    return found


def _run_few_shot(context: EvalContext) -> Iterator[EvalRecord]:
    options = context.config.options(FewShotOptions)
    for key in context.keys:
        for shots in options.shots:
            few = few_shot_accuracy(
                concat_features(context.test_features, key),
                context.test_labels,
                ways=options.ways,
                shots=shots,
                queries=options.queries,
                episodes=options.episodes,
                seed=context.config.seed,
            )
            setting = {"ways": options.ways, "shots": shots, "queries": options.queries, "episodes": options.episodes}
            yield context.record(
                "few_shot", key, "accuracy", few.accuracy, few.ci95, **setting, method="episodic prototypes"
            )


FEW_SHOT = Protocol(
    "few_shot",
    "few-shot",  # episodic N-way prototypes; its params (ways, shots, episodes) say so
    "image-classification",
    run=_run_few_shot,
    options=FewShotOptions,
    check=_check_few_shot,
    default=True,
    metrics=MappingProxyType({"accuracy": Metric(hub_type="accuracy")}),
)


@dataclass
class KShotOptions:
    """The K-shot linear probe's settings."""

    kshot: list[int] = option([5, 10], help="kshot_linear_probe: K per class")
    kshot_draws: int = option(5, help="kshot_linear_probe: seeded draws of the K shots")


def _check_kshot(context: EvalContext) -> list[str]:
    options, found = context.config.options(KShotOptions), []
    if options.kshot_draws < 1:
        found.append(f"--kshot_draws must be >= 1, got {options.kshot_draws}")
    num_classes = max(len(torch.bincount(context.train_labels)), len(torch.bincount(context.test_labels)))
    for shots in options.kshot:
        choose_penalty = context.config.probe_weight_decay is None
        reason = kshot_problem(context.train_labels, shots, num_classes=num_classes, choose_penalty=choose_penalty)
        if reason is not None:
            found.append(f"--kshot {shots}: {reason}")
    return found


def _run_kshot(context: EvalContext) -> Iterator[EvalRecord]:
    config, options = context.config, context.config.options(KShotOptions)
    chosen = "fixed" if config.probe_weight_decay is not None else "leave-one-shot-out"
    for key in context.keys:
        for shots in options.kshot:
            result = kshot_linear_probe(
                concat_features(context.train_features, key),
                context.train_labels,
                concat_features(context.test_features, key),
                context.test_labels,
                shots=shots,
                draws=options.kshot_draws,
                seed=config.seed,
                weight_decay=config.probe_weight_decay,
            )
            setting = {"shots": shots, "draws": options.kshot_draws, "method": "lbfgs", "weight_decay_from": chosen}
            yield context.record(
                "kshot_linear_probe",
                key,
                "top1",
                result.accuracy,
                result.ci95,
                **setting,
                weight_decays=list(result.weight_decays),
            )


KSHOT_LINEAR_PROBE = Protocol(
    "kshot_linear_probe",
    "K-shot linear probe (all classes)",
    "image-classification",
    run=_run_kshot,
    options=KShotOptions,
    check=_check_kshot,
    labelled=True,
    default=True,
)

PROTOCOLS = (FEW_SHOT, KSHOT_LINEAR_PROBE)
