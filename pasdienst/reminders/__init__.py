"""Reminders: e-mail to the families whose children hold a pass and have not used it.

A municipality plans *moments* (the start of the school year, December) or
starts one now (``/admin/herinneringen``). When a moment is due, the worker
starts a ``reminders`` job (``runs.start_due``, a huey periodic task); the job
(``sending.send_moment``) writes one e-mail per household address, naming
its children and their pass links, through ``mail.py`` (SMTP), and logs every
send in ``reminder_send`` (who, when, which moment, outcome; never the
message). Every e-mail carries a signed unsubscribe link (``optout.py``,
``/afmelden/<token>``); an address that used it is skipped from then on.
"""
