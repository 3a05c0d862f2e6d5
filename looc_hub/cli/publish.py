"""Publish a saved LooC model directory to the Hub (`looc-publish`): validate locally, then upload in ONE commit.

    looc-publish outputs/looc-r10t-openmoji32/model org/looc-r10t-openmoji32 --dry-run
    looc-publish outputs/looc-r10t-openmoji32/model org/looc-r10t-openmoji32 --tag v1.0 --private
    looc-publish DIR org/name --results eval/results.json   # attach results; the card keeps every section

The candidate is built in a staging copy (results attached, the card rendered from the folder's records for
org/name) and validated there (see looc_hub/hub/validation.py); a refused publish changes nothing, on disk or on
the Hub, and a dry run never changes the folder. The folder gets attached results only after a successful
publish. Repo files the folder does not have (a LICENSE, data) stop the publish unless `--stale keep` or
`--stale delete` says what to do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from looc_hub import LooCModel
from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.hub.publish import STALE_POLICIES, publish, repo_files
from looc_hub.hub.upload import check_repo_id, hub_unreachable, stage_candidate


def build_parser() -> CommandParser:
    parser = command_parser("looc-publish", __doc__)
    parser.add_argument("directory", help="a folder written by LooCModel.save_pretrained")
    parser.add_argument("repo_id", help="org/name on the Hub")
    parser.add_argument("--revision", help="branch to commit to (default main; created when missing)")
    parser.add_argument("--tag", help="tag the new commit (e.g. v1.0)")
    add_flag(parser, "private", bool, "create the repo private", default=False)
    parser.add_argument("--results", help="a looc_hub.eval results JSON to attach (the card is regenerated)")
    parser.add_argument("--message", help="commit message (default: 'Publish <variant> <backbone>')")
    parser.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or huggingface.co)")
    parser.add_argument(
        "--stale",
        choices=STALE_POLICIES,
        default="error",
        help="repo files the folder does not have: error (default: publish nothing), keep them, or delete them",
    )
    add_flag(parser, "dry-run", bool, "validate and print what would change; write nothing", default=False)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        check_repo_id(args.repo_id)
        if args.dry_run:
            with stage_candidate(args.directory, LooCModel, repo_id=args.repo_id, results=args.results) as plan:
                target = f"{args.repo_id}@{args.revision or 'main'}"
                print(f"Would upload to {target} in one commit from {args.directory}: {plan.describe()}")
                print(_stale_preview(args, plan.files))
            return
        problem = hub_unreachable(args.endpoint)
        if problem:
            raise ValueError(f"the Hub {problem}; nothing was uploaded (try --dry-run to check the folder offline)")
        result = publish(
            args.directory,
            args.repo_id,
            results=args.results,
            revision=args.revision,
            tag=args.tag,
            private=args.private,
            commit_message=args.message,
            endpoint=args.endpoint,
            stale=args.stale,
        )
    except ValueError as error:
        sys.exit(f"Not published: {error}")
    except (OfflineModeIsEnabled, HfHubHTTPError, OSError) as error:
        sys.exit(f"Not published: the Hub ({args.endpoint or 'HF_ENDPOINT'}) could not be reached or refused: {error}")
    print(f"Published {len(result.files)} file(s) as {result.commit_url}")
    if result.deleted:
        print(f"Deleted from the repo in the same commit: {list(result.deleted)}")
    if result.tag:
        print(f"Tagged {result.tag}")


def _stale_preview(args: argparse.Namespace, files: tuple[str, ...]) -> str:
    """What the commit would do with repo files the folder lacks (needs the Hub; says so when unreachable)."""
    problem = hub_unreachable(args.endpoint)
    if problem:
        return f"Could not list the repo's current files (the Hub {problem}), so deletions are unknown"
    try:
        existing = repo_files(args.repo_id, revision=args.revision, endpoint=args.endpoint)
    except (OfflineModeIsEnabled, HfHubHTTPError, OSError) as error:
        return f"Could not list the repo's current files ({type(error).__name__}), so deletions are unknown"
    stale = sorted(set(existing) - set(files))
    if not stale:
        return "No repo file would be deleted"
    outcome = {
        "error": "would stop the publish (choose --stale keep or --stale delete)",
        "keep": "would be kept",
        "delete": "would be DELETED in the same commit",
    }[args.stale]
    return f"Repo file(s) the folder does not have: {stale}: {outcome}"


if __name__ == "__main__":
    main()
