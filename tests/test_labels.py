"""Every code a page shows by name has its Dutch name in ``pasdienst.labels``, and no table names a code that does not exist."""
from __future__ import annotations

import pytest

from pasdienst import labels
from pasdienst.cooperations.models import RUN_STATUSES
from pasdienst.jobs import kinds
from pasdienst.jobs.models import STATES
from pasdienst.reminders.sending import STEP_MAIL
from pasdienst.web.errors import _HTTP_CODES


def test_a_payment_run_has_a_title_for_each_of_its_states():
    assert set(labels.RUN_STATUS_TITLES) == set(RUN_STATUSES)


def test_a_job_has_a_title_for_each_kind_state_and_step_of_its_progress_bar():
    assert set(labels.JOB_KIND_TITLES) == set(kinds.KINDS)
    assert set(labels.JOB_STATE_TITLES) == set(STATES)
    steps = {value for name, value in vars(kinds).items() if name.startswith("STEP_")} | {STEP_MAIL}
    assert set(labels.JOB_STEP_TITLES) == steps


def test_each_kind_of_voucher_has_its_plural():
    assert set(labels.VOUCHER_KIND_PLURALS) == set(labels.VOUCHER_KIND_TITLES)


def test_every_error_status_the_pages_answer_has_a_title():
    assert set(_HTTP_CODES) <= set(labels.ERROR_PAGE_TITLES)


@pytest.mark.parametrize("table", ["RUN_STATUS_TITLES", "JOB_KIND_TITLES", "JOB_STATE_TITLES", "JOB_STEP_TITLES", "ERROR_PAGE_TITLES"])
def test_a_title_is_dutch_words_not_a_code(table):
    for code, title in getattr(labels, table).items():
        assert title and title != code and "_" not in title, (table, code)
