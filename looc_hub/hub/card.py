"""The model card written beside every saved LooC model (Hub card conventions, timm's card sections).

Cards are generated, never hand-edited: `save_pretrained`, `scripts/make_cards.py` and `looc-publish` all
render `hub/templates/model_card.md` through `build_model_card`. Measured numbers come only from a results file
(`looc_hub.eval.results`): its records become both the card's `model-index` metadata and its results table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from typing import Any

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..backbone import create_backbone
from ..config import LooCConfig
from ..data.embedded import EMBEDDED_DATASET_NAMES
from ..eval.protocols import REGISTRY as PROTOCOLS
from ..eval.record import PERCENT_METRICS, EvalRecord
from ..eval.results import EvalResults
from ..model import LooCNetwork
from ..preprocessing import default_color_jitter, default_crop_scale
from ..views.registry import get_augmentation, trained_augmentations

__all__ = ["CARD_TAGS", "EXAMPLE_IMAGE_URL", "build_model_card", "eval_results_metadata", "model_statistics"]

EXAMPLE_IMAGE_URL = (
    "https://huggingface.co/datasets/huggingface/documentation-images/resolve/main/beignets-task-guide.png"
)
"""The image the card's usage snippet opens (the one timm's cards use), so the snippet runs as written."""
# Standard Hub metric types (the model-index `type`); the protocol and the top-k stay in the metric's name.
_METRIC_TYPES = {"top1": "accuracy", "top5": "top_5_accuracy", "accuracy": "accuracy"}

CARD_TAGS = ("image-feature-extraction", "looc", "pytorch_model_hub_mixin", "self-supervised", "timm")
"""Tags every LooC card carries (publishing checks them)."""


def build_model_card(
    model: LooCNetwork,
    *,
    repo_id: str | None = None,
    model_name: str | None = None,
    description: str = "",
    recipe: str = "",
    results: str = "",
    eval_results: EvalResults | None = None,
    datasets: list[str] | None = None,
    license: str = "apache-2.0",
    base_model: str | None = None,
    classifier: Mapping[str, Any] | None = None,
    **extra_metadata: Any,
) -> ModelCard:
    """Render the card for `model`; `repo_id` appears in the usage snippets.

    Args:
        repo_id: the Hub repo the card will live in (`push_to_hub` and publishing pass it). Without it, a zoo
            model's snippets use its zoo repo (`looc-hub/<name>`) and any other model `your-org/<name>`.
        model_name: the title and `model_name`; default: the repo's name, else the model's own name (a zoo name),
            never the folder the card is saved in.
        recipe: Markdown for the training-recipe section.
        results: free Markdown for the results section (e.g. a training run's kNN monitor).
        eval_results: a results file's content: becomes `model-index` metadata, a table per record, and the
            sensitivity heatmap when the file lists one (its artifact paths are taken relative to the card).
        datasets: the datasets' names; the metadata keeps those on the Hub (not local folders, not looc-hub's
            embedded sets, which are built from pip packages). Default: the results' datasets.
        base_model: set on fine-tunes (Hub convention: the repo the weights started from); a local path or
            anything else that is no Hub repo id is left out, as the Hub would render it as a broken link.
        classifier: a fine-tuned `LooCClassifier`'s `{"feature", "num_classes", "class_names"}`: the card is then
            an image-classification card with the classifier's usage.
    """
    config = model.config
    own_name = model.name if model.name != "looc" else f"{config.variant.replace('+', 'p')}_{config.backbone}"
    model_name = model_name or (repo_id.split("/")[-1] if repo_id else own_name)
    if repo_id is None:
        repo_id = f"looc-hub/{model.name}" if model.name != "looc" else f"your-org/{model_name}"
    if datasets is None and eval_results is not None:
        datasets = sorted({r.dataset for r in eval_results.results})
    datasets = [name for name in datasets or () if _is_hub_dataset(name)] or None
    base_model = base_model if base_model and _is_repo_id(base_model) else None
    card_data = ModelCardData(
        library_name="looc-hub",
        license=license,
        tags=list(CARD_TAGS),
        pipeline_tag="image-classification" if classifier else "image-feature-extraction",
        datasets=datasets,
        base_model=base_model,
        model_name=model_name,
        eval_results=eval_results_metadata(eval_results) if eval_results and eval_results.results else None,
        **extra_metadata,
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
        recipe=recipe,
        results=results,
        result_rows=[_result_row(record) for record in eval_results.results] if eval_results else [],
        heatmap=eval_results.artifacts.get("sensitivity_heatmap") if eval_results else None,
        base_model=base_model,
        departures=_departures(config),
        crop_scale=default_crop_scale(config.image_size),
        color_jitter=default_color_jitter(config.image_size),
        classifier=classifier,
        statistics=model_statistics(model),
        example_image=EXAMPLE_IMAGE_URL,
    )


def _is_repo_id(text: str) -> bool:
    """'org/name' that is no existing local path: what the Hub can link to."""
    if os.path.exists(text) or text.count("/") != 1:
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def _is_hub_dataset(name: str) -> bool:
    return _is_repo_id(name) and name not in EMBEDDED_DATASET_NAMES


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


def eval_results_metadata(results: EvalResults) -> list[EvalResult]:
    """One `EvalResult` (a model-index metric) per record; its name says protocol, space and metric.

    The model-index groups metrics by task and dataset, so what tells records apart is `metric_name`.
    """
    return [
        EvalResult(
            task_type=PROTOCOLS[record.protocol].task_type,
            task_name=PROTOCOLS[record.protocol].display_name,
            dataset_type=record.dataset,
            dataset_name=record.dataset,
            dataset_split=record.split,
            metric_type=_METRIC_TYPES.get(record.metric, record.metric),
            metric_name=f"{PROTOCOLS[record.protocol].display_name} {record.metric}, space {record.space}",
            metric_value=record.value,
            metric_args=dict(record.params) or None,
        )
        for record in results.results
    ]


def _result_row(record: EvalRecord) -> dict[str, str]:
    unit = " %" if record.metric in PERCENT_METRICS else ""
    value = f"{record.value:.2f}" + (f" ± {record.ci95:.2f}" if record.ci95 is not None else "") + unit
    params = ", ".join(f"{key}={value}" for key, value in record.params.items())
    return {
        "protocol": PROTOCOLS[record.protocol].display_name,
        "dataset": f"{record.dataset} ({record.split})",
        "space": record.space,
        "metric": record.metric,
        "value": value,
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
