"""Checking a saved model folder before it leaves the machine: what `publish` and `push_to_hub` both run.

A push is public and cached by every downloader: a repo whose config disagrees with its weights, which plain timm
cannot load, or whose card claims numbers its results files do not hold, must never leave the machine.
`check_model_dir` collects every problem and raises one `ValueError` listing them all. It takes the class that
loads the folder (the mixin's `push_to_hub` passes its own), so that this module needs no model class; the public
one-argument `looc_hub.validate_model_dir` (`looc_hub.hub.publish`) passes `LooCModel`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from huggingface_hub import ModelCard, ModelHubMixin

from ..eval.results import EvalResults, load_results
from ..model import LooCNetwork
from ..spaces import parse_space_key
from . import model_files
from .card import CARD_TAGS, eval_results_metadata
from .records import CARD_NAME, CLASSIFIER_CONFIG, COST_NAME, RECIPE_NAME, RESULTS_FILES, read_records

__all__ = ["PublishPlan", "check_model_dir", "outside_links"]

_REQUIRED = (model_files.CONFIG_NAME, model_files.BACKBONE_WEIGHTS, model_files.HEADS_WEIGHTS, CARD_NAME)


@dataclass(frozen=True)
class PublishPlan:
    """A validated model directory: what would be uploaded."""

    directory: Path
    files: tuple[str, ...]
    """Paths relative to `directory`, sorted; exactly what lands in the repo."""
    model: LooCNetwork
    """The folder loaded by the validating class (a `LooCModel`)."""

    def describe(self) -> str:
        sizes = [(name, (self.directory / name).stat().st_size) for name in self.files]
        lines = [f"  {name}  ({size:,} bytes)" for name, size in sizes]
        total = sum(size for _, size in sizes)
        return f"{len(sizes)} file(s), {total:,} bytes:\n" + "\n".join(lines)


def check_model_dir(directory: str | os.PathLike, model_class: type[ModelHubMixin]) -> PublishPlan:
    """Check a `save_pretrained` directory before anything leaves the machine.

    Checks: the required files and nothing unexpected (no pickles, no stray checkpoints); config.json against
    both weight files (strict `LooCModel.from_pretrained`); plain timm loads `model.safetensors` and computes
    the same "backbone" embedding; the card's metadata (library, tags, pipeline, license); the records (the
    recipe, `classifier.json`); and, for each results file present (`training_results.json`, `results.json`),
    its schema, that it describes this model, that its artifacts exist and that the card's model-index holds
    exactly the numbers of all of them.

    `model_class` is the class that loads it (`LooCModel`, or the class a `push_to_hub` runs on).

    Raises:
        ValueError: listing every problem found.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory; publish a folder written by LooCModel.save_pretrained")
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    problems = [f"missing {name}" for name in _REQUIRED if name not in present]
    problems += outside_links(directory)
    if problems:
        raise ValueError(f"{directory} cannot be published: " + "; ".join(problems))

    results, problems = _load_results(directory, present)
    problems += _record_problems(directory)
    records = [
        name for name in (RECIPE_NAME, COST_NAME, CLASSIFIER_CONFIG, *model_files.CLASSIFIER_FILES) if name in present
    ]
    allowed = {*_REQUIRED, *records, *results, *(a for found in results.values() for a in found.artifacts.values())}
    unexpected = sorted(present - allowed - set(RESULTS_FILES))
    if unexpected:
        problems.append(
            f"unexpected file(s) {unexpected}: a published repo holds only {sorted(_REQUIRED)}, its records "
            f"({RECIPE_NAME}, {', '.join(RESULTS_FILES)}, {CLASSIFIER_CONFIG}) and the artifacts results list"
        )

    try:
        model = model_class.from_pretrained(directory)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(f"{directory} cannot be published: " + "; ".join([*problems, str(error)])) from None
    problems += _timm_problems(directory, model)
    problems += _card_problems(directory / CARD_NAME, results)
    for name, found in results.items():
        problems += _results_match_model(name, found, model)
    if problems:
        raise ValueError(f"{directory} cannot be published: " + "; ".join(problems))
    return PublishPlan(directory=directory, files=tuple(sorted(allowed)), model=model)


def outside_links(directory: Path) -> list[str]:
    """Symlinks that lead out of the folder: publishing would upload whatever file they point to."""
    root = directory.resolve()
    return [
        f"{path.relative_to(directory).as_posix()} is a symlink to {path.resolve()}, outside the folder: "
        "copy the file in instead"
        for path in sorted(directory.rglob("*"))
        if path.is_symlink() and not path.resolve().is_relative_to(root)
    ]


def _load_results(directory: Path, present: set[str]) -> tuple[dict[str, EvalResults], list[str]]:
    """{file name: results} of the results files present, and the problems found reading them."""
    found, problems = {}, []
    for name in RESULTS_FILES:
        if name not in present:
            continue
        try:
            results = load_results(directory / name)
        except ValueError as error:
            problems.append(str(error))
            continue
        found[name] = results
        missing = sorted(path for path in results.artifacts.values() if path not in present)
        if missing:
            problems.append(f"{name} lists artifact(s) that are not in the directory: {missing}")
    return found, problems


def _record_problems(directory: Path) -> list[str]:
    try:
        read_records(directory)
    except ValueError as error:
        return [str(error)]
    return []


def _timm_problems(directory: Path, model: LooCNetwork) -> list[str]:
    """Plain timm must load the backbone and compute exactly the model's "backbone" space, and a fine-tuned
    classifier's timm head (config.json's `num_classes`) must give the logits of the head the folder holds."""
    size = model.config.image_size
    x = torch.randn(2, model.config.in_chans, size, size, generator=torch.Generator().manual_seed(0))
    try:
        backbone = timm.create_model(f"local-dir:{directory}", pretrained=True, num_classes=0).eval()
        with_head = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    except Exception as error:  # any failure here means users of plain timm cannot load the repo
        return [f"plain timm cannot load {model_files.BACKBONE_WEIGHTS}: {type(error).__name__}: {error}"]
    with torch.inference_mode():
        features = model.embed(x, space="backbone")
        if not torch.equal(backbone(x), features):
            return ["plain timm loads the backbone but computes a different 'backbone' embedding"]
        if getattr(with_head, "num_classes", 0) == 0:
            return []
        state = model_files.read_safetensors(directory / model_files.BACKBONE_WEIGHTS)
        head = model_files.timm_classifier_state(model.backbone, state)
        if set(head) != {"weight", "bias"}:
            return [
                f"config.json gives num_classes {with_head.num_classes} but {model_files.BACKBONE_WEIGHTS} "
                f"holds no linear head under timm's classifier name (found {sorted(head)})"
            ]
        if not torch.allclose(with_head(x), F.linear(features, head["weight"], head["bias"]), atol=1e-5):
            return ["plain timm loads the classifier but computes different logits than its head"]
    return []


def _card_problems(path: Path, results: dict[str, EvalResults]) -> list[str]:
    try:
        data = ModelCard.load(path, ignore_metadata_errors=False).data
    except Exception as error:  # a card the Hub would reject is a validation problem, whatever raised it
        return [f"{CARD_NAME} has invalid metadata: {error}"]
    problems = []
    is_classifier = (path.parent / CLASSIFIER_CONFIG).is_file()  # a fine-tuned LooCClassifier
    pipeline = "image-classification" if is_classifier else "image-feature-extraction"
    expected = {"library_name": "looc-hub", "pipeline_tag": pipeline}
    problems += [
        f"{CARD_NAME} metadata {key} is {data.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if data.get(key) != value
    ]
    missing_tags = sorted(set(CARD_TAGS) - set(data.tags or ()))
    if missing_tags:
        problems.append(f"{CARD_NAME} metadata lacks tag(s) {missing_tags}")
    if not data.license:
        problems.append(f"{CARD_NAME} metadata has no license")
    in_card = _metric_summary(data.eval_results or [])
    in_files = _metric_summary([r for name, found in results.items() for r in eval_results_metadata(found, name)])
    if in_card != in_files:
        problems.append(
            f"{CARD_NAME} model-index ({len(in_card)} metric(s)) does not match "
            f"{' + '.join(results) or 'the results files'} ({len(in_files)} record(s)); regenerate the card from "
            "the results files"
        )
    return problems


def _metric_summary(eval_results: list) -> list[tuple[str, str, str, float]]:
    return sorted((r.dataset_name, r.dataset_split, r.metric_name, float(r.metric_value)) for r in eval_results)


def _results_match_model(name: str, results: EvalResults, model: LooCNetwork) -> list[str]:
    config = model.config
    evaluated = results.model
    found = (evaluated.variant, evaluated.backbone, tuple(evaluated.augmentations))
    expected = (config.variant, config.backbone, tuple(config.augmentations))
    problems = []
    if found != expected:
        problems.append(f"{name} describes a {found} model (variant, backbone, augmentations), this one is {expected}")
    unknown = sorted({part for r in results.results for part in parse_space_key(r.space)} - set(model.spaces))
    if unknown:
        problems.append(f"{name} reports space(s) {unknown} this model lacks; its spaces: {list(model.spaces)}")
    return problems
