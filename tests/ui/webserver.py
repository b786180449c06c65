"""Start dagster-webserver on a free localhost port against the repo's definitions (found
through `[tool.dagster]` in pyproject.toml, as `make ui` finds them), and talk GraphQL to it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base_url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        out = json.loads(resp.read())
    if out.get("errors"):
        raise RuntimeError(f"GraphQL errors: {out['errors']}")
    return out["data"]


def asset_keys(base_url: str) -> list[str]:
    """Every asset key the webserver's workspace knows, as `a/b` strings."""
    data = graphql(base_url, "{ assetNodes { assetKey { path } } }")
    return sorted("/".join(n["assetKey"]["path"]) for n in data["assetNodes"])


def skip_community_dialog(base_url: str) -> None:
    """The UI greets localhost users with a 'Join the Dagster community' dialog unless the
    instance has recorded it as seen; it would cover the page in screenshots."""
    graphql(base_url, "mutation { setNuxSeen }")


@contextlib.contextmanager
def dagster_webserver(dagster_home: Path, timeout: float = 60, env: dict | None = None) -> Iterator[str]:
    """Run dagster-webserver with DAGSTER_HOME=dagster_home from the repo root; yields its base
    URL once /server_info answers, and stops it (with its code server) on exit."""
    port = free_port()
    log = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {}), "DAGSTER_HOME": str(dagster_home)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited with {proc.returncode}:\n{output()}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster-webserver did not answer /server_info within {timeout} s:\n{output()}")
            time.sleep(0.25)
        yield base
    finally:
        # Its own session: the code server it spawns goes down with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
