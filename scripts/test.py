#!/usr/bin/env python
"""The whole test suite, in two passes.

1. Embedded default: SQLite, local-memory cache, in-memory channel layer, StubBroker, local files.
   Every test except those marked `services`.
2. Production services: every Django test again (kernel tests need no services) against real
   PostgreSQL, Redis and an S3-compatible server (moto in server mode), `services` tests included.

Servers named in the environment are reused:
    ORLUME_TEST_DATABASE_URL   postgres://user@host:port/dbname  (tests create test_<dbname>)
    ORLUME_TEST_REDIS_URL      redis://host:port/db  (cache in db, broker in db+1)
    ORLUME_TEST_S3_ENDPOINT_URL http://host:port
    ORLUME_TEST_AMQP_URL       amqp://user:pass@host:port/vhost  (RabbitMQ, for the amqp stories)
otherwise throwaway ones are started here (and installed from Debian's packages if missing) and
stopped at the end. Extra arguments go to both pytest runs, e.g. `make test ARGS="-k auth"`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
)


def log(message: str) -> None:
    print(f"[test] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start listening on {host}:{port} within {timeout:.0f}s")


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"{packages} missing and cannot be installed here; name a server instead")
    log(f"installing {' '.join(packages)} from Debian's packages")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    named = os.environ.get("ORLUME_TEST_DATABASE_URL")
    if named:
        log(f"reusing PostgreSQL at {urlparse(named).hostname}:{urlparse(named).port}")
        yield named
        return
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bindirs and not shutil.which("initdb"):
        apt_install("postgresql")
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    bindir = Path(bindirs[-1]) if bindirs else Path(shutil.which("initdb") or "").parent
    port = free_port()
    datadir = Path(tempfile.mkdtemp(prefix="orlume-pg-"))
    # PostgreSQL refuses to run as root; run it as the `postgres` account Debian creates.
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    proc = subprocess.Popen(
        [
            *as_user,
            str(bindir / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={datadir}",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, "PostgreSQL")
        log(f"started a throwaway PostgreSQL on port {port}")
        yield f"postgres://postgres@127.0.0.1:{port}/orlume"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(datadir, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    named = os.environ.get("ORLUME_TEST_REDIS_URL")
    if named:
        log(f"reusing Redis at {urlparse(named).hostname}:{urlparse(named).port}")
        yield named
        return
    if not shutil.which("redis-server"):
        apt_install("redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, "Redis")
        log(f"started a throwaway Redis on port {port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def s3() -> Iterator[str]:
    named = os.environ.get("ORLUME_TEST_S3_ENDPOINT_URL")
    if named:
        log(f"reusing the S3-compatible server at {named}")
        yield named
        return
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, "moto_server")
        log(f"started moto in server mode on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def rabbitmq() -> Iterator[str]:
    named = os.environ.get("ORLUME_TEST_AMQP_URL")
    if named:
        log(f"reusing RabbitMQ at {urlparse(named).hostname}:{urlparse(named).port}")
        yield named
        return
    if not shutil.which("rabbitmq-server"):
        apt_install("rabbitmq-server")
    port, dist_port = free_port(), free_port()
    base = Path(tempfile.mkdtemp(prefix="orlume-rabbit-"))
    if os.geteuid() == 0:  # Debian's wrapper runs the node as `rabbitmq`
        shutil.chown(base, "rabbitmq", "rabbitmq")
    node = f"orlume{port}@localhost"
    env = {
        **os.environ,
        "HOME": str(base),
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
        "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
    }
    proc = subprocess.Popen(
        ["rabbitmq-server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port, "RabbitMQ", timeout=120)
        log(f"started a throwaway RabbitMQ on port {port}")
        yield f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    finally:
        # The Erlang node can take minutes to stop on a loaded host; a slow stop is not a test
        # failure, so it is asked politely, then killed.
        subprocess.run(["pkill", "-f", node], check=False)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-9", "-f", node], check=False)
            proc.kill()
            proc.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def with_db(url: str, offset: int) -> str:
    """The database `offset` places after the one the URL names (cache at +0, broker at +1)."""
    parsed = urlparse(url)
    base = int(parsed.path.strip("/") or 0)
    return parsed._replace(path=f"/{base + offset}").geturl()


def pytest(env: dict[str, str], args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    log(" ".join(command))
    return subprocess.call(command, cwd=ROOT, env=env)


def main(extra: list[str]) -> int:
    base_env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    base_env.setdefault("DEBUG", "true")
    failures = 0

    log("pass 1 of 2: embedded default")
    embedded_dir = tempfile.mkdtemp(prefix="orlume-embedded-")
    embedded_env = {**base_env, "ORLUME_VAR_DIR": embedded_dir}
    status = pytest(embedded_env, ["-m", "not services", *extra])
    failures += status not in (0, 5)
    shutil.rmtree(embedded_dir, ignore_errors=True)

    log("pass 2 of 2: PostgreSQL, Redis and S3")
    with postgres() as database_url, redis() as redis_url, s3() as s3_url, rabbitmq() as amqp:
        bucket = f"orlume-test-{uuid.uuid4().hex[:12]}"
        services_dir = tempfile.mkdtemp(prefix="orlume-services-")
        services_env = {
            **base_env,
            "ORLUME_VAR_DIR": services_dir,
            "DATABASE_URL": database_url,
            "REDIS_URL": with_db(redis_url, 0),
            "BROKER_URL": with_db(redis_url, 1),
            "CACHE_KEY_PREFIX": f"orlume-test-{uuid.uuid4().hex[:8]}",
            "S3_ENDPOINT_URL": s3_url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
            "S3_REGION": "us-east-1",
            "ORLUME_TEST_SERVICES": "1",
            "ORLUME_TEST_AMQP_URL": amqp,
        }
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        status = pytest(services_env, ["--ignore=tests/kernels", *extra])
        failures += status not in (0, 5)
        shutil.rmtree(services_dir, ignore_errors=True)

    log("all passes green" if not failures else f"{failures} pass(es) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
