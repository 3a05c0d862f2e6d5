"""Publish a saved LooC model directory to the Hub: validate locally, then upload everything in ONE commit.

    python scripts/publish.py outputs/looc-r18-openmoji64 org/looc-r18-openmoji64 --dry-run
    python scripts/publish.py outputs/looc-r18-openmoji64 org/looc-r18-openmoji64 --tag v1.0 --private
    python scripts/publish.py DIR org/name --results eval/results.json   # attach results, regenerate the card

A failed validation uploads nothing (see looc_hub/publish.py for what is checked).
"""

from __future__ import annotations

import argparse
import sys

from looc_hub.publish import attach_results, publish, validate_model_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="a folder written by LooCModel.save_pretrained")
    parser.add_argument("repo_id", help="org/name on the Hub")
    parser.add_argument("--revision", help="branch to commit to (default main; created when missing)")
    parser.add_argument("--tag", help="tag the new commit (e.g. v1.0)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--results", help="a looc_hub.eval results JSON to attach (the card is regenerated)")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or huggingface.co)")
    parser.add_argument("--dry-run", action="store_true", help="validate and print what would be uploaded")
    args = parser.parse_args()

    try:
        if args.results:
            attach_results(args.directory, args.results, repo_id=args.repo_id)
        plan = validate_model_dir(args.directory)
    except ValueError as error:
        sys.exit(f"Not published: {error}")
    if args.dry_run:
        print(f"Would upload to {args.repo_id}@{args.revision or 'main'} in one commit: {plan.describe()}")
        return
    result = publish(
        args.directory,
        args.repo_id,
        revision=args.revision,
        tag=args.tag,
        private=args.private,
        commit_message=args.message,
        endpoint=args.endpoint,
    )
    print(f"Published {len(result.files)} file(s) as {result.commit_url}")
    if result.deleted:
        print(f"Deleted from the repo in the same commit: {list(result.deleted)}")
    if result.tag:
        print(f"Tagged {result.tag}")


if __name__ == "__main__":
    main()
