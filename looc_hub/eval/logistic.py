"""The linear probe's convex problem and its solver: multinomial logistic regression with an L2 penalty.

    mean cross-entropy + weight_decay / 2 * ||W||^2        (the bias is not penalised)

solved with scipy's L-BFGS-B (Fortran; scikit-learn's `LogisticRegression(solver="lbfgs")` calls the same routine)
on a float64 objective and gradient written out in numpy, so an iteration costs two small matrix products rather
than an autograd graph and an optimiser written in Python. Ours, for speed; none of it changes the optimum:
- With fewer rows than features (a K-shot probe: 10 x K rows of 512-d features), the problem is solved in the
  span of the rows: the penalised optimum lies there (the representer theorem; the bias is free), so with an
  orthonormal basis Q (d, r) of that span, W = W_r Q^T and the features x Q give the same objective on r <= N
  columns instead of d, the same optimum, and cheaper iterations.
- A `MultinomialLogistic` holds one training set; fitting it along a penalty path reuses its basis, and each
  fit may start from the previous solution.
The stop test is the original coordinates' largest gradient entry (`tolerance`), whichever space is solved in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor

__all__ = ["LogisticSolution", "MultinomialLogistic"]

_RESTARTS = 3
"""Times a fit solved in the rows' span resumes, its stop test tightened, when its gradient in the original
coordinates is still above the tolerance (in practice the two agree and it never resumes)."""


@dataclass(frozen=True)
class LogisticSolution:
    """weight (C, d) and bias (C,) in float64; `largest_gradient` is the largest entry of the objective's gradient."""

    weight: Tensor
    bias: Tensor
    iterations: int
    largest_gradient: float


class MultinomialLogistic:
    """The probe's objective on one training set: (N, d) `features` with class ids `labels` (N,) < `num_classes`."""

    def __init__(self, features: Tensor, labels: Tensor, num_classes: int) -> None:
        self.features, self.labels, self.num_classes = features.double(), labels.long(), num_classes
        self._x = self.features.numpy()
        self._onehot = np.eye(num_classes)[self.labels.numpy()]  # (N, C)

    @cached_property
    def _basis(self) -> np.ndarray | None:
        """An orthonormal basis (d, N) of the rows' span when N < d (a thin QR of x^T), else None."""
        rows, columns = self._x.shape
        return np.linalg.qr(self._x.T)[0] if rows < columns else None

    def solve(
        self, weight_decay: float, start: tuple[Tensor, Tensor] | None, *, max_iter: int, tolerance: float
    ) -> LogisticSolution:
        """The minimiser at `weight_decay`, from `start` (weight, bias) or zeros; up to `max_iter` iterations."""
        basis = self._basis
        x = self._x if basis is None else self._x @ basis  # (N, r)
        weight = np.zeros((self.num_classes, self._x.shape[1])) if start is None else start[0].double().numpy()
        bias = np.zeros(self.num_classes) if start is None else start[1].double().numpy()
        theta = np.concatenate([(weight if basis is None else weight @ basis).ravel(), bias])
        gtol, iterations = tolerance, 0
        for _ in range(_RESTARTS + 1):
            result = minimize(
                self._objective(x, weight_decay),
                theta,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iter - iterations, "gtol": gtol, "ftol": 64 * np.finfo(float).eps},
            )
            theta, iterations = result.x, iterations + int(result.nit)
            weight, bias = self._split(theta, x.shape[1])
            if basis is not None:
                weight = weight @ basis.T
            largest = self._largest_gradient(weight, bias, weight_decay)
            solved_largest = float(np.abs(result.jac).max())
            if basis is None or largest <= tolerance or iterations >= max_iter or solved_largest > gtol:
                break
            gtol = solved_largest * tolerance / largest  # the two coordinates' gradients differ by this ratio here
        return LogisticSolution(torch.from_numpy(weight), torch.from_numpy(bias), iterations, largest)

    def _split(self, theta: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
        size = self.num_classes * columns
        return theta[:size].reshape(self.num_classes, columns), theta[size:]

    def _objective(self, x: np.ndarray, weight_decay: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """scipy's fun(theta) -> (loss, gradient) on features `x` (N, r), theta = [W (C, r) row-major, b (C,)]."""
        rows, columns = x.shape
        onehot = self._onehot

        def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
            weight, bias = self._split(theta, columns)
            logits = x @ weight.T + bias  # (N, C)
            logits -= logits.max(1, keepdims=True)
            exponentials = np.exp(logits)
            totals = exponentials.sum(1)  # (N,)
            loss = (np.log(totals).sum() - (logits * onehot).sum()) / rows + weight_decay / 2 * (weight * weight).sum()
            residual = (exponentials / totals[:, None] - onehot) / rows  # d loss / d logits, (N, C)
            gradient = np.concatenate([(residual.T @ x + weight_decay * weight).ravel(), residual.sum(0)])
            return float(loss), gradient

        return loss_and_gradient

    def _largest_gradient(self, weight: np.ndarray, bias: np.ndarray, weight_decay: float) -> float:
        """The largest gradient entry in the original coordinates, at (weight (C, d), bias (C,))."""
        theta = np.concatenate([weight.ravel(), bias])
        return float(np.abs(self._objective(self._x, weight_decay)(theta)[1]).max())
