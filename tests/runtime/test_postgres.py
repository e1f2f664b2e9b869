"""The engine on a real PostgreSQL server: a throwaway cluster started for the session
(initdb, pg_ctl) from the apt packages; skipped, saying why, where there are none."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from runtime import ConcurrencyError, Faults, Runtime, install_demo, run_demo
from runtime.store.journal import NewEvent


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    pg_ctl = _pg_bin("pg_ctl")
    if pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not under pytest's temporary folder: its parents are closed to other users.
    home = Path(tempfile.mkdtemp(prefix="eva-postgres-"))
    # The server refuses to run as root: as root, run it as the packages' own user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()

    def ctl(*args: str) -> None:
        subprocess.run([*as_user, pg_ctl, *args], check=True, capture_output=True, timeout=120)

    ctl("initdb", "-D", str(data), "-o", "-A trust -U postgres")
    ctl(
        "-D",
        str(data),
        "-o",
        f"-k {home} -p {port} -h 127.0.0.1",
        "-l",
        str(home / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}"
    finally:
        ctl("-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's server."""
    name = f"eva_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return f"{postgres_server}/{name}"


async def test_the_demo_runs_on_postgresql_without_duplicates_or_losses(postgres_url: str) -> None:
    async with Runtime(postgres_url, seed=3) as rt:
        await install_demo(rt, Faults(failure_rate=0.2, compensation_failure_rate=0.05), seed=3)
        summary = await run_demo(rt, sagas=60, seed=3)
        assert summary.started == 60
        assert summary.completed + summary.rolled_back + summary.failed == 60
        assert summary.rolled_back > 0
        assert (summary.duplicate_effects, summary.lost) == (0, 0)
        assert await rt.verify_journal() > 60 * 3
        report = await rt.check_consistency()
        assert (report.score, report.violations) == (1.0, [])
    async with Runtime(postgres_url) as reopened:  # what was written reads back
        assert await reopened.count_sagas() == 60


async def test_a_stale_append_is_refused_on_postgresql(postgres_url: str) -> None:
    async with Runtime(postgres_url) as rt:
        await rt.journal.append("s", 0, [NewEvent("Made", {"n": 1})])
        with pytest.raises(ConcurrencyError):
            await rt.journal.append("s", 0, [NewEvent("Made", {"n": 2})])
        assert [e.data for e in await rt.journal.read("s")] == [{"n": 1}]
