"""Publishing a saved LooC model to the Hub: validate everything locally, then upload it in ONE commit.

Why validate first: a push is public and cached by every downloader; a repo whose config disagrees with its
weights, which plain timm cannot load, or whose card claims numbers its results file does not hold, must never
leave the machine. `validate_model_dir` collects every problem and raises one `ValueError` listing them all;
`publish` calls it before its first request, so a failed validation uploads nothing.

Why one commit: `HfApi.create_commit` with every file (and, when asked, the deletion of files the folder does not
have) makes the repo switch atomically from one complete model to the next; a reader never sees new weights with
an old config. The commit names its parent, so a concurrent push fails instead of being silently overwritten.
The uploaded card names `repo_id` in its usage snippets (`retarget_card`), whatever repo it was rendered for.
Files in the repo that the folder lacks (a LICENSE, data someone else added) are never deleted by default:
`stale="error"` refuses to publish and names them, "keep" leaves them, "delete" removes them in the commit.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, ModelCard, constants, get_token
from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id

from . import _hub
from .card import CARD_TAGS, build_model_card, eval_results_metadata
from .card_retarget import retarget_card
from .eval.results import EvalResults, load_results, save_results
from .eval.spaces import parse_space_key
from .model import LooCModel

__all__ = [
    "CARD_NAME",
    "RESULTS_NAME",
    "STALE_POLICIES",
    "PublishPlan",
    "PublishResult",
    "attach_results",
    "check_push_target",
    "publish",
    "repo_files",
    "validate_model_dir",
]

CARD_NAME = "README.md"
RESULTS_NAME = "results.json"
"""Optional: the evaluation results file (`looc_hub.eval.results`) the card's numbers come from."""

_REQUIRED = (_hub.CONFIG_NAME, _hub.BACKBONE_WEIGHTS, _hub.HEADS_WEIGHTS, CARD_NAME)
_KEPT_ON_HUB = (".gitattributes",)
STALE_POLICIES = ("error", "keep", "delete")
"""What `publish` does with repo files the model folder does not have: refuse (default), keep, or delete."""


@dataclass(frozen=True)
class PublishPlan:
    """A validated model directory: what would be uploaded."""

    directory: Path
    files: tuple[str, ...]
    """Paths relative to `directory`, sorted; exactly what lands in the repo."""
    model: LooCModel

    def describe(self) -> str:
        sizes = [(name, (self.directory / name).stat().st_size) for name in self.files]
        lines = [f"  {name}  ({size:,} bytes)" for name, size in sizes]
        total = sum(size for _, size in sizes)
        return f"{len(sizes)} file(s), {total:,} bytes, from {self.directory}:\n" + "\n".join(lines)


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    revision: str
    commit_oid: str
    commit_url: str
    tag: str | None
    files: tuple[str, ...]
    deleted: tuple[str, ...]


def attach_results(directory: str | os.PathLike, results_path: str | os.PathLike, **card_kwargs: object) -> None:
    """Add a results file (and the artifacts it lists) to a saved model directory and regenerate its card.

    The card's model-index and results table are rendered from the file, so they cannot disagree with it.
    `card_kwargs` are `build_model_card`'s (recipe, description, datasets, ...); the old card is replaced.
    """
    directory, results_path = Path(directory), Path(results_path)
    results = load_results(results_path)
    model = LooCModel.from_pretrained(directory)
    for relative in results.artifacts.values():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results_path.parent / relative, target)
    save_results(results, directory / RESULTS_NAME)
    build_model_card(model, eval_results=results, **card_kwargs).save(directory / CARD_NAME)


def validate_model_dir(directory: str | os.PathLike) -> PublishPlan:
    """Check a `save_pretrained` directory before anything leaves the machine.

    Checks: the required files and nothing unexpected (no pickles, no stray checkpoints); config.json against
    both weight files (strict `LooCModel.from_pretrained`); plain timm loads `model.safetensors` and computes
    the same "backbone" embedding; the card's metadata (library, tags, pipeline, license); and, when
    `results.json` is present, its schema, that it describes this model, that its artifacts exist and that
    the card's model-index holds exactly its numbers.

    Raises:
        ValueError: listing every problem found.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory; publish a folder written by LooCModel.save_pretrained")
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    problems = [f"missing {name}" for name in _REQUIRED if name not in present]
    problems += _outside_links(directory)
    if problems:
        raise ValueError(f"{directory} cannot be published: " + "; ".join(problems))

    results, results_problems = _load_results(directory, present)
    problems += results_problems
    artifacts = set(results.artifacts.values()) if results else set()
    allowed = {*_REQUIRED, *([RESULTS_NAME] if results else []), *artifacts}
    unexpected = sorted(present - allowed - {RESULTS_NAME})
    if unexpected:
        problems.append(
            f"unexpected file(s) {unexpected}: a published repo holds only {sorted(_REQUIRED)}, "
            f"{RESULTS_NAME} and the artifacts it lists"
        )

    try:
        model = LooCModel.from_pretrained(directory)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(f"{directory} cannot be published: " + "; ".join([*problems, str(error)])) from None
    problems += _timm_problems(directory, model)
    problems += _card_problems(directory / CARD_NAME, results)
    if results:
        problems += _results_match_model(results, model)
    if problems:
        raise ValueError(f"{directory} cannot be published: " + "; ".join(problems))
    return PublishPlan(directory=directory, files=tuple(sorted(allowed)), model=model)


def publish(
    directory: str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    stale: str = "error",
) -> PublishResult:
    """Validate `directory`, create `repo_id` if needed, and upload it as one commit on `revision`.

    The card is uploaded with its usage snippets naming `repo_id` (the folder's copy is left as it is).

    Args:
        revision: the branch to commit to (default "main"); created from main when missing.
        tag: a tag to put on the new commit (e.g. "v1.0"), so users can pin it.
        private: visibility when the repo is created (an existing repo keeps its own).
        endpoint: the Hub URL (default: huggingface_hub's, i.e. HF_ENDPOINT).
        stale: files in the repo that the directory does not have (".gitattributes" aside): "error" (default)
            refuses before any commit and names them, "keep" leaves them, "delete" deletes them in the same
            commit so the repo holds exactly the validated model.
    """
    if stale not in STALE_POLICIES:
        raise ValueError(f"Unknown stale policy {stale!r}; valid choices: {list(STALE_POLICIES)}")
    plan = validate_model_dir(directory)
    branch = revision or "main"
    api = HfApi(endpoint=endpoint, token=token)
    found = sorted(set(repo_files(repo_id, revision=branch, endpoint=endpoint, token=token)) - set(plan.files))
    if found and stale == "error":
        raise ValueError(_stale_message(repo_id, branch, found))
    api.create_repo(repo_id, private=private, exist_ok=True)
    if branch != "main":
        api.create_branch(repo_id, branch=branch, exist_ok=True)
    head = api.model_info(repo_id, revision=branch)
    existing = api.list_repo_files(repo_id, revision=head.sha)
    others = sorted(name for name in existing if name not in (*plan.files, *_KEPT_ON_HUB))
    if others and stale == "error":  # the repo changed since the check above
        raise ValueError(_stale_message(repo_id, branch, others))
    deleting = others if stale == "delete" else []
    operations = [CommitOperationAdd(name, str(plan.directory / name)) for name in plan.files if name != CARD_NAME]
    card = retarget_card((plan.directory / CARD_NAME).read_text(encoding="utf-8"), repo_id)  # the folder is untouched
    operations.append(CommitOperationAdd(CARD_NAME, card.encode("utf-8")))
    operations += [CommitOperationDelete(name) for name in deleting]
    commit = api.create_commit(
        repo_id,
        operations=operations,
        commit_message=commit_message or f"Publish {plan.model.config.variant} {plan.model.config.backbone}",
        revision=branch,
        parent_commit=head.sha,
    )
    if tag is not None:
        api.create_tag(repo_id, tag=tag, revision=commit.oid)
    return PublishResult(
        repo_id=repo_id,
        revision=branch,
        commit_oid=commit.oid,
        commit_url=commit.commit_url,
        tag=tag,
        files=plan.files,
        deleted=tuple(deleting),
    )


def repo_files(
    repo_id: str, *, revision: str | None = None, endpoint: str | None = None, token: str | None = None
) -> tuple[str, ...]:
    """The files a publish to `revision` would start from, ".gitattributes" aside (none for a new repo).

    A missing branch is created from main, so main's files count then.
    """
    api = HfApi(endpoint=endpoint, token=token)
    for branch in dict.fromkeys([revision or "main", "main"]):
        try:
            files = api.list_repo_files(repo_id, revision=branch)
        except RepositoryNotFoundError:
            return ()
        except RevisionNotFoundError:
            continue
        return tuple(sorted(name for name in files if name not in _KEPT_ON_HUB))
    return ()


def check_push_target(repo_id: str) -> None:
    """Before a long run that ends with a push: the repo id is valid, the Hub is reachable and a token is set.

    Raises:
        ValueError: naming the problem, so the run fails before training instead of after it.
    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"--push_to_hub {repo_id!r} is not a Hub repo id ('org/name'): {error}") from None
    if "/" not in repo_id:
        raise ValueError(f"--push_to_hub {repo_id!r}: give the namespace too, 'org/name' or 'user/name'")
    if constants.HF_HUB_OFFLINE:
        raise ValueError(f"--push_to_hub {repo_id}: HF_HUB_OFFLINE is set, so the push at the end would fail")
    if get_token() is None:
        raise ValueError(
            f"--push_to_hub {repo_id}: no Hugging Face token (run `hf auth login` or set HF_TOKEN), so the push "
            "at the end would fail"
        )


def _stale_message(repo_id: str, branch: str, names: list[str]) -> str:
    return (
        f"{repo_id}@{branch} holds file(s) the model folder does not have: {names}. Nothing was uploaded. Keep "
        "them with stale='keep' (--stale keep) or delete them in the same commit with stale='delete' "
        "(--stale delete)"
    )


def _outside_links(directory: Path) -> list[str]:
    """Symlinks that lead out of the folder: publishing would upload whatever file they point to."""
    root = directory.resolve()
    return [
        f"{path.relative_to(directory).as_posix()} is a symlink to {path.resolve()}, outside the folder: "
        "copy the file in instead"
        for path in sorted(directory.rglob("*"))
        if path.is_symlink() and not path.resolve().is_relative_to(root)
    ]


def _load_results(directory: Path, present: set[str]) -> tuple[EvalResults | None, list[str]]:
    if RESULTS_NAME not in present:
        return None, []
    try:
        results = load_results(directory / RESULTS_NAME)
    except ValueError as error:
        return None, [str(error)]
    missing = sorted(path for path in results.artifacts.values() if path not in present)
    problems = [f"{RESULTS_NAME} lists artifact(s) that are not in the directory: {missing}"] if missing else []
    return results, problems


def _timm_problems(directory: Path, model: LooCModel) -> list[str]:
    """Plain timm must load the backbone and compute exactly the model's "backbone" space."""
    try:
        backbone = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    except Exception as error:  # any failure here means users of plain timm cannot load the repo
        return [f"plain timm cannot load {_hub.BACKBONE_WEIGHTS}: {type(error).__name__}: {error}"]
    size = model.config.image_size
    x = torch.randn(2, model.config.in_chans, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        same = torch.equal(backbone(x), model.embed(x, space="backbone"))
    return [] if same else ["plain timm loads the backbone but computes a different 'backbone' embedding"]


def _card_problems(path: Path, results: EvalResults | None) -> list[str]:
    try:
        data = ModelCard.load(path, ignore_metadata_errors=False).data
    except Exception as error:  # a card the Hub would reject is a validation problem, whatever raised it
        return [f"{CARD_NAME} has invalid metadata: {error}"]
    problems = []
    is_classifier = (path.parent / "classifier.json").is_file()  # a fine-tuned LooCClassifier
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
    in_file = _metric_summary(eval_results_metadata(results)) if results else []
    if in_card != in_file:
        problems.append(
            f"{CARD_NAME} model-index ({len(in_card)} metric(s)) does not match {RESULTS_NAME} "
            f"({len(in_file)} record(s)); regenerate the card from the results file"
        )
    return problems


def _metric_summary(eval_results: list) -> list[tuple[str, str, str, float]]:
    return sorted((r.dataset_name, r.dataset_split, r.metric_name, float(r.metric_value)) for r in eval_results)


def _results_match_model(results: EvalResults, model: LooCModel) -> list[str]:
    config = model.config
    evaluated = results.model
    found = (evaluated.variant, evaluated.backbone, tuple(evaluated.augmentations))
    expected = (config.variant, config.backbone, tuple(config.augmentations))
    problems = []
    if found != expected:
        problems.append(
            f"{RESULTS_NAME} describes a {found} model (variant, backbone, augmentations), this one is {expected}"
        )
    unknown = sorted({part for r in results.results for part in parse_space_key(r.space)} - set(model.spaces))
    if unknown:
        problems.append(f"{RESULTS_NAME} reports space(s) {unknown} this model lacks; its spaces: {list(model.spaces)}")
    return problems
