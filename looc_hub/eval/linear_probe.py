"""Linear classification on frozen features: the paper's main protocol (Table 1: IN-100 top-1, rotation).

One model, multinomial logistic regression on standardised features (standardising with the training mean and
population std is ours; it lets one penalty grid and one learning rate serve every space, whose scales differ by
orders of magnitude), with the objective

    mean cross-entropy + weight_decay / 2 * ||W||^2        (the bias is not penalised)

which is scikit-learn's `LogisticRegression` (lbfgs, multinomial) on `StandardScaler` features with
C = 1 / (N * weight_decay), N the number of training images. Two optimisers:
- "lbfgs" (ours, the default; the convex-probe protocol of CLIP): full batch in float64, trained to convergence,
  i.e. until the largest gradient entry is <= `tolerance` (a `ConvergenceWarning` names the iterations when
  `max_iter` runs out first), so the number does not depend on where the optimiser happened to stop. The solver
  is scipy's L-BFGS-B, in the span of the training rows when they are fewer than the features (logistic.py).
- "sgd": the paper's protocol (MoCo's linear evaluation): mini-batch SGD with momentum 0.9 on the same
  objective; the cosine schedule and the default epochs are ours for small data (MoCo: 100 epochs). Its sweep
  skips penalties with lr * weight_decay >= 1, where coupled decay diverges.

The penalty (ours, after CLIP's linear-probe protocol): unless `weight_decay` is given, each value of a log grid
is fitted on a stratified part of the training split and scored on the held-out rest (`validation_fraction`),
from the strongest penalty to the weakest, each fit starting from the previous solution; the best validation
accuracy wins (ties: the stronger penalty), and the probe is refitted on the whole training split with it
(starting from the chosen fit's solution: the problem is convex, so the start changes the time, not the result).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_int
from ..spaces import concat_features
from .config import PROBE_METHODS
from .intervals import accuracy_ci95
from .logistic import MultinomialLogistic
from .protocol import EvalContext, Protocol, per_class_problems
from .record import EvalRecord

__all__ = [
    "PROBE_METHODS",
    "PROTOCOLS",
    "WEIGHT_DECAY_GRID",
    "ConvergenceWarning",
    "LinearProbe",
    "fit_linear_probe",
    "fit_probe",
    "penalty_problems",
    "probe_params",
    "stratified_folds",
    "stratified_split",
    "topk_accuracy",
]

WEIGHT_DECAY_GRID: tuple[float, ...] = tuple(10.0**exponent for exponent in range(-6, 3))
"""1e-6 ... 1e2 by decades (9 values): from almost no penalty to weights pinned near zero (CLIP sweeps 1e-6 ... 1e6
at 8 steps per decade; on standardised features penalties above 1e2 all give the majority class, and half decades
moved validation accuracy by less than its noise on our sets)."""


class ConvergenceWarning(UserWarning):
    """An L-BFGS probe stopped at its iteration cap before its gradient tolerance."""


@dataclass
class LinearProbe:
    """A trained probe: `classifier` maps raw features (N, d) to logits (N, C); standardisation is folded in.

    `weight_decay` is the penalty it was trained with; `validation_accuracy` ({penalty: top-1 %}) the sweep that
    chose it (empty when the penalty was given); `iterations` / `converged` describe the final L-BFGS fit (None
    for SGD).
    """

    classifier: nn.Linear
    num_classes: int
    weight_decay: float = 0.0
    validation_accuracy: dict[float, float] = field(default_factory=dict)
    iterations: int | None = None
    converged: bool | None = None

    @torch.no_grad()
    def predict_logits(self, features: Tensor) -> Tensor:
        return self.classifier(features.float())

    def accuracy(self, features: Tensor, labels: Tensor) -> dict[str, float]:
        """{"top1": %, "top5": %} on `features` / `labels`."""
        return topk_accuracy(self.predict_logits(features), labels)


def fit_linear_probe(
    features: Tensor,
    labels: Tensor,
    *,
    num_classes: int | None = None,
    method: str = "lbfgs",
    weight_decay: float | None = None,
    weight_decay_grid: Sequence[float] = WEIGHT_DECAY_GRID,
    validation_fraction: float = 0.2,
    folds: int | None = None,
    max_iter: int = 1000,
    tolerance: float = 1e-5,
    epochs: int = 30,
    lr: float = 0.1,
    batch_size: int = 256,
    seed: int = 0,
) -> LinearProbe:
    """Train a linear classifier on (N, d) `features` with integer `labels` (N,).

    `weight_decay`: the L2 penalty (objective in the module docstring); None chooses it from
    `weight_decay_grid` on a stratified, seeded `validation_fraction` of the training rows (or, with `folds`, by
    stratified `folds`-fold cross-validation: for tiny training sets such as K shots per class), then refits on
    all of them. `max_iter` and `tolerance` (largest gradient entry) apply to "lbfgs"; `epochs`, `lr` and
    `batch_size` to "sgd". `num_classes` defaults to the largest label + 1.
    """
    if method not in PROBE_METHODS:
        raise ValueError(f"Unknown probe method {method!r}; valid choices: {list(PROBE_METHODS)}")
    if features.ndim != 2 or labels.shape != (len(features),) or len(features) == 0:
        raise ValueError(
            f"need features (N, d) and labels (N,) with N > 0, got {tuple(features.shape)}, {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or int(labels.min()) < 0:
        raise ValueError("labels must be integer class ids >= 0")
    num_classes = num_classes or int(labels.max()) + 1
    if int(labels.max()) >= num_classes:
        raise ValueError(f"label {int(labels.max())} is out of range for num_classes={num_classes}")
    if weight_decay is not None and not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0 (or None to choose it on a validation split), got {weight_decay}")
    if weight_decay is None and (not weight_decay_grid or any(not value >= 0 for value in weight_decay_grid)):
        raise ValueError(f"weight_decay_grid must be non-empty penalties >= 0, got {list(weight_decay_grid)}")
    for name, value in (("max_iter", max_iter), ("epochs", epochs), ("batch_size", batch_size)):
        check_int(name, value)
    labels = labels.long()
    fit = _Fitter(method, num_classes, max_iter, tolerance, epochs, lr, batch_size, seed)

    validation_accuracy: dict[float, float] = {}
    start = None
    if weight_decay is None:
        splits = (
            stratified_folds(labels, folds, seed)
            if folds is not None
            else [stratified_split(labels, validation_fraction, seed)]
        )
        weight_decay, validation_accuracy, start = _choose_weight_decay(
            features, labels, fit, _usable_grid(weight_decay_grid, method, lr), splits
        )

    standardised, mean, std = _standardise(features)
    weight, bias = fit(MultinomialLogistic(standardised, labels, num_classes), weight_decay, start)
    fit.warn_once("the final fit")
    linear = nn.Linear(features.shape[1], num_classes)
    with torch.no_grad():  # logits = W (x - mean) / std + b = (W / std) x + (b - (W / std) mean)
        folded = weight / std  # (C, d)
        linear.weight.copy_(folded.float())
        linear.bias.copy_((bias - folded @ mean).float())
    return LinearProbe(
        linear.requires_grad_(False),
        num_classes,
        weight_decay=float(weight_decay),
        validation_accuracy=validation_accuracy,
        iterations=fit.last_iterations,
        converged=fit.last_converged,
    )


def _usable_grid(weight_decay_grid: Sequence[float], method: str, lr: float) -> list[float]:
    """The penalties to try, strongest first (each fit warm-starts the next); for SGD only those it is stable at."""
    grid = sorted(set(weight_decay_grid), reverse=True)
    if method == "sgd":  # SGD's coupled decay multiplies weights by (1 - lr * weight_decay) each step
        grid = [value for value in grid if lr * value < 1]
        if not grid:
            raise ValueError(f"no weight_decay in the grid is below 1 / lr = {1 / lr:g}, where SGD is stable")
    return grid


def _choose_weight_decay(
    features: Tensor, labels: Tensor, fit: _Fitter, grid: list[float], splits: list[tuple[Tensor, Tensor]]
) -> tuple[float, dict[float, float], tuple[Tensor, Tensor]]:
    """(best penalty, {penalty: validation top-1 %}, the first split's solution at it, where the final fit starts).

    Accuracy is pooled over the splits' held-out rows; ties go to the stronger penalty.
    """
    correct = dict.fromkeys(grid, 0)
    solutions: dict[float, tuple[Tensor, Tensor]] = {}
    for index, (fit_rows, validation_rows) in enumerate(splits):
        x_fit, mean, std = _standardise(features[fit_rows])
        x_validation = (features[validation_rows].double() - mean) / std
        problem = MultinomialLogistic(x_fit, labels[fit_rows], fit.num_classes)
        state = None
        for value in grid:
            state = fit(problem, value, state)
            if index == 0:  # the final fit starts from the first split's solution
                solutions[value] = state
            predicted = (x_validation @ state[0].T + state[1]).argmax(1)
            correct[value] += int((predicted == labels[validation_rows]).sum())
    held_out = sum(len(validation_rows) for _, validation_rows in splits)
    validation_accuracy = {value: 100.0 * correct[value] / held_out for value in grid}
    best = max(validation_accuracy, key=lambda value: (validation_accuracy[value], value))
    fit.warn_once(f"choosing weight_decay on {len(splits)} split(s) of the {len(labels)} training rows")
    return best, validation_accuracy, solutions[best]


def stratified_split(labels: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """(fit rows, validation rows): `fraction` of each class, at least one, held out; seeded."""
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction}")
    generator = torch.Generator().manual_seed(seed)
    fit, validation = [], []
    for label in labels.unique():
        rows = (labels == label).nonzero().squeeze(1)
        rows = rows[torch.randperm(len(rows), generator=generator)]
        held = max(1, round(fraction * len(rows)))
        if held >= len(rows):
            raise ValueError(
                f"class {int(label)} has {len(rows)} example(s); holding out a validation part needs 2+ per class "
                "(or pass a fixed weight_decay to the linear probe)"
            )
        validation.append(rows[:held])
        fit.append(rows[held:])
    return torch.cat(fit), torch.cat(validation)


def stratified_folds(labels: Tensor, folds: int, seed: int) -> list[tuple[Tensor, Tensor]]:
    """`folds` (fit rows, validation rows) pairs: each class's rows dealt round-robin over the folds; seeded.

    Every class needs at least `folds` rows, so that each fold holds out at least one of each.
    """
    check_int("folds", folds, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    fold_of = torch.empty_like(labels)
    for label in labels.unique():
        rows = (labels == label).nonzero().squeeze(1)
        if len(rows) < folds:
            raise ValueError(
                f"class {int(label)} has {len(rows)} example(s); {folds}-fold cross-validation needs {folds}+ per "
                "class (or pass a fixed weight_decay to the linear probe)"
            )
        fold_of[rows[torch.randperm(len(rows), generator=generator)]] = torch.arange(len(rows)) % folds
    return [((fold_of != fold).nonzero().squeeze(1), (fold_of == fold).nonzero().squeeze(1)) for fold in range(folds)]


def topk_accuracy(logits: Tensor, labels: Tensor) -> dict[str, float]:
    """{"top1": %, "top5": %} of (N, C) scores; "top5" counts the 5 best classes (all when fewer exist)."""
    ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices  # (N, 5)
    hits = ranked == labels.to(ranked.device).unsqueeze(1)  # (N, 5)
    return {"top1": 100.0 * hits[:, 0].float().mean().item(), "top5": 100.0 * hits.any(1).float().mean().item()}


def _standardise(features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(standardised float64 features, mean, std): population std, 1 for constant features (as StandardScaler)."""
    features = features.double()
    mean, std = features.mean(0), features.std(0, unbiased=False)  # (d,), (d,)
    std = torch.where(std > 1e-12 * mean.abs().clamp_min(1.0), std, torch.ones_like(std))
    return (features - mean) / std, mean, std


class _Fitter:
    """Fits (weight (C, d), bias (C,)) for one penalty, optionally from a previous solution; tracks convergence."""

    def __init__(
        self,
        method: str,
        num_classes: int,
        max_iter: int,
        tolerance: float,
        epochs: int,
        lr: float,
        batch_size: int,
        seed: int,
    ) -> None:
        self.method, self.num_classes, self.max_iter, self.tolerance = method, num_classes, max_iter, tolerance
        self.epochs, self.lr, self.batch_size, self.seed = epochs, lr, batch_size, seed
        self.not_converged: list[tuple[float, int, float]] = []  # (penalty, iterations, largest gradient entry)
        self.last_iterations: int | None = None
        self.last_converged: bool | None = None

    def __call__(
        self, problem: MultinomialLogistic, weight_decay: float, start: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, Tensor]:
        if self.method == "lbfgs":
            return self._lbfgs(problem, weight_decay, start)
        return self._sgd(problem.features, problem.labels, weight_decay)  # from zero: its schedule restarts too

    def warn_once(self, what: str) -> None:
        """One `ConvergenceWarning` for the fits that stopped above the gradient tolerance since the last call."""
        if self.not_converged:
            listed = ", ".join(
                f"weight_decay={value:.3g}: stopped after {iterations} iterations at max |grad| {grad:.2g}"
                for value, iterations, grad in self.not_converged
            )
            warnings.warn(
                f"linear probe ({what}) did not converge to the gradient tolerance {self.tolerance:g} "
                f"(max_iter={self.max_iter}): {listed}; raise max_iter or the penalty",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.not_converged = []

    def _lbfgs(
        self, problem: MultinomialLogistic, weight_decay: float, start: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, Tensor]:
        solution = problem.solve(weight_decay, start, max_iter=self.max_iter, tolerance=self.tolerance)
        self.last_iterations = solution.iterations
        self.last_converged = solution.largest_gradient <= self.tolerance
        if not self.last_converged:
            self.not_converged.append((weight_decay, solution.iterations, solution.largest_gradient))
        return solution.weight, solution.bias

    def _sgd(self, x: Tensor, labels: Tensor, weight_decay: float) -> tuple[Tensor, Tensor]:
        weight = torch.zeros(self.num_classes, x.shape[1], dtype=x.dtype, requires_grad=True)
        bias = torch.zeros(self.num_classes, dtype=x.dtype, requires_grad=True)
        generator = torch.Generator().manual_seed(self.seed)
        groups = [{"params": [weight], "weight_decay": weight_decay}, {"params": [bias], "weight_decay": 0.0}]
        optimizer = torch.optim.SGD(groups, lr=self.lr, momentum=0.9)
        steps_per_epoch = -(-len(x) // self.batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs * steps_per_epoch)
        for _ in range(self.epochs):
            for rows in torch.randperm(len(x), generator=generator).split(self.batch_size):
                loss = F.cross_entropy(x[rows] @ weight.T + bias, labels[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
        self.last_iterations, self.last_converged = None, None
        return weight.detach(), bias.detach()


def fit_probe(context: EvalContext, features: Tensor, labels: Tensor) -> LinearProbe:
    """`fit_linear_probe` with `looc-evaluate`'s probe flags, shared by every protocol that fits one."""
    config = context.config
    return fit_linear_probe(
        features,
        labels,
        method=config.probe_method,
        epochs=config.probe_epochs,
        weight_decay=config.probe_weight_decay,
        seed=config.seed,
    )


def probe_params(context: EvalContext, probe: LinearProbe) -> dict[str, object]:
    """The probe's settings for a record: method, the penalty it used and how it was chosen."""
    chosen = "fixed" if context.config.probe_weight_decay is not None else "validation split"
    return {"method": context.config.probe_method, "weight_decay": probe.weight_decay, "weight_decay_from": chosen}


def penalty_problems(context: EvalContext) -> list[str]:
    """A probe choosing its penalty holds out a validation image of every class: each class needs 2+."""
    if context.config.probe_weight_decay is not None:
        return []
    return per_class_problems(context, 2, " (or pass --probe_weight_decay)")


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    for key in context.keys:
        probe = fit_probe(context, concat_features(context.train_features, key), context.train_labels)
        for metric, value in probe.accuracy(concat_features(context.test_features, key), context.test_labels).items():
            ci95 = accuracy_ci95(value, len(context.test_labels))
            yield context.record("linear_probe", key, metric, value, ci95, **probe_params(context, probe))


PROTOCOLS = (
    Protocol(
        "linear_probe",
        "linear probe",
        "image-classification",
        run=_run,
        check=penalty_problems,
        labelled=True,
        default=True,
    ),
)
