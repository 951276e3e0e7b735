"""Gunicorn defaults for pasdienst (``pasdienst serve`` uses this file).

Sync workers: each request holds one database transaction, and on SQLite a
writer waits for the write lock; threads would only queue behind it.
"""
import gc
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
# The app writes one JSON line per request itself (pasdienst.web.requestlog),
# with the request id and with pass tokens masked; gunicorn's access log
# would repeat it with the token in the path.
accesslog = None
errorlog = "-"


def post_fork(server, worker):
    from pasdienst.db import dispose_all_engines

    dispose_all_engines()


def pre_fork(server, worker):
    # The preloaded app's objects move to the permanent generation: the
    # workers' garbage collector no longer walks them, and so no longer
    # writes to (and copies) the pages they share with the master.
    gc.freeze()
