"""Publishing a saved LooC model to the Hub: validate everything locally, then upload it in ONE commit.

The public face of `looc_hub.hub.upload` (the one upload path, which `push_to_hub` uses too) for folders that
`LooCModel` loads, fine-tuned classifiers included: `publish`, `validate_model_dir`, `attach_results`, and the
check a long run makes before it trains (`check_push_target`).
"""

from __future__ import annotations

import os
from collections.abc import Collection

from huggingface_hub import constants, get_token
from huggingface_hub.errors import HfHubHTTPError

from . import model_files
from .pretrained import LooCModel
from .records import CARD_NAME, RECIPE_NAME, TRAINING_RESULTS_NAME
from .upload import (
    STALE_POLICIES,
    PublishResult,
    check_repo_id,
    commit_to_folder,
    hub_unreachable,
    repo_files,
    stage_candidate,
    upload_plan,
)
from .validation import PublishPlan, check_model_dir

__all__ = [
    "STALE_POLICIES",
    "TRAINED_MODEL_FILES",
    "PublishResult",
    "PushTargetError",
    "attach_results",
    "check_push_target",
    "publish",
    "repo_files",
    "validate_model_dir",
]


def validate_model_dir(directory: str | os.PathLike, model_class: type[LooCModel] = LooCModel) -> PublishPlan:
    """Check a saved model folder as publishing does (`looc_hub.hub.validation.check_model_dir`).

    Raises:
        ValueError: listing every problem found.
    """
    return check_model_dir(directory, model_class)


def attach_results(directory: str | os.PathLike, results_path: str | os.PathLike) -> None:
    """Add a results file (and the artifacts it lists) to a saved model folder and re-render its card.

    The card is rendered from the folder's records, the new `results.json` included, so it keeps the recipe and
    the training run's measurements. The folder changes only when the result validates (all or nothing).
    """
    with stage_candidate(directory, LooCModel, results=results_path) as plan:
        commit_to_folder(plan, directory)


def publish(
    directory: str | os.PathLike,
    repo_id: str,
    *,
    results: str | os.PathLike | None = None,
    revision: str | None = None,
    tag: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    stale: str = "error",
) -> PublishResult:
    """Validate `directory`, create `repo_id` if needed, and upload it as one commit on `revision`.

    The uploaded card is rendered from the folder's records for `repo_id` (the folder's copy is left as it is).

    Args:
        results: a results file to attach first; the folder gets it (and the re-rendered card) only when the
            publish succeeded.
        revision: the branch to commit to (default "main"); created from main when missing.
        tag: a tag to put on the new commit (e.g. "v1.0"), so users can pin it; an existing tag is refused
            before the commit.
        private: visibility when the repo is created (an existing repo keeps its own).
        endpoint: the Hub URL (default: huggingface_hub's, i.e. HF_ENDPOINT).
        stale: files in the repo that the directory does not have (".gitattributes" aside): "error" (default)
            refuses before any commit and names them, "keep" leaves them, "delete" deletes them in the same
            commit so the repo holds exactly the validated model.
    """
    check_repo_id(repo_id)
    with stage_candidate(directory, LooCModel, repo_id=repo_id, results=results) as plan:
        result = upload_plan(
            plan,
            repo_id,
            revision=revision,
            tag=tag,
            private=private,
            commit_message=commit_message,
            token=token,
            endpoint=endpoint,
            stale=stale,
        )
        if results is not None:
            commit_to_folder(plan, directory)
    return result


class PushTargetError(ValueError):
    """A run's `--push_to_hub` target cannot take the push: said before training, or after it when the push failed
    (the model folder is kept and can be published with `looc-publish`)."""


TRAINED_MODEL_FILES = (
    model_files.CONFIG_NAME,
    model_files.BACKBONE_WEIGHTS,
    model_files.HEADS_WEIGHTS,
    CARD_NAME,
    RECIPE_NAME,
    TRAINING_RESULTS_NAME,
)
"""What a pretraining run's model folder may hold, so what its push may upload (training_results.json only when
the run measured something)."""


def check_push_target(
    repo_id: str,
    *,
    flag: str = "--push_to_hub",
    endpoint: str | None = None,
    files: Collection[str] = TRAINED_MODEL_FILES,
) -> None:
    """Before a long run that ends with a push: the repo id is valid, a token is set, the Hub answers, and the
    repo holds no file beyond `files` (the push refuses to leave such files beside a new model, as `looc-publish`
    does by default).

    Raises:
        PushTargetError: naming the problem, so the run fails before training instead of after it.
    """
    try:
        check_repo_id(repo_id)
    except ValueError as error:
        raise PushTargetError(f"{flag} {error}") from None
    if constants.HF_HUB_OFFLINE:
        raise PushTargetError(f"{flag} {repo_id}: HF_HUB_OFFLINE is set, so the push at the end would fail")
    if get_token() is None:
        raise PushTargetError(
            f"{flag} {repo_id}: no Hugging Face token (run `hf auth login` or set HF_TOKEN), so the push "
            "at the end would fail"
        )
    problem = hub_unreachable(endpoint)
    if problem:
        raise PushTargetError(f"{flag} {repo_id}: the Hub {problem}, so the push at the end would fail")
    try:
        stale = sorted(set(repo_files(repo_id, endpoint=endpoint)) - set(files))
    except HfHubHTTPError as error:
        raise PushTargetError(f"{flag} {repo_id}: the Hub refused to list the repo ({error})") from None
    if stale:
        raise PushTargetError(
            f"{flag} {repo_id}: the repo holds file(s) the trained model will not have: {stale}, so the push at the "
            "end would stop. Push to another repo, or train without the flag and publish the model folder "
            f"afterwards with `looc-publish <output_dir>/model {repo_id} --stale keep` (or --stale delete)"
        )
