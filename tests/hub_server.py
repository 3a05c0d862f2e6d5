"""A loopback Hugging Face Hub for tests: olah serving local git repos, plus the write routes it lacks.

Why: nothing installable implements the Hub's write API. olah 0.5.4 serves
local git repos with the real read API, so the narrowest honest test double is olah's own FastAPI app with a few
routes in front of it: each push becomes a real git commit that olah then serves back to the real
`huggingface_hub` client over HTTP.

What is exercised: repo creation, YAML validation, preupload, NDJSON commits, branches, tags, and every read
route (`hf_hub_download`, `model_info`, `list_repo_refs`, ...). What is NOT: the real Hub's LFS and Xet upload
paths (the preupload route answers `"uploadMode": "regular"`, so the client sends bytes inline), authentication
and permissions (any token is accepted), and server-side card validation (validate-yaml accepts everything).

The server runs in a subprocess (`python -m tests.hub_server --root DIR`): it binds 127.0.0.1 on a port the OS
picks, writes that port to `DIR/port`, and exits when the test process that started it is gone. Repos are bare
git repos under `DIR/mirrors/models/<org>/<name>`; commits are built with git plumbing and published by one
compare-and-swap `update-ref`, so a failed commit leaves the branch where it was.

Fixtures: `loopback_hub_server` (session: the running server) and `loopback_hub` (per test: additionally points
the already imported huggingface_hub client at it, see `_point_client_at`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

REPO_TYPES = ("models", "datasets", "spaces")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "loopback-hub",
    "GIT_AUTHOR_EMAIL": "loopback-hub@127.0.0.1",
    "GIT_COMMITTER_NAME": "loopback-hub",
    "GIT_COMMITTER_EMAIL": "loopback-hub@127.0.0.1",
}
_STARTUP_TIMEOUT_S = 60.0


# Server side (runs in the subprocess) ------------------------------------------------------------------------


class GitError(Exception):
    """A git command failed; the route answers with an HTTP error instead."""


def git(repo: Path, *args: str, input: bytes | None = None, index: Path | None = None) -> str:
    env = {**os.environ, **_GIT_IDENTITY}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    done = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        raise GitError(done.stderr.decode(errors="replace").strip())
    return done.stdout.decode().strip()


def rev_parse(repo: Path, revision: str) -> str | None:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except GitError:
        return None


def blob(repo: Path, commit: str | None, path: str) -> str | None:
    """The git blob id of `path` at `commit`, or None where there is none."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{commit}:{path}") if commit else None
    except GitError:
        return None


# Complexity: ruff counts the branches of every nested route into build_app; each route is short, and they are
# closures over `mirrors` and the app, so splitting them out would only thread those through every handler.
def build_app(mirrors: Path) -> FastAPI:  # noqa: C901
    """olah's app configured for `mirrors`, offline, with our routes placed before its own.

    olah is imported here, in the server process only: its module-level app is a singleton.
    """
    from olah import server as olah_server
    from olah.configs import OlahConfig
    from olah.server_api_routes import meta_proxy_common

    config = OlahConfig()
    config.mirrors_path = [str(mirrors)]
    config.offline = True
    config.repos_path = str(mirrors.parent / "olah-cache")
    config.metadata_cache_ttl = 0
    app = olah_server.app
    app.state.app_settings = olah_server.AppSettings(config=config)
    router = APIRouter()

    def repo_path(repo_type: str, org: str, name: str) -> Path:
        if repo_type not in REPO_TYPES or not (_NAME.match(org) and _NAME.match(name)):
            raise GitError(f"invalid repo {repo_type}/{org}/{name}")
        return mirrors / repo_type / org / name

    def error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers={"X-Error-Code": code})

    def existing(repo_type: str, org: str, name: str) -> Path | JSONResponse:
        path = repo_path(repo_type, org, name)
        if not path.is_dir():
            return error(404, "RepoNotFound", f"Repository {org}/{name} not found")
        return path

    @router.post("/api/repos/create")
    async def create_repo(request: Request) -> JSONResponse:
        body = await request.json()
        repo_type = f"{body.get('type') or 'model'}s"
        org = body.get("organization")
        if org is None:
            return error(400, "BadRequest", "the loopback Hub needs an org/name repo id")
        path = repo_path(repo_type, org, body["name"])
        prefix = "" if repo_type == "models" else f"{repo_type}/"
        url = f"{request.base_url}{prefix}{org}/{body['name']}"
        if path.exists():
            return JSONResponse({"url": url, "error": "You already created this repo"}, status_code=409)
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--bare", "--initial-branch=main")
        git(path, "config", "hub.private", "true" if body.get("visibility") == "private" else "false")
        # Like the Hub, a new repo starts with one commit holding .gitattributes.
        _commit(path, "main", None, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}, [])
        return JSONResponse({"url": url})

    @router.post("/api/validate-yaml")
    async def validate_yaml() -> JSONResponse:
        return JSONResponse({"errors": [], "warnings": []})

    @router.post("/api/{repo_type}/{org}/{name}/preupload/{revision}")
    async def preupload(repo_type: str, org: str, name: str, revision: str, request: Request) -> JSONResponse:
        path = existing(repo_type, org, name)
        if isinstance(path, JSONResponse):
            return path
        head = rev_parse(path, revision)
        files = [
            {
                "path": item["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": blob(path, head, item["path"]),
            }
            for item in (await request.json())["files"]
        ]
        return JSONResponse({"files": files, "commitOid": head})

    @router.post("/api/{repo_type}/{org}/{name}/commit/{revision}")
    async def commit(repo_type: str, org: str, name: str, revision: str, request: Request) -> JSONResponse:
        path = existing(repo_type, org, name)
        if isinstance(path, JSONResponse):
            return path
        head = rev_parse(path, f"refs/heads/{revision}")
        if head is None:
            return error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        header, added, deleted = {}, {}, []
        for line in (await request.body()).splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                added[_safe_path(value["path"])] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append(_safe_path(value["path"].rstrip("/")))
            else:
                return error(400, "BadRequest", f"the loopback Hub does not implement {key!r} (no LFS/Xet)")
        parent = header.get("parentCommit")
        if parent is not None and parent != head:
            return error(412, "PreconditionFailed", f"parentCommit {parent} is not the head of {revision}")
        new = _commit(path, revision, head, added, deleted, header.get("summary") or "Upload")
        url = f"{request.base_url}{org}/{name}/commit/{new}"
        return JSONResponse({"commitUrl": url, "commitOid": new, "pullRequestUrl": None})

    @router.post("/api/{repo_type}/{org}/{name}/branch/{branch}")
    async def create_branch(repo_type: str, org: str, name: str, branch: str, request: Request) -> Response:
        return await _create_ref(repo_type, org, name, f"refs/heads/{branch}", await request.json(), "startingPoint")

    @router.post("/api/{repo_type}/{org}/{name}/tag/{revision}")
    async def create_tag(repo_type: str, org: str, name: str, revision: str, request: Request) -> Response:
        body = await request.json()
        return await _create_ref(repo_type, org, name, f"refs/tags/{body['tag']}", {"at": revision}, "at")

    async def _create_ref(repo_type: str, org: str, name: str, ref: str, body: dict, at_key: str) -> Response:
        path = existing(repo_type, org, name)
        if isinstance(path, JSONResponse):
            return path
        if rev_parse(path, ref) is not None:
            return error(409, "Conflict", f"{ref} already exists")
        target = rev_parse(path, body.get(at_key) or "main")
        if target is None:
            return error(404, "RevisionNotFound", f"Invalid rev id: {body.get(at_key)}")
        git(path, "update-ref", ref, target, "0" * 40)
        return JSONResponse({})

    # olah answers 401 for a repo's metadata without a revision; serve "main".
    @router.api_route("/api/{repo_type}/{org}/{name}", methods=["GET", "HEAD"])
    async def repo_info(repo_type: str, org: str, name: str, request: Request) -> Response:
        path = existing(repo_type, org, name)
        if isinstance(path, JSONResponse):
            return path
        return await meta_proxy_common(
            request.app, repo_type, org, name, "main", request.method.lower(), request.headers.get("authorization")
        )

    # olah answers RepositoryNotFound for a missing file or revision; answer what the Hub answers.
    async def resolve_errors(repo_type: str, org: str, name: str, revision: str, file_path: str) -> Response | None:
        path = existing(repo_type, org, name)
        if isinstance(path, JSONResponse):
            return path
        commit = rev_parse(path, revision)
        if commit is None:
            return error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        try:
            git(path, "cat-file", "-e", f"{commit}:{file_path}")
        except GitError:
            return error(404, "EntryNotFound", f"{file_path} does not exist at {revision}")
        return None

    async def _check_then_delegate(request: Request, call_next):
        match = re.match(r"^/(?:(datasets|spaces)/)?([^/]+)/([^/]+)/resolve/([^/]+)/(.+)$", request.url.path)
        if match and request.method in ("GET", "HEAD"):
            repo_type, org, name, revision, file_path = match.groups()
            from urllib.parse import unquote

            problem = await resolve_errors(repo_type or "models", org, name, unquote(revision), unquote(file_path))
            if problem is not None:
                return problem
        return await call_next(request)

    @app.exception_handler(GitError)
    async def git_failed(_: Request, failure: GitError) -> JSONResponse:
        return error(400, "BadRequest", str(failure))

    app.middleware("http")(_check_then_delegate)
    app.router.routes[:0] = router.routes
    return app


def _safe_path(path: str) -> str:
    parts = Path(path).parts
    if not parts or Path(path).is_absolute() or ".." in parts or ".git" in parts:
        raise GitError(f"refusing path {path!r}: outside the repo or inside .git")
    return path


def _commit(
    repo: Path,
    branch: str,
    head: str | None,
    added: dict[str, bytes],
    deleted: list[str],
    message: str = "Initial commit",
) -> str:
    """One commit on `branch` from `head`, built in a private index; the branch moves only if still at `head`."""
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        if head is not None:
            git(repo, "read-tree", head, index=index)
        for folder_or_file in deleted:
            git(repo, "rm", "--cached", "-r", "--quiet", "--ignore-unmatch", "--", folder_or_file, index=index)
        for path, content in added.items():
            blob = git(repo, "hash-object", "-w", "--stdin", input=content)
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", index=index)
        tree = git(repo, "write-tree", index=index)
    parents = ["-p", head] if head is not None else []
    new = git(repo, "commit-tree", tree, *parents, "-m", message)
    git(repo, "update-ref", f"refs/heads/{branch}", new, head or "0" * 40)
    return new


def serve(root: Path, parent_pid: int) -> None:
    """Bind 127.0.0.1 on a free port, announce it in `root/port`, serve until the parent process is gone."""
    import uvicorn

    mirrors = root / "mirrors"
    for repo_type in REPO_TYPES:
        (mirrors / repo_type).mkdir(parents=True, exist_ok=True)
    app = build_app(mirrors)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))

    def exit_with_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        server.should_exit = True

    threading.Thread(target=exit_with_parent, daemon=True).start()
    (root / "port.tmp").write_text(str(sock.getsockname()[1]))
    os.replace(root / "port.tmp", root / "port")
    server.run(sockets=[sock])


# Test side ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopbackHub:
    """A running loopback Hub: its HTTP endpoint and the folder holding its git repos."""

    endpoint: str
    root: Path
    token: str = "hf_loopback_token_accepted_by_anything"

    def repo_dir(self, repo_id: str, repo_type: str = "model") -> Path:
        return self.root / "mirrors" / f"{repo_type}s" / repo_id

    def git(self, repo_id: str, *args: str) -> str:
        """Run git in a repo's bare directory, to check what the server really stored."""
        return git(self.repo_dir(repo_id), *args)

    def is_private(self, repo_id: str) -> bool:
        return self.git(repo_id, "config", "hub.private") == "true"

    def api(self):  # -> huggingface_hub.HfApi
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token)


def start_loopback_hub(root: Path) -> tuple[LoopbackHub, subprocess.Popen]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.hub_server", "--root", str(root), "--parent-pid", str(os.getpid())],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "wb"),  # noqa: SIM115 - the child owns it for its lifetime
    )
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not (root / "port").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"The loopback Hub did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.05)
    hub = LoopbackHub(endpoint=f"http://127.0.0.1:{(root / 'port').read_text()}", root=root)
    while True:  # the port is bound before uvicorn listens: wait for a first answer
        try:
            probe = urllib.request.Request(f"{hub.endpoint}/api/validate-yaml", data=b"{}", method="POST")
            with urllib.request.urlopen(probe, timeout=5):
                return hub, process
        except URLError as failure:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"The loopback Hub did not answer: {(root / 'server.log').read_text()[-2000:]}"
                ) from failure
            time.sleep(0.05)


@pytest.fixture(scope="session")
def loopback_hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackHub]:
    """The running server, shared by the session (start-up takes about a second)."""
    hub, process = start_loopback_hub(tmp_path_factory.mktemp("loopback-hub"))
    try:
        yield hub
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def loopback_hub(loopback_hub_server: LoopbackHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackHub]:
    """The server, with the imported huggingface_hub client pointed at it for this test."""
    _point_client_at(loopback_hub_server, monkeypatch)
    yield loopback_hub_server


def _point_client_at(hub: LoopbackHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """What HF_ENDPOINT / HF_HUB_OFFLINE=0 / HF_TOKEN would have set had they been in the environment at import.

    conftest.py sets HF_HUB_OFFLINE=1 before huggingface_hub is imported; the client reads these module constants
    at call time, so code that takes no `endpoint=` (timm's hf-hub loading, `from_pretrained`) reaches the loopback
    too. The module-level `HfApi` behind functions like `model_info` was built at import with the public endpoint:
    it is pointed at the loopback as well, so no request can leave 127.0.0.1.
    """
    from huggingface_hub import constants, hf_api

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(hf_api.api, "endpoint", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args()
    serve(args.root, args.parent_pid)


if __name__ == "__main__":
    _main()
