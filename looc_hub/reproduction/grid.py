"""The CPU reproduction grid: which models, pretrained on which data, evaluated by which protocols.

MoCo v2, MoCo + Rotation, LooC (rotation left out), LooC (colour + rotation) and LooC++ (colour + rotation), one
zoo recipe each per dataset that differs only in the model, so backbone, resolution, steps, batch and seed are
shared; plus a reference row per dataset (a random init, BatchNorm calibrated, and raw pixels). The evaluations
listed here are the ones that made the zoo's recorded results (`model_cards/results/`), so they are also the
card's protocols that `looc-reproduce` runs again.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATASETS",
    "GRIDS",
    "METHODS",
    "PAPER_MODELS",
    "REFERENCE",
    "Evaluation",
    "GridDataset",
    "Method",
    "grid_model",
]


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
"""The reference run of a dataset: a random init of the LooC (colour + rotation) model, evaluated also on pixels."""


@dataclass(frozen=True)
class Evaluation:
    """One `looc-evaluate` call of every model of a dataset: a task and the protocols that measure it."""

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


def grid_model(name: str) -> tuple[GridDataset, Method]:
    """The grid's dataset and method of a zoo entry; a ValueError lists the entries the grid trains."""
    for dataset in DATASETS.values():
        for method in METHODS:
            if dataset.zoo_name(method) == name:
                return dataset, method
    known = [dataset.zoo_name(method) for dataset in DATASETS.values() for method in METHODS]
    raise ValueError(f"{name!r} is not an entry of the CPU reproduction grid; its entries: {known}")
