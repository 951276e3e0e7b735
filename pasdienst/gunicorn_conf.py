"""Gunicorn defaults for pasdienst (``pasdienst serve`` uses this file).

Sync workers: each request holds one database transaction, and on SQLite a
writer waits for the write lock; threads would only queue behind it.
"""
import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 2
max_requests = 5000
max_requests_jitter = 500
# Share the imported code between workers (copy-on-write); connections are
# opened lazily after the fork, and post_fork drops any made before it.
preload_app = True
accesslog = "-"
errorlog = "-"
# Pass tokens are bearer secrets: log the path without them.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def post_fork(server, worker):  # noqa: ANN001, ANN201
    from pasdienst.db import dispose_all_engines

    dispose_all_engines()
