"""The one upload path of looc-hub: `looc-publish`, `looc_hub.publish` and `push_to_hub` all end here.

A publish builds its candidate in a private staging copy of the model folder, never in the folder itself: the
folder's files are copied in (a symlink that leads out of the folder is refused, never followed), results to
attach are added there (their artifacts under the same rule), and the card is rendered there from the staged
records for the repo it goes to. The candidate is validated (`check_model_dir`) before the first request, and the
folder is changed only when everything succeeded (`commit_to_folder`): a refused publish changes nothing on disk
or on the Hub.

Why one commit: `HfApi.create_commit` with every file (and, when asked, the deletion of files the folder does not
have) makes the repo switch atomically from one complete model to the next; a reader never sees new weights with
an old config. The commit names its parent, so a concurrent push fails instead of being silently overwritten.
Files in the repo that the folder lacks (a LICENSE, data someone else added) are never deleted by default:
`stale="error"` refuses to publish and names them, "keep" leaves them, "delete" removes them in the commit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import SoftTemporaryDirectory, validate_repo_id

from .._atomic import atomic_directory
from .._checks import short_repr, short_text
from ..eval.results import load_results, save_results
from . import model_files
from .card import write_folder_card
from .records import RESULTS_NAME
from .validation import PublishPlan, check_model_dir, outside_links

__all__ = [
    "STALE_POLICIES",
    "PublishResult",
    "check_repo_id",
    "commit_to_folder",
    "hub_unreachable",
    "push_saved",
    "repo_files",
    "stage_candidate",
    "upload_plan",
]

_KEPT_ON_HUB = (".gitattributes",)
STALE_POLICIES = ("error", "keep", "delete")
"""What a publish does with repo files the model folder does not have: refuse (default), keep, or delete."""


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    revision: str
    commit_oid: str
    commit_url: str
    tag: str | None
    files: tuple[str, ...]
    deleted: tuple[str, ...]


def check_repo_id(repo_id: str) -> str:
    """`repo_id` if it is a Hub repo id 'org/name', else a ValueError saying what one looks like."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"{short_repr(repo_id)} is not a Hub repo id ('org/name'): {short_text(str(error))}") from None
    if repo_id.count("/") != 1:
        raise ValueError(
            f"{short_repr(repo_id)} is not a Hub repo id: give the namespace too, 'org/name' or 'user/name'"
        )
    return repo_id


def hub_unreachable(endpoint: str | None = None, *, timeout: float = 10.0) -> str | None:
    """None when the Hub answers HTTP at all, else why not (one request, no retries: the client's own retries
    take about 25 s before they fail)."""
    if constants.HF_HUB_OFFLINE:
        return "cannot be reached: HF_HUB_OFFLINE is set"
    url = f"{(endpoint or constants.ENDPOINT).rstrip('/')}/api/models"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # an answer, even an error status, means it is reachable
    except (OSError, ValueError) as error:
        return f"{endpoint or constants.ENDPOINT} did not answer ({type(error).__name__}: {error})"
    return None


@contextmanager
def stage_candidate(
    directory: str | os.PathLike,
    model_class: type,
    *,
    repo_id: str | None = None,
    results: str | os.PathLike | None = None,
) -> Iterator[PublishPlan]:
    """The validated candidate of a publish (or of attaching `results`), in a staging copy removed afterwards.

    The card is rendered in the copy from its records, naming `repo_id` (a placeholder without it).

    Raises:
        ValueError: naming every problem; nothing was written anywhere but the staging copy.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory; publish a folder written by LooCModel.save_pretrained")
    with tempfile.TemporaryDirectory(prefix="looc-publish-") as scratch:
        staging = Path(scratch) / "model"
        try:
            _copy_regular_files(directory, staging)
            if results is not None:
                _add_results(staging, Path(results))
            write_folder_card(staging, model_class.from_pretrained(staging), repo_id=repo_id)
            plan = check_model_dir(staging, model_class)
        except (ValueError, FileNotFoundError) as error:  # named by the user's folder, not the staging copy
            message = str(error).replace(str(staging), str(directory))
            if "cannot be published" not in message:
                message = f"{directory} cannot be published: {message}"
            raise ValueError(message) from None
        yield plan


def commit_to_folder(plan: PublishPlan, directory: str | os.PathLike) -> None:
    """Make `directory` hold the validated candidate (its card rendered without a repo id), all or nothing."""
    with atomic_directory(directory, foreign=model_files.foreign_files) as target:
        for name in plan.files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plan.directory / name, target / name)
        write_folder_card(target, plan.model)


def upload_plan(
    plan: PublishPlan,
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
    """Upload a validated candidate as one commit on `revision` (created from main when missing), then tag it.

    Everything that can refuse is checked before the commit: the stale policy and an existing `tag`.
    """
    if stale not in STALE_POLICIES:
        raise ValueError(f"Unknown stale policy {stale!r}; valid choices: {list(STALE_POLICIES)}")
    check_repo_id(repo_id)
    branch = revision or "main"
    api = HfApi(endpoint=endpoint, token=token)
    found = sorted(set(repo_files(repo_id, revision=branch, endpoint=endpoint, token=token)) - set(plan.files))
    if found and stale == "error":
        raise ValueError(_stale_message(repo_id, branch, found))
    _check_tag_is_free(api, repo_id, tag)
    api.create_repo(repo_id, private=private, exist_ok=True)
    if branch != "main":
        api.create_branch(repo_id, branch=branch, exist_ok=True)
    head = api.model_info(repo_id, revision=branch)
    existing = api.list_repo_files(repo_id, revision=head.sha)
    others = sorted(name for name in existing if name not in (*plan.files, *_KEPT_ON_HUB))
    if others and stale == "error":  # the repo changed since the check above
        raise ValueError(_stale_message(repo_id, branch, others))
    deleting = others if stale == "delete" else []
    operations = [CommitOperationAdd(name, str(plan.directory / name)) for name in plan.files]
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
    return PublishResult(repo_id, branch, commit.oid, commit.commit_url, tag, plan.files, tuple(deleting))


def push_saved(
    save: Callable[[Path], object],
    model_class: type,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    branch: str | None = None,
    commit_message: str | None = None,
    stale: str = "error",
) -> str:
    """A model object's `push_to_hub`: `save(folder)` into a temporary folder, then publish it as `looc-publish` does.

    A repo id without a namespace first asks the Hub whose token it is; the card is rendered for the real repo and
    the folder validated before the first write; one commit naming its parent. Returns the commit's URL.
    """
    if "/" not in repo_id:
        repo_id = f"{HfApi(token=token).whoami()['name']}/{repo_id}"
    check_repo_id(repo_id)
    with SoftTemporaryDirectory() as temporary:
        folder = Path(temporary) / "model"
        save(folder)
        with stage_candidate(folder, model_class, repo_id=repo_id) as plan:
            result = upload_plan(
                plan,
                repo_id,
                revision=branch,
                private=private,
                commit_message=commit_message,
                token=token,
                stale=stale,
            )
    return result.commit_url


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


def _check_tag_is_free(api: HfApi, repo_id: str, tag: str | None) -> None:
    """An existing tag would fail after the commit landed (HTTP 409): refuse before anything is written."""
    if tag is None:
        return
    try:
        api.model_info(repo_id, revision=tag)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return
    raise ValueError(
        f"{repo_id} already has a revision (tag or branch) {tag!r}; nothing was uploaded. Choose another tag"
    )


def _copy_regular_files(directory: Path, staging: Path) -> None:
    """Copy the folder's files by content; a symlink that leads out of the folder is refused, never followed."""
    problems = outside_links(directory)
    if problems:
        raise ValueError(f"{directory} cannot be published: " + "; ".join(problems))
    for source in sorted(directory.rglob("*")):
        if source.is_file():
            target = staging / source.relative_to(directory)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _add_results(staging: Path, results_path: Path) -> None:
    """Put a results file and the artifacts it lists into the staged folder, as `results.json`.

    An artifact that is a symlink, or lies under one, between the results file's folder and itself is refused:
    it would upload a file from outside what the user pointed at.
    """
    results = load_results(results_path)
    if (staging / RESULTS_NAME).is_file():  # the results it replaces: their artifacts go with them
        for relative in load_results(staging / RESULTS_NAME).artifacts.values():
            (staging / relative).unlink(missing_ok=True)
    root = results_path.parent
    for relative in results.artifacts.values():
        links = [str(root / Path(*Path(relative).parts[: i + 1])) for i in range(len(Path(relative).parts))]
        linked = [path for path in links if Path(path).is_symlink()]
        if linked:
            raise ValueError(
                f"{results_path}: artifact {relative!r} is or lies under a symlink ({linked[0]}); copy the file "
                "next to the results file instead"
            )
        if not (root / relative).is_file():
            raise ValueError(f"{results_path}: artifact {relative!r} is not a file next to it ({root / relative})")
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
    save_results(results, staging / RESULTS_NAME)


def _stale_message(repo_id: str, branch: str, names: list[str]) -> str:
    return (
        f"{repo_id}@{branch} holds file(s) the model folder does not have: {names}. Nothing was uploaded. Keep "
        "them with stale='keep' (looc-publish --stale keep) or delete them in the same commit with stale='delete' "
        "(looc-publish --stale delete)"
    )
