"""Background jobs: the year's long work (issuing passes, letters, year end) off the web request.

A job is a row in ``job`` (who asked, what, for which municipality, its
state and outcome) and a message on a huey queue that names the row. The
queue is a SQLite file in ``instance/`` by default and Redis in production
(``PASDIENST_QUEUE_URL``); ``pasdienst worker`` consumes it. Progress and
heartbeats live in the queue's key-value store, not in the database, so
that a job's own long transaction (SQLite's single writer) never blocks its
progress bar.

Each job kind is all-or-nothing per transaction and safe to run again: a
worker that dies mid-job leaves the database as before that transaction,
and the reaper (:func:`services.reap_stale`) queues the job again (or marks
it failed after ``MAX_ATTEMPTS``) once its heartbeat is stale.
"""
