"""The protocol table is the one source: results schema, card and `looc-evaluate` follow it, and a new entry runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch
from datasets import DatasetDict
from huggingface_hub import ModelCard

from looc_hub import LooCConfig, LooCModel
from looc_hub.cli import evaluate
from looc_hub.eval import protocols
from looc_hub.eval.config import option
from looc_hub.eval.protocol import EvalContext, Metric, Protocol
from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, validate_results
from looc_hub.hub.card import build_model_card
from looc_hub.hub.records import ModelRecords
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color", "rotation"))
CARD_NAMES = {  # what published cards say: changing one changes every card's model-index
    "knn": ("kNN", "image-classification"),
    "linear_probe": ("linear probe", "image-classification"),
    "few_shot": ("few-shot", "image-classification"),
    "kshot_linear_probe": ("K-shot linear probe (all classes)", "image-classification"),
    "rotation_probe": ("rotation prediction probe", "image-classification"),
    "corruption": ("corruption robustness", "image-classification"),
    "head_contribution": ("head contribution", "image-feature-extraction"),
    "sensitivity": ("sensitivity", "image-feature-extraction"),
    "space_selection": ("space selection", "image-feature-extraction"),
    "retrieval_recall": ("retrieval Recall@k / mAP@R", "image-feature-extraction"),
    "finetune": ("fine-tuning", "image-classification"),
}


def card_results(names: list[str]) -> tuple[LooCModel, EvalResults]:
    with torch.device("meta"):
        model = LooCModel(SMALL)
    records = [EvalRecord(name, "looc-hub/digits", "test", "backbone", "top1", 50.0) for name in names]
    return model, EvalResults(ModelInfo.from_model(model, "x"), records, {})


def test_results_card_and_evaluate_all_read_the_table():
    assert tuple(CARD_NAMES) == protocols.record_protocols()  # names and order of the results schema
    assert "retrieval" in protocols.REGISTRY and "retrieval" not in protocols.record_protocols()  # a PNG, no record
    model, measured = card_results(list(CARD_NAMES))
    card = ModelCard(str(build_model_card(model, repo_id="org/name", records=ModelRecords(evaluation=measured))))
    filed = {(r.metric_name, r.task_type) for r in card.data.eval_results}
    assert filed == {(f"{name} top1, space backbone", task) for name, task in CARD_NAMES.values()}
    parser = evaluate.build_parser()
    runnable = [name for name in protocols.REGISTRY if name != "finetune"]  # no runner
    assert f"(choices: {', '.join(runnable)})" in " ".join(parser.format_help().split())
    config = evaluate.parse_args(["--model", "m", "--dataset", "d", "--output_dir", "o"])
    defaults = [protocol.name for protocol in evaluate.requested_protocols(config)]
    assert defaults == ["knn", "linear_probe", "few_shot", "kshot_linear_probe", "rotation_probe"]
    with pytest.raises(ValueError, match=r"Unknown protocols \['finetune'\]; valid choices: \['knn'"):
        evaluate.parse_args(["--model", "m", "--dataset", "d", "--output_dir", "o", "--protocols", "finetune"])
    groups = {group.title: {a.dest for a in group._group_actions} for group in parser._action_groups}
    assert groups["knn"] == {"knn_k", "knn_temperature"} and groups["corruption"] == {"corruptions", "severities"}


def test_a_protocol_missing_from_the_table_is_no_valid_record(monkeypatch):
    monkeypatch.delitem(protocols.REGISTRY, "space_selection")
    assert "space_selection" not in protocols.record_protocols()
    _, measured = card_results(["space_selection"])
    with pytest.raises(ValueError, match="protocol 'space_selection' is unknown"):
        validate_results(measured.to_dict())


def test_metric_kinds_come_from_the_table():
    assert protocols.percent_metrics() == (
        "top1", "top5", "accuracy", "mean_corruption_accuracy", "recall@1", "recall@5", "recall@10", "map@r",
        "precision@10",
    )  # fmt: skip
    types = {metric: protocols.hub_metric_type(metric) for metric in ("top1", "top5", "accuracy", "color")}
    assert types == {"top1": "accuracy", "top5": "top_5_accuracy", "accuracy": "accuracy", "color": "color"}
    declared: dict[str, Metric] = {}
    for protocol in protocols.REGISTRY.values():  # one metric name means one thing in every protocol
        for name, metric in protocol.metrics.items():
            assert declared.setdefault(name, metric) == metric, (protocol.name, name)


def test_a_percentage_a_protocol_declares_is_checked(monkeypatch):
    share = Protocol("share", "share", "image-feature-extraction", metrics={"share": Metric(hub_type="ratio")})
    monkeypatch.setitem(protocols.REGISTRY, "share", share)
    assert "share" in protocols.percent_metrics() and protocols.hub_metric_type("share") == "ratio"
    _, measured = card_results([])
    measured.results.append(EvalRecord("share", "looc-hub/digits", "test", "backbone", "share", 140.0))
    with pytest.raises(ValueError, match=r"metric 'share' is a percentage in \[0, 100\], got 140.0"):
        validate_results(measured.to_dict())


@dataclass
class NormOptions:
    norm_scale: float = option(1.0, help="norm: factor on the mean norm")


def _check(context: EvalContext) -> list[str]:
    scale = context.config.options(NormOptions).norm_scale
    return [f"--norm_scale must be > 0, got {scale}"] if scale <= 0 else []


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    scale = context.config.options(NormOptions).norm_scale
    for key in context.keys:
        norm = float(context.test_features[key].norm(dim=1).mean()) * scale
        yield context.record("norm", key, "mean_norm", norm, scale=scale)


NORM = Protocol("norm", "mean feature norm", "image-feature-extraction", run=_run, options=NormOptions, check=_check)


def test_a_protocol_needs_only_its_declaration_and_a_table_entry(monkeypatch, tmp_path, digits_train, digits_test):
    monkeypatch.setitem(protocols.REGISTRY, "norm", NORM)
    trained_like(SMALL).save_pretrained(tmp_path / "model")
    DatasetDict({"train": digits_train.select(range(20)), "test": digits_test.select(range(12))}).save_to_disk(
        tmp_path / "digits"
    )
    argv = ["--model", str(tmp_path / "model"), "--dataset", str(tmp_path / "digits"), "--spaces", "backbone", "color"]
    argv += ["--output_dir", str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache"), "--protocols", "norm"]
    with pytest.raises(ValueError, match="protocol 'norm': --norm_scale must be > 0, got 0.0"):
        evaluate.main([*argv, "--norm_scale", "0"])  # its check runs before any extraction
    assert not (tmp_path / "cache").exists()

    evaluate.main([*argv, "--norm_scale", "2"])
    measured = load_results(tmp_path / "out" / "results.json")  # validated: "norm" is a results protocol now
    assert [(r.protocol, r.space, r.params) for r in measured.results] == [
        ("norm", "backbone", {"scale": 2.0}),
        ("norm", "color", {"scale": 2.0}),
    ]
    assert all(r.value > 0 for r in measured.results)
    records = ModelRecords(evaluation=measured)
    card = build_model_card(LooCModel.from_pretrained(tmp_path / "model"), repo_id="org/name", records=records)
    filed = {(r.task_name, r.metric_name, r.task_type) for r in ModelCard(str(card)).data.eval_results}
    assert filed == {
        ("mean feature norm", f"mean feature norm mean_norm, space {key}", "image-feature-extraction")
        for key in ("backbone", "color")
    }
    assert "| mean feature norm | " in str(card)
