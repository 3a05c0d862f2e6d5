"""The CPU reproduction grid: which models, pretrained on which data, evaluated by which protocols.

MoCo v2, MoCo + Rotation, LooC (rotation left out), LooC (colour + rotation) and LooC++ (colour + rotation), one
zoo recipe each per dataset that differs only in the model, so backbone, resolution, steps, batch and seed are
shared; plus a reference row per dataset (a random init, BatchNorm calibrated, and raw pixels). The evaluations
listed here are the ones that made the zoo's recorded results (`model_cards/results/`), so they are also the
card's protocols that `looc-reproduce` runs again.

The texture sets (`textures32`, pip; `gimp32`, Debian) have a grid of their own, no zoo entries: MoCo v2, MoCo +
Texture (texture as an invariance) and LooC (texture left out), from the grid's own recipes (`recipes/` beside
this file), where the label is the texture, so the base task is naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..hub.zoo import get_zoo_entry

__all__ = [
    "ALL_METHODS",
    "DATASETS",
    "GRIDS",
    "METHODS",
    "PAPER_MODELS",
    "RECIPE_DIR",
    "REFERENCE",
    "TEXTURE_METHODS",
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
TEXTURE_METHODS = (
    METHODS[0],
    Method("moco_texture", "MoCo + Texture", "moco_texture"),
    Method("looc_t", "LooC (texture)", "looc", "_t"),
)
ALL_METHODS = (*METHODS, *TEXTURE_METHODS[1:])
REFERENCE = "random_init"
"""The reference run of a dataset: a random init of its LooC model (`GridDataset.reference`), evaluated also on
pixels."""
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"
"""The recipes of the grid's sets that have no zoo entries (`<prefix>_r10t_<tag><suffix>.yaml`)."""


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
    augmentations: tuple[str, ...] = ("rotation", "color")  # the sensitivity protocol's

    def arguments(self, seed: int) -> list[str]:
        rows = []
        if self.max_train_rows:
            rows += ["--max_train_rows", str(self.max_train_rows)]
        if self.max_test_rows:
            rows += ["--max_test_rows", str(self.max_test_rows)]
        return [
            "--dataset", self.dataset, "--train_split", self.train_split, "--test_split", self.test_split,
            "--label_column", self.label_column, "--protocols", *self.protocols,
            "--augmentations", *self.augmentations, "--knn_k", "20", "--seed", str(seed), *rows,
        ]  # fmt: skip


_BASE_PROTOCOLS = ("knn", "linear_probe", "rotation_probe", "sensitivity")


def _texture_set(tag: str, label: str, dataset: str) -> GridDataset:
    """A texture set's grid: naming the texture of held-out patches (linear probe and kNN) per space, and how far
    each space moves under texture and colour."""
    naming = Evaluation(
        "base", dataset, "train", "test", "label", ("knn", "linear_probe", "sensitivity"), None, None,
        ("texture", "color"),
    )  # fmt: skip
    return GridDataset(tag, label, (naming,), TEXTURE_METHODS, zoo=False, reference="looc_t")


@dataclass(frozen=True)
class GridDataset:
    """A pretraining dataset of the grid (`tag` names its zoo entries and recipes) and how its models are judged."""

    tag: str
    label: str
    evaluations: tuple[Evaluation, ...]
    methods: tuple[Method, ...] = METHODS
    zoo: bool = True  # False: its models are no zoo entries; the recipes are the grid's own (`RECIPE_DIR`)
    reference: str = "looc"  # the method whose random init is the reference run

    def zoo_name(self, method: Method) -> str:
        return f"{method.prefix}_resnet10t.{self.tag}{method.suffix}"

    def recipe(self, method: Method) -> str:
        """The method's pretraining recipe: its zoo entry's, or the grid's own file for a set outside the zoo."""
        if self.zoo:
            return get_zoo_entry(self.zoo_name(method)).recipe
        return str(RECIPE_DIR / f"{method.prefix}_r10t_{self.tag}{method.suffix}.yaml")


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
            # The paper's Fig. 3 as a number: the share of a held-out emoji's 10 nearest training emoji that
            # have its skin tone (precision@10), per space.
            Evaluation(
                "colour_retrieval",
                "looc-hub/openmoji-skin-tones",
                "train",
                "validation",
                "skin_tone",
                ("retrieval_recall",),
            ),
        ),
    ),
    "textures32": _texture_set("textures32", "scikit-image textures (3 classes, grey)", "looc-hub/textures"),
    "gimp32": _texture_set("gimp32", "GIMP patterns (162 textures, colour)", "looc-hub/gimp-textures"),
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
    zoo_sets = [dataset for dataset in DATASETS.values() if dataset.zoo]
    for dataset in zoo_sets:
        for method in dataset.methods:
            if dataset.zoo_name(method) == name:
                return dataset, method
    known = [dataset.zoo_name(method) for dataset in zoo_sets for method in dataset.methods]
    raise ValueError(f"{name!r} is not an entry of the CPU reproduction grid; its entries: {known}")
