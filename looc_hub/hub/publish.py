"""Publishing a saved LooC model to the Hub: validate everything locally, then upload it in ONE commit.

Validate first (`looc_hub.hub.validation.validate_model_dir`, before the first request): a failed validation
uploads nothing.

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

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, get_token
from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id

from ..eval.results import load_results, save_results
from .card import build_model_card
from .card_retarget import retarget_card
from .pretrained import LooCModel
from .validation import CARD_NAME, RESULTS_NAME, validate_model_dir

__all__ = ["STALE_POLICIES", "PublishResult", "attach_results", "check_push_target", "publish", "repo_files"]

_KEPT_ON_HUB = (".gitattributes",)
STALE_POLICIES = ("error", "keep", "delete")
"""What `publish` does with repo files the model folder does not have: refuse (default), keep, or delete."""


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
    plan = validate_model_dir(directory, LooCModel)
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
