"""The model card of a LooC model (Hub card conventions, timm's card sections), rendered only from records.

Cards are generated, never hand-edited and never edited after rendering: a folder's card is rendered from the
folder's own files (config.json and the records of `looc_hub.hub.records`: the recipe, every results file, the
classifier) whenever the folder changes, and `looc-publish` renders the uploaded card the same way for the repo it
goes to. Measured numbers come only from results files: their records become both the card's `model-index`
metadata and its tables. `scripts/make_cards.py` renders the zoo's cards from the same function. Absolute local
paths never reach a card: a local dataset or base model is shown by its name.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..backbone import create_backbone
from ..config import LooCConfig
from ..data.embedded import EMBEDDED_DATASET_NAMES
from ..eval.protocols import REGISTRY as PROTOCOLS
from ..eval.protocols import hub_metric_type, percent_metrics
from ..eval.record import EvalRecord
from ..eval.results import EvalResults
from ..model import LooCNetwork
from ..preprocessing import default_color_jitter, default_crop_scale
from ..views.registry import get_augmentation, trained_augmentations
from .records import CARD_NAME, TRAINING_RESULTS_NAME, ModelRecords, read_records, reusable_recipe, write_text
from .training_cost import CostEstimate, TrainingCost

__all__ = [
    "CARD_TAGS",
    "EMBEDDED_DATASET_SOURCES",
    "EXAMPLE_IMAGE_URL",
    "build_model_card",
    "eval_results_metadata",
    "model_statistics",
    "public_name",
    "write_folder_card",
]

EXAMPLE_IMAGE_URL = (
    "https://huggingface.co/datasets/huggingface/documentation-images/resolve/main/beignets-task-guide.png"
)
"""The image the card's usage snippet opens (the one timm's cards use), so the snippet runs as written."""
_TRAINING_RUN = " (training run)"
"""Appended to the model-index name of a training run's own measurement (`training_results.json`)."""

CARD_TAGS = ("image-feature-extraction", "looc", "pytorch_model_hub_mixin", "self-supervised", "timm")
"""Tags every LooC card carries (publishing checks them)."""

EMBEDDED_DATASET_SOURCES = {
    "looc-hub/openmoji": "openmoji",
    "looc-hub/openmoji-skin-tones": "openmoji",
    "looc-hub/digits": "uci-optdigits",
    "looc-hub/fashion-mnist": "zalando-datasets/fashion_mnist",
    "looc-hub/openclipart": "openclipart",
    "looc-hub/textures": "scikit-image-textures",
    "looc-hub/gimp-textures": "gimp-data-patterns",
}
"""What each embedded set is, as the card's `datasets` metadata names it (a Hub dataset id where one exists):
looc-hub builds them from pip / Debian packages, so `looc-hub/<name>` is no Hub dataset."""
PAPER = "What Should Not Be Contrastive in Contrastive Learning: https://arxiv.org/abs/2008.05659"


def build_model_card(
    model: LooCNetwork,
    *,
    records: ModelRecords | None = None,
    repo_id: str | None = None,
    model_name: str | None = None,
    description: str = "",
    recipe_source: str = "",
    seed_results: Sequence[EvalResults] = (),
) -> ModelCard:
    """Render the card for `model` and its `records`; `repo_id` appears in the usage snippets.

    Args:
        records: the folder's recipe, results files and classifier (`looc_hub.hub.records.read_records`).
        repo_id: the Hub repo the card will live in (publishing passes it). Without it, a zoo model's snippets
            use its zoo repo (`looc-hub/<name>`) and any other model `your-org/<name>` (a placeholder).
        model_name: the title and `model_name`; default: the repo's name, else the model's own name (a zoo name),
            never the folder the card is saved in.
        description, recipe_source: the zoo's one-line description and a link to its shipped recipe
            (`scripts/make_cards.py`).
        seed_results: the evaluation of the same recipe trained with other seeds (the zoo's reproduction grid):
            each result gets the mean ± sd over this model and those, its training noise.
    """
    records = records or ModelRecords()
    config = model.config
    classifier = records.classifier
    own_name = model.name if model.name != "looc" else f"{config.variant.replace('+', 'p')}_{config.backbone}"
    own_name += "-finetuned" if classifier else ""
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else own_name)
    if repo_id is None:
        repo_id = f"looc-hub/{model.name}" if model.name != "looc" and not classifier else f"your-org/{model_name}"
    results = records.results_files()
    base_model = (classifier or {}).get("base_model")
    card_data = ModelCardData(
        library_name="looc-hub",
        license="apache-2.0",
        tags=list(CARD_TAGS),
        pipeline_tag="image-classification" if classifier else "image-feature-extraction",
        datasets=_metadata_datasets(records) or None,
        base_model=base_model if base_model and _is_repo_id(base_model) else None,
        model_name=model_name,
        eval_results=[r for name, found in results.items() for r in eval_results_metadata(found, name)] or None,
    )
    template = resources.files("looc_hub.hub").joinpath("templates/model_card.md").read_text()
    return ModelCard.from_template(
        card_data,
        template_str=template,
        model_name=card_data.model_name,
        repo_id=repo_id,
        config=config,
        config_rows=list(config.to_dict().items()),
        spaces=_space_rows(model),
        example_space=config.augmentations[0] if config.augmentations else "invariant",
        description=description,
        recipe=yaml.safe_dump(_public(reusable_recipe(records.recipe)), sort_keys=False) if records.recipe else "",
        recipe_source=recipe_source,
        training_rows=[_result_row(r) for r in records.training.results] if records.training else [],
        result_rows=[_result_row(r, seed_results) for r in records.evaluation.results] if records.evaluation else [],
        seed_count=1 + len(seed_results),
        heatmap=_heatmap(records),
        cost_rows=_cost_rows(records.cost),
        base_model=public_name(base_model) if base_model else None,
        departures=_departures(config),
        crop_scale=default_crop_scale(config.image_size),
        color_jitter=default_color_jitter(config.image_size),
        classifier=classifier,
        timm_head=bool(classifier) and list(classifier.get("feature", ())) == ["backbone"],
        statistics=model_statistics(model),
        datasets=_shown_datasets(records),
        paper=PAPER,
        example_image=EXAMPLE_IMAGE_URL,
    )


def write_folder_card(directory: str | os.PathLike, model: LooCNetwork, *, repo_id: str | None = None) -> None:
    """Render a folder's card from its own files (config, records) and write it: atomically, and replacing a
    symlink at README.md rather than writing through it."""
    card = build_model_card(model, records=read_records(directory), repo_id=repo_id)
    write_text(Path(directory) / CARD_NAME, str(card))


def public_name(text: str) -> str:
    """A dataset or model as a card may name it: a Hub id as it is, a local path by its last part only."""
    if _is_repo_id(text) or text in EMBEDDED_DATASET_NAMES or not (os.sep in text or "/" in text):
        return text
    return Path(text).name or text


def _public(value: Any) -> Any:
    """`value` with every string that is an absolute path (or an existing local path) reduced to its name."""
    if isinstance(value, dict):
        return {key: _public(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_public(item) for item in value]
    if isinstance(value, str) and (os.path.isabs(value) or (os.sep in value and os.path.exists(value))):
        return public_name(value)
    return value


def _is_repo_id(text: str) -> bool:
    """'org/name' that is no existing local path: what the Hub can link to."""
    if os.path.exists(text) or text.count("/") != 1:
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def _datasets(records: ModelRecords) -> list[str]:
    """Every dataset the records name: the recipe's, then each results file's, in order."""
    found = [str(records.recipe["dataset"])] if records.recipe and records.recipe.get("dataset") else []
    found += [record.dataset for results in records.results_files().values() for record in results.results]
    return list(dict.fromkeys(found))


def _metadata_datasets(records: ModelRecords) -> list[str]:
    """Hub dataset ids and the embedded sets by what they are; local folders are left out (no link exists)."""
    named = [EMBEDDED_DATASET_SOURCES.get(name, name) for name in _datasets(records)]
    kept = [name for name in named if _is_repo_id(name) or name in EMBEDDED_DATASET_SOURCES.values()]
    return list(dict.fromkeys(kept))


def _shown_datasets(records: ModelRecords) -> list[str]:
    return [public_name(name) for name in _datasets(records)]


def _heatmap(records: ModelRecords) -> str | None:
    for results in reversed(list(records.results_files().values())):
        if "sensitivity_heatmap" in results.artifacts:
            return results.artifacts["sensitivity_heatmap"]
    return None


def _cost_rows(cost: TrainingCost | None) -> list[dict[str, Any]]:
    """The card's "Training cost" rows: the measured estimates once one exists, the projections until then."""
    return [_cost_row(estimate) for estimate in (cost.shown_estimates() if cost else ())]


def _cost_row(estimate: CostEstimate) -> dict[str, Any]:
    hours = estimate.gpu_hours
    return {
        "gpu": estimate.gpu,
        "kind": estimate.kind,
        "images_per_s": f"{estimate.images_per_s:,.0f}",
        "epochs": estimate.epochs,
        "train_images": f"{estimate.train_images:,}",
        "gpu_hours": f"{hours:,.1f}",
        "hours_on_8": f"{hours / 8:.1f}",
        "step_gflops": estimate.step_gflops_per_image,
        "fraction": f"{estimate.achieved_fraction_of_peak:.1%}" if estimate.achieved_fraction_of_peak else None,
        "source": estimate.source,
        "basis": estimate.basis,
    }


def model_statistics(model: LooCNetwork) -> dict[str, str]:
    """timm's card statistics for the backbone at the model's image size: parameters, GMACs, activations.

    Counted on the meta device (no memory, no weights): MACs with torch's FLOP counter (FLOPs / 2), activations
    as timm's cards count them (fvcore: the output elements of every convolution and linear layer), in millions.
    """
    config = model.config
    with torch.device("meta"):
        backbone = create_backbone(config)
        x = torch.empty(1, config.in_chans, config.image_size, config.image_size)
        activations = 0

        def count(_: nn.Module, __: Any, output: torch.Tensor) -> None:
            nonlocal activations
            activations += output.numel()

        hooks = [m.register_forward_hook(count) for m in backbone.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        with FlopCounterMode(display=False) as flops:
            backbone.eval()(x)
        for hook in hooks:
            hook.remove()
    heads = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("backbone."))
    return {
        "backbone params (M)": f"{sum(p.numel() for p in backbone.parameters()) / 1e6:.1f}",
        "heads params (M)": f"{heads / 1e6:.1f}",
        "GMACs": f"{flops.get_total_flops() / 2e9:.2f}",
        "activations (M)": f"{activations / 1e6:.2f}",
        "image size": f"{config.image_size} x {config.image_size}",
    }


def _departures(config: LooCConfig) -> str:
    """Where `config` differs from the paper's settings (`LooCConfig` defaults); training settings are the recipe's."""
    reference = LooCConfig()
    fields = ("image_size", "crop_pct")
    return ", ".join(
        f"{name} {getattr(config, name)} instead of {getattr(reference, name)}"
        for name in fields
        if getattr(config, name) != getattr(reference, name)
    )


def eval_results_metadata(results: EvalResults, file_name: str = "") -> list[EvalResult]:
    """One `EvalResult` (a model-index metric) per record; its name says protocol, space and metric.

    The model-index groups metrics by task and dataset, so what tells records apart is `metric_name` (a training
    run's own measurement, from `training_results.json`, says so). Local dataset paths appear by name only.
    """
    suffix = _TRAINING_RUN if file_name == TRAINING_RESULTS_NAME else ""
    return [
        EvalResult(
            task_type=PROTOCOLS[record.protocol].task_type,
            task_name=PROTOCOLS[record.protocol].display_name,
            dataset_type=public_name(record.dataset),
            dataset_name=public_name(record.dataset),
            dataset_split=record.split,
            metric_type=hub_metric_type(record.metric),  # the protocol and top-k stay in the name
            metric_name=f"{PROTOCOLS[record.protocol].display_name} {record.metric}, space {record.space}{suffix}",
            metric_value=record.value,
            metric_args=dict(record.params) or None,
        )
        for record in results.results
    ]


def _result_row(record: EvalRecord, seed_results: Sequence[EvalResults] = ()) -> dict[str, str]:
    unit = " %" if record.metric in percent_metrics() else ""
    value = f"{record.value:.2f}" + (f" ± {record.ci95:.2f}" if record.ci95 is not None else "") + unit
    params = ", ".join(f"{key}={value}" for key, value in record.params.items())
    values = record.over_seeds(results.results for results in seed_results)
    return {
        "protocol": PROTOCOLS[record.protocol].display_name,
        "dataset": f"{public_name(record.dataset)} ({record.split})",
        "space": record.space,
        "metric": record.metric,
        "value": value,
        "seeds": f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}{unit} ({len(values)})"
        if len(values) > 1
        else "-",
        "params": params,
    }


def _space_rows(model: LooCNetwork) -> list[dict[str, Any]]:
    config = model.config
    every = trained_augmentations(config.augmentations, config.invariant_augmentations)
    rows = [
        {
            "name": "backbone",
            "dim": model.embedding_dim("backbone"),
            "what": "V: pooled backbone feature"
            + (" (the invariant head's branch)" if config.variant == "looc++" else ""),
            "sensitive": "whatever the shared features keep",
        },
        {
            "name": "invariant",
            "dim": model.embedding_dim("invariant"),
            "what": "Z_0, L2-normalised",
            "sensitive": "nothing it was trained with: invariant to " + ", ".join(every),
        },
    ]
    rows += [
        {
            "name": name,
            "dim": model.embedding_dim(name),
            "what": f"Z_{name}, L2-normalised",
            "sensitive": get_augmentation(name).sensitive,
        }
        for name in config.augmentations
    ]
    concat = (
        "pooled last-stage features of all heads (paper)" if config.variant == "looc++" else "Z_0 ... Z_n concatenated"
    )
    rows.append(
        {
            "name": "concat",
            "dim": model.embedding_dim("concat"),
            "what": concat,
            "sensitive": "all of the above",
        }
    )
    return rows
