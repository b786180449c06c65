"""`make scale-test`: the partitioned jobs on Dagster's Celery executor, for real.

Starts a Redis broker (Debian's redis-server) and two Celery workers (`dagster-celery worker
start`), runs `servicelens run` with SERVICELENS_EXECUTOR=celery on a small generated drop, and
checks that every table of the warehouse equals the in-process run's and that both workers took
steps. Everything it starts, it stops; everything it writes goes under one temporary folder.
Nothing of ours schedules or queues work: Dagster plans the steps, Celery carries them.

    python -m tests.scale.celery_scale [--requests 20000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"redis did not listen on port {port} within {seconds:.0f} s")


def stop(proc: subprocess.Popen, seconds: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(seconds)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(cmd: list[str], env: dict, log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as fh:
        code = subprocess.call(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{' '.join(cmd)} failed (exit {code}); last lines of {log}:\n{tail}")
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, warehouses)")
    args = ap.parse_args()

    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit(
            "redis-server is not installed: `sudo apt-get install -y redis-server` (make scale-test does it)"
        )
    try:
        import dagster_celery  # noqa: F401
    except ImportError:
        raise SystemExit(
            "dagster-celery is not installed: pip install -e '.[celery]' (make scale-test does it)"
        ) from None
    sys.path.insert(0, str(REPO))
    from tests.warehouse_compare import differences

    tmp = Path(tempfile.mkdtemp(prefix="servicelens-scale-"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    broker, backend = f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1"
    (tmp / "celery.yaml").write_text(f'execution:\n  config:\n    broker: "{broker}"\n    backend: "{backend}"\n')
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "SERVICELENS_"))}
    base_env["PATH"] = f"{BIN}{os.pathsep}{base_env.get('PATH', '')}"
    cluster_env = {
        **base_env,
        "DAGSTER_HOME": str(home),
        "SERVICELENS_EXECUTOR": "celery",
        "SERVICELENS_CELERY_BROKER": broker,
        "SERVICELENS_CELERY_BACKEND": backend,
    }
    started = []
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        started.append(
            subprocess.Popen(
                [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=(tmp / "redis.log").open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_for_port(port)
        workers = []
        for name in ("w1", "w2"):
            log = tmp / f"worker-{name}.log"
            workers.append(log)
            started.append(
                subprocess.Popen(
                    [
                        str(BIN / "dagster-celery"),
                        "worker",
                        "start",
                        "-A",
                        "dagster_celery.app",
                        "-y",
                        str(tmp / "celery.yaml"),
                        "-n",
                        f"{name}@%h",
                        "--",
                        "--concurrency",
                        "1",
                    ],
                    env=cluster_env,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=REPO,
                )
            )
        timings["broker and 2 workers started"] = time.perf_counter() - t0
        print(f"redis on port {port}, two Celery workers; logs in {tmp}", flush=True)

        raw = tmp / "raw"
        run(
            [str(BIN / "servicelens"), "generate", "--out", str(raw), "--requests", str(args.requests), "--seed", "3"],
            base_env,
            tmp / "generate.log",
        )
        print(f"in-process run on {args.requests:,} requests ...", flush=True)
        timings["in-process run"] = run(
            [str(BIN / "servicelens"), "run", "--raw", str(raw), "--warehouse", str(tmp / "inproc.duckdb")],
            base_env,
            tmp / "run-inproc.log",
        )
        print("the same drop through Dagster's Celery executor ...", flush=True)
        timings["Celery run"] = run(
            [str(BIN / "servicelens"), "run", "--raw", str(raw), "--warehouse", str(tmp / "celery.duckdb")],
            cluster_env,
            tmp / "run-celery.log",
        )
        diff = differences(tmp / "inproc.duckdb", tmp / "celery.duckdb")
        took = {
            log.stem: len(re.findall(r"Task execute_plan\[[^\]]+\] succeeded", log.read_text(errors="replace")))
            for log in workers
        }
    finally:
        for proc in reversed(started):
            stop(proc)
    for what, s in timings.items():
        print(f"  {what}: {s:.1f} s")
    print("  steps taken by each worker: " + ", ".join(f"{k} {v}" for k, v in took.items()))
    ok = not diff and all(took.values())
    if diff:
        print("DIFFERENT from the in-process run:\n  " + "\n  ".join(diff[:20]))
    if not all(took.values()):
        print("a worker took no step: the run did not fan out")
    print("scale test " + ("PASSED: every table equals the in-process run's" if ok else "FAILED"))
    if args.keep or not ok:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
