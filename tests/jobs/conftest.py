"""A municipality whose children are imported and whose fund is topped up, but who hold no pass yet."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pasdienst.municipalities.services import topup_budget
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, load_scheme
from pasdienst.web.app import create_app
from tests.factories import login_as, make_municipality

TODAY = date(2027, 3, 15)


def children_csv(count: int) -> bytes:
    rows = [f"J-{n};Kind{n};{2010 + n % 8}-0{1 + n % 9}-1{n % 10};{100 + n % 15}" for n in range(1, count + 1)]
    return ("child_ref;first_name;birth_date;income_pct\n" + "\n".join(rows) + "\n").encode()


def prepare(db, settings, *, children: int = 3, budget: str = "10000.00") -> None:
    make_municipality(db, "testdorp")
    with db.transaction() as s:
        topup_budget(s, "testdorp", budget, reference="test")
        load_scheme(s, sample_scheme("testdorp", 2027))
        import_children(s, "testdorp", children_csv(children), settings=settings, today=TODAY)


@pytest.fixture
def job_settings(settings):
    return replace(settings, today=TODAY)


@pytest.fixture
def app(job_settings, db):
    application = create_app(job_settings, db=db)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def admin(client):
    return login_as(client, "admin", municipality="testdorp")
