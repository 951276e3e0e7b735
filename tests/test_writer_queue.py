"""SQLite writers take turns through a file lock instead of sleeping in
SQLite's busy handler (pasdienst/db/engine.py, WriterQueue)."""
from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time

from sqlalchemy import text

from pasdienst.db import Database, WriterQueue, writer_queue

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
open(sys.argv[2], "w").write("released")
fcntl.flock(fd, fcntl.LOCK_UN)
"""


def _database(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'queue.db'}")
    with db.transaction() as s:
        s.execute(text("CREATE TABLE t (note TEXT)"))
    return db


def test_a_writer_waits_for_its_turn_held_by_another_process(tmp_path):
    db = _database(tmp_path)
    marker = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "queue.db.writers"), str(marker), "0.5"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with db.transaction() as s:
            # Our turn came only after the other process let go.
            assert marker.exists()
            s.execute(text("INSERT INTO t VALUES ('after')"))
    finally:
        holder.wait(10)
    with db.read() as s:
        assert s.execute(text("SELECT note FROM t")).scalars().all() == ["after"]


def test_reads_do_not_wait_for_a_turn(tmp_path):
    db = _database(tmp_path)
    queue = writer_queue(db.engine.url.database)
    with queue.turn():
        done = []
        reader = threading.Thread(target=lambda: done.append(_count(db)))
        reader.start()
        reader.join(5)
        assert done == [0]


def _count(db: Database) -> int:
    with db.read() as s:
        return s.execute(text("SELECT count(*) FROM t")).scalar_one()


def test_a_writer_goes_ahead_when_its_turn_does_not_come_within_its_patience(tmp_path):
    path = tmp_path / "lonely.writers"
    fd = open(path, "w")  # held across the test
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        queue = WriterQueue(path, patience=0.2)
        started = time.monotonic()
        with queue.turn():
            waited = time.monotonic() - started
        assert 0.2 <= waited < 5
    finally:
        fd.close()


def test_one_thread_nesting_transactions_does_not_wait_for_itself(tmp_path):
    queue = WriterQueue(tmp_path / "nested.writers", patience=5)
    with queue.turn(), queue.turn():
        pass
    # ... and the turn is free again afterwards, for another process too.
    with open(tmp_path / "nested.writers") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_databases_on_one_file_share_one_queue(tmp_path):
    one = Database(f"sqlite:///{tmp_path / 'same.db'}")
    two = Database(f"sqlite:///{tmp_path / 'same.db'}")
    assert one._queue is two._queue is not None
