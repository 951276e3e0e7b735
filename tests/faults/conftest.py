"""Fault tests: the real app under gunicorn, with tills redeeming while a
worker is killed or PostgreSQL goes away. ``tests/benchkit.py`` builds the
world and serves it; a private PostgreSQL cluster is made for the outage,
because the shared one at :5432 must never be stopped."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.benchkit import free_port


def postgres_bin() -> Path:
    """The newest installed server's bin directory (Debian layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        pytest.fail(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): the outage test runs a private "
            "cluster; ./scripts/test installs PostgreSQL (apt-get install postgresql)",
            pytrace=False,
        )
    return Path(found[-1]).parent


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster of our own, on a free port, that may be stopped."""

    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # The server refuses to run as root: run it as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done

    def start(self) -> None:
        self.pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / "server.log"),
                 "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    pg_bin = postgres_bin()
    # Not under pytest's tmp_path: its parents are private to root, and the
    # postgres user must reach the data directory.
    root = Path(tempfile.mkdtemp(prefix="pasdienst-faults-pg-"))
    cluster = PrivateCluster(pg_bin, root / "data", free_port())
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    try:
        cluster.pg(str(pg_bin / "initdb"), "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
                    "--no-sync", "-E", "UTF8", "--locale=C")
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {cluster.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                "fsync = on\nsynchronous_commit = on\nmax_connections = 100\nshared_buffers = 32MB\n"
            )
        cluster.start()
        yield cluster
    finally:
        cluster.pg(str(pg_bin / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)
