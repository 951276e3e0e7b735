"""Hostile values in every form and filter of the staff, merchant and public pages.

schemathesis covers what the OpenAPI document describes; the HTML pages have
no such document, so this test finds their inputs itself. It crawls the pages
as each role (following links, reading every ``<form>``), adds the query
parameters the page modules read, and then sends, field by field, values that
a careless user or an attacker would type: NUL bytes (PostgreSQL text cannot
hold them), integers of thousands of digits, dates outside the calendar,
digits of other scripts, structures, very long text, files to the upload
fields, and ids beyond 64 bits (or NUL) in the variable parts of every page
address. Every other field keeps the value the page filled in, so each
hostile value reaches the code behind the field it is in.

The rules: no answer is a 5xx, and no page says a refusal in English or by
its code. Refusals are 4xx (or a page that says in Dutch what is wrong:
every error a service raised while the page was made is recorded, and
neither its English message nor its refusal code may be in the page's
visible text); the world behind the forms is real (passes, redemptions, settlement
batches in each state, an IBAN change waiting), so the forms reach their
services. ``@pytest.mark.money``: NUL only fails on PostgreSQL.
"""
from __future__ import annotations

import inspect
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from sqlalchemy import update

from pasdienst.access import accounts, logins
from pasdienst.access.models import User
from pasdienst.access.logins import session_version
from pasdienst.access.web import access_rule, is_public_rule, session_id
from pasdienst.foureyes import requests
from pasdienst.cooperations import runs as cooperation_runs
from pasdienst.cooperations import services as cooperations
from pasdienst.errors import PasdienstError
from pasdienst.jobs.models import Job
from pasdienst.municipalities.services import set_contact
from pasdienst.maatwerk import funds as maatwerk_funds
from pasdienst.maatwerk import services as maatwerk
from pasdienst.maatwerk.models import FundMember
from pasdienst.merchants import iban as iban_changes
from pasdienst.reminders import optout
from pasdienst.reminders import runs as reminder_runs
from pasdienst.settlement import returns
from pasdienst.settlement import batches
from pasdienst.wallet.sample import sample_scheme
from pasdienst.wallet.services import import_children, issue_passes, load_scheme
from pasdienst.web.extensions import limiter
from tests.cooperations import conftest as coop
from tests.cooperations.conftest import form_region
from tests.factories import OTHER_MUNICIPALITY, TEST_IBANS, api_headers, make_municipality, make_user
from tests.settlement import conftest as sw
from tests.settlement.conftest import world, world_settings  # noqa: F401 - fixtures: passes, merchants, finance users
from tests.text import visible_text

pytestmark = [pytest.mark.money, pytest.mark.slow]

#: Where each role starts reading; everything else is found through links.
START = {
    "anonymous": ["/", "/login", "/merchant/signup", "/toegankelijkheid"],
    # Fenna has no pass yet: her page carries the award form.
    "admin": ["/admin", "/account/wachtwoord", "/admin/kinderen?q=Sanne", "/admin/kinderen?q=Fenna"],
    "caseworker": ["/admin"],
    "finance": ["/finance", "/admin/gebruik"],
    "merchant": ["/merchant", "/merchant/uitbetalingen"],
    "fund": ["/fonds"],
}
#: Links not to follow: the API (schemathesis), files, and leaving the session.
SKIP_LINK = re.compile(r"^/(api/|static/)|\.(png|svg|csv|xml|pdf)$|^/logout$")
#: Pages of one endpoint read at most this often (child pages, batches…).
PER_ENDPOINT = 3

BIG_INT = "9" * 5000
#: What a careless user or an attacker types into a field.
HOSTILE: tuple[Any, ...] = (
    "abc\x00def",
    "",
    "-1",
    BIG_INT,
    "99999999999999999999",
    "1e400",
    "NaN",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "2027-02-30",
    "²",
    "١٢٣",
    "１２",
    "x" * 20_000,
    "é🎈\u202e\ufeff",
    "[[[[[[]]]]]]",
    ["1", "2"],  # the field twice
)

#: Upload fields get files as well: CSV and TOML that are malformed in each way.
HOSTILE_FILES: tuple[bytes, ...] = (
    b"",
    b"\x00\x01\x02",
    b"child_ref;first_name;birth_date\nK-1;Nora\x00;2017-06-01\n",
    b"child_ref;first_name;birth_date;income_pct\nK-1;Nora;0000-01-01;" + BIG_INT.encode() + b"\nK-2;Omar;2027-02-30;1\n",
    b"child_ref;first_name;birth_date\nK-1;Nora;99999-01-01\nK-2;Omar;\xd9\xa1\xd9\xa2-01-2017\n",
    "child_ref;first_name;birth_date;bsn;income_pct\nK-1;Nora;2017-06-01;²²²²²²²²²;１２０\nK-2;Omar;2017-06-01;١١٠٠١٧٦٧٥;1\n".encode(),
    b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000 + b"\n",
    b"municipality = \"testdorp\"\nyear = " + BIG_INT.encode() + b"\n",
    b"municipality = \"testdorp\"\nyear = 2027\nvalid_from = 0001-01-01\nvalid_until = 9999-12-31\n",
    b"municipality = \"test\x00dorp\"\nyear = 2027\n",
)


@dataclass
class Form:
    role: str
    method: str
    action: str  # path with query
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    endpoint: str = ""

    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.method, self.endpoint, tuple(sorted({*self.fields, *self.files})))


class Raised:
    """Every ``PasdienstError`` made while a page answers, to hold its answer against."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.errors: list[PasdienstError] = []
        init = PasdienstError.__init__

        def recording(error: PasdienstError, *args: Any, **kwargs: Any) -> None:
            init(error, *args, **kwargs)
            self.errors.append(error)

        monkeypatch.setattr(PasdienstError, "__init__", recording)

    def said_wrongly(self, html: str) -> list[str]:
        """The recorded errors whose English message or refusal code the page shows (then forgets them)."""
        errors, self.errors = self.errors, []
        if "<html" not in html[:200].lower():
            return []
        text = visible_text(html)
        found = []
        for error in errors:
            message = " ".join(error.message.split())
            if len(message) > 12 and message in text:
                found.append(f"its message {message!r}, not the catalogue's sentence")
            if "_" in error.refusal and re.search(rf"(?<![\w.]){re.escape(error.refusal)}(?![\w.])", text):
                found.append(f"raw code {error.refusal!r}")
        return found


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[tuple[str, str, dict[str, list[str]], set[str]]] = []
        self._form: tuple[str, str, dict[str, list[str]], set[str]] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = ((a.get("method") or "get").upper(), a.get("action", ""), {}, set())
            self.forms.append(self._form)
        elif self._form is not None and "name" in a:
            fields, files = self._form[2], self._form[3]
            name = a["name"]
            if tag == "input" and a.get("type") == "file":
                files.add(name)
            elif tag == "input" and a.get("type") in ("checkbox", "radio"):
                fields.setdefault(name, [])
                if "checked" in a:
                    fields[name].append(a.get("value", "on"))
            elif tag in ("input", "button"):
                fields.setdefault(name, []).append(a.get("value", ""))
            elif tag == "select":
                self._select = name
                fields.setdefault(name, [])
            elif tag == "textarea":
                self._textarea = name
                fields.setdefault(name, [""])
        elif tag == "option" and self._form is not None and self._select is not None:
            values = self._form[2][self._select]
            if "selected" in a or not values:
                values[:] = [a.get("value", "")]

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form[2][self._textarea] = [data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Site:
    app: Flask
    users: dict[str, int]  # role -> user id
    versions: dict[str, str] = field(default_factory=dict)

    def client(self, role: str) -> Any:
        """A client logged in as ``role``'s user as it is now (a form may have reset its password)."""
        client = self.app.test_client()
        if role != "anonymous":
            if role not in self.versions:
                self.restore()
            with self.app.extensions["pasdienst.db"].transaction() as s:
                key = logins.start_session(s, self.users[role])  # a form may have logged it out
            with client.session_transaction() as session:
                session["_user_id"] = session_id(self.users[role], self.versions[role], key)
                session["_fresh"] = True
        return client

    def restore(self) -> None:
        """The fuzzed forms block users and hand out one-time passwords; the fuzzing users stay able to work."""
        with self.app.extensions["pasdienst.db"].transaction() as s:
            s.execute(update(User).where(User.id.in_(self.users.values())).values(active=True, must_change_password=False))
            for role, user_id in self.users.items():
                self.versions[role] = session_version(s.get(User, user_id))

    def endpoint(self, method: str, url: str) -> str | None:
        adapter = self.app.url_map.bind("localhost")
        try:
            name, _ = adapter.match(urlsplit(url).path, method=method)
        except Exception:  # a link to nowhere is not a page to fuzz
            return None
        return name


def _crawl(site: Site, role: str, extra_pages: list[tuple[str, str, dict[str, tuple[bytes, str]]]],
           raised: Raised, wrong: list[str]) -> list[Form]:
    """Every form on every page ``role`` can reach (and on the answers to ``extra_pages``)."""
    seen: set[str] = set()
    per_endpoint: dict[str, int] = defaultdict(int)
    queue = list(START[role])
    pages: list[tuple[str, str]] = []
    while queue:
        url = queue.pop(0)
        endpoint = site.endpoint("GET", url)
        if url in seen or endpoint is None or per_endpoint[endpoint] >= PER_ENDPOINT:
            continue
        seen.add(url)
        per_endpoint[endpoint] += 1
        response = site.client(role).get(url)
        assert response.status_code < 500, f"{role} GET {url}: {response.status_code}"
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        wrong.extend(f"{role} GET {url}: {said}" for said in raised.said_wrongly(html))
        pages.append((url, html))
        parser = _Page()
        parser.feed(html)
        queue.extend(link for link in parser.links if not SKIP_LINK.search(urlsplit(link).path))
        # The query of a link is a filter too.
        for link in parser.links:
            query = urlsplit(link).query
            if query and not SKIP_LINK.search(urlsplit(link).path):
                pages.append((url, f'<form method="get" action="{urlsplit(link).path}">'
                              + "".join(f'<input name="{k}" value="{v}">' for k, v in parse_qsl(query)) + "</form>"))
    for method, url, files in extra_pages:
        client = site.client(role)
        data = {name: (io.BytesIO(content), filename) for name, (content, filename) in files.items()}
        response = client.open(url, method=method, data=data, headers=api_headers(client), content_type="multipart/form-data")
        pages.append((url, response.get_data(as_text=True)))
        wrong.extend(f"{role} {method} {url}: {said}" for said in raised.said_wrongly(pages[-1][1]))
    forms = []
    for url, html in pages:
        parser = _Page()
        parser.feed(html)
        for method, action, fields, files in parser.forms:
            target = action or url
            endpoint = site.endpoint(method, target)
            if endpoint is None or target.startswith("/api/"):
                continue
            fields.pop("csrf_token", None)
            forms.append(Form(role, method, target, fields, files, endpoint))
    return forms


_READS_ARG = re.compile(r'request\.(?:args|values)\.get\(\s*"(\w+)"')


def _page_args(app: Flask) -> dict[str, set[str]]:
    """Query parameters each page reads (``request.args.get("year")``, in the view or a helper of its module), by endpoint."""
    found: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static/")) or "GET" not in (rule.methods or ()):
            continue
        view = inspect.unwrap(app.view_functions[rule.endpoint])
        module = inspect.getmodule(view)
        source = inspect.getsource(view)
        helpers = [getattr(module, name) for name in set(re.findall(r"\b(_\w+)\(", source)) if inspect.isfunction(getattr(module, name, None))]
        for function in [view, *helpers]:
            found[rule.endpoint] |= set(_READS_ARG.findall(inspect.getsource(function)))
    return {endpoint: names for endpoint, names in found.items() if names}


def _send(site: Site, form: Form, name: str, value: Any, upload: bytes | None = None) -> tuple[int, str]:
    client = site.client(form.role)
    data: dict[str, Any] = {k: list(v) for k, v in form.fields.items()}
    if upload is not None:
        data[name] = (io.BytesIO(upload), "bestand.csv" if upload.startswith(b"child_ref") else "regeling.toml")
    elif name:
        data[name] = value if isinstance(value, list) else [value]
    if form.method == "GET":
        path = urlsplit(form.action).path
        query = urlencode([(k, v) for k, vs in data.items() for v in vs])
        response = client.get(f"{path}?{query}" if query else path)
    else:
        headers = api_headers(client) if form.role != "anonymous" else {"X-CSRFToken": _anonymous_csrf(client)}
        response = client.post(form.action, data=data, headers=headers, content_type="multipart/form-data")
        if form.action.startswith(("/admin/gebruikers/", "/account/")):
            site.restore()
    return response.status_code, response.get_data(as_text=True)


def _anonymous_csrf(client: Any) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


@pytest.fixture
def site(db, world, world_settings, monkeypatch) -> Site:  # noqa: F811 - the settlement fixtures imported above
    from pasdienst.web.app import create_app

    # The limits have tests of their own; here every request must reach its view.
    monkeypatch.setattr(limiter, "enabled", False)
    for day, merchant, cents in ((2, "sport", 1250), (3, "school", 1999), (9, "sport", 500), (14, "mode", 7500)):
        world.redeem(merchant, cents, sw.at(day))
    # One batch in each state with a form of its own: exported, approved, draft.
    exported = sw.create(world, until=date(2027, 3, 3))
    sw.approve(world, exported.id)
    sw.export(world, exported.id)
    approved = sw.create(world, until=date(2027, 3, 4))
    sw.approve(world, approved.id)
    sw.create(world, until=date(2027, 3, 15))
    with db.transaction() as s:
        # Things that wait for a second person: an IBAN change, an account, a bank return.
        iban_changes.request_change(s, world.actor(world.admin), world.merchants["sport"], TEST_IBANS[2])
        requests.request_account(s, world.actor(world.admin), "nieuw@testdorp.example", "finance")
        returns.request_return(s, world.actor(world.finance), approved.id, merchant_id=world.merchants["school"], reason="rekening opgeheven")
        # A year that is over and has passes (2026), so that the year end offers its confirmation form.
        load_scheme(s, sample_scheme("testdorp", 2026))
        issue_passes(s, "testdorp", 2026, settings=world_settings, today=date(2026, 3, 2))
        # A child without a pass yet, so that issuing has something to offer.
        import_children(s, "testdorp", CHILD_WITHOUT_PASS, settings=world_settings, today=sw.TODAY)
    with db.transaction() as s:
        # Reminders: a planned moment to cancel, one whose run failed to start again.
        planner = world.actor(world.admin)
        reminder_runs.plan_moment(s, planner, year=2027, send_on=date(2027, 9, 1), title="Start schooljaar",
                                  under_cents=None, today=sw.TODAY)
        failed = reminder_runs.start_now(s, planner, year=2027, title="Eerder", under_cents=None, today=sw.TODAY)
        s.execute(update(Job).where(Job.id == failed.id).values(state="failed", error_code="mail_unavailable"))
    with db.transaction() as s:
        # A cooperation led by testdorp: its admin invites (anderdorp is free), admits and withdraws merchants.
        cooperations.create_cooperation(s, "dorpen", name="Kindpakket De Dorpen", lead="testdorp")
        cooperations.admit_merchant(s, None, world.merchants["sport"])
        # Contact details for families, so /admin/contact's form carries every field filled in.
        set_contact(s, "testdorp", phone="14 0513", email="kinderpas@testdorp.example", website="www.testdorp.example",
                    desk="Gemeentehuis, Dorpsstraat 1", hours="maandag t/m vrijdag 9.00-12.30 uur")
    lead_finance = _paying_cooperation(db, world_settings)
    monkeypatch.setitem(START, "lead_finance", ["/finance/samenwerking"])
    make_municipality(db, OTHER_MUNICIPALITY)
    # The unsubscribe page of a reminder (its form posts without a session).
    unsubscribe = "/afmelden/" + optout.opt_out_token(world_settings, world.municipality_id, "ouder@example.nl")
    monkeypatch.setitem(START, "anonymous", [*START["anonymous"], unsubscribe])
    users = {
        "admin": make_user(db, "admin").id,
        "caseworker": make_user(db, "caseworker").id,
        "finance": world.finance2.id,
        "merchant": make_user(db, "merchant", merchant_id=world.merchants["sport"]).id,
        "lead_finance": lead_finance,
        "fund": make_user(db, "fund").id,
    }
    with db.transaction() as s:
        # Maatwerk: a team with the case worker in it and a budget, a fund with its user, an award of each to withdraw.
        admin = world.actor(world.admin)
        team = maatwerk.create_team(s, admin, "Gebiedsteam Noord")
        maatwerk.add_team_member(s, admin, team.id, users["caseworker"])
        maatwerk.set_team_budget(s, admin, team.id, 2027, "1000,00")
        fund = maatwerk_funds.create_fund(s, admin, "Jeugdfonds Sport & Cultuur")
        maatwerk_funds.topup_fund(s, admin, fund.id, "500,00", reference="overboeking")
        s.add(FundMember(user_id=users["fund"], fund_id=fund.id))
    for role, award in (("caseworker", maatwerk.award_by_team), ("fund", maatwerk.award_by_fund)):
        with db.transaction() as s:
            actor = accounts.actor_for(s, s.get(User, users[role]))
            award(s, actor, maatwerk.AwardRequest("T-1", "sport_culture", "25,00", "membership",
                                                  merchant_id=world.merchants["sport"]), today=sw.TODAY)
    app = create_app(world_settings, db=db)
    app.config.update(TESTING=False)  # a 500 is an answer here, not an exception in the test
    return Site(app, users)


def _paying_cooperation(db, settings) -> int:
    """``tests/cooperations``' region, paid by the cooperation: one run exported, one to export, and a
    batch of zuid waiting for the next; returns the lead's finance user, who crawls ``/finance/samenwerking``
    (role ``lead_finance``: a finance user of another municipality than testdorp's)."""
    region = form_region(db, replace(settings, today=coop.TODAY), payout="cooperation")
    lead = region.actor(region.finance["noord"][0])
    maker, checker = (region.actor(user) for user in region.finance["zuid"])
    for day, run in ((2, "exported"), (4, "remitted"), (6, None)):
        region.redeem("sport", "zuid", 1000 + day, when=coop.at(day))
        until = coop.at(day + 1).date()
        with db.transaction() as s:
            batch_id = batches.create_batch(s, maker, "zuid", until=until, today=until).id
        with db.transaction() as s:
            batches.approve_batch(s, checker, batch_id)
        if run is None:
            continue
        with db.transaction() as s:
            run_id = cooperation_runs.create_run(s, lead, "regio", now=coop.at(day + 1, 14)).id
        if run == "exported":
            with db.read() as s:
                files = cooperation_runs.build_run_export(s, lead, run_id, today=coop.TODAY)
            with db.transaction() as s:
                cooperation_runs.record_run_export(s, lead, files, now=coop.at(day + 1, 15))
    return region.finance["noord"][0].id


#: What goes into the ``<int:…>`` and ``<…>`` parts of page addresses.
PATH_VALUES = {
    "IdConverter": ("0", str(2**63), str(10**30), BIG_INT, "١٢", "-1"),
    "UnicodeConverter": ("%00", "a%00b", "x" * 3000, "%F0%9F%8E%88", "..%2F..%2Fetc"),
}


def _path_targets(site: Site) -> list[tuple[str, str, str]]:
    """(role, method, url): each page address with hostile values in its variable parts."""
    targets = []
    for rule in site.app.url_map.iter_rules():
        if not rule.arguments or rule.rule.startswith(("/api/", "/static/")):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if is_public_rule(rule.rule, rule.endpoint):
                role = "anonymous"
            else:
                allowed = access_rule(site.app.view_functions[rule.endpoint], method)[0]
                role = next(r for r in START if r in allowed)
            for name, converter in rule._converters.items():
                for value in PATH_VALUES[type(converter).__name__]:
                    url = rule.rule
                    for other, other_converter in rule._converters.items():
                        filled = value if other == name else PATH_VALUES[type(other_converter).__name__][0]
                        url = re.sub(rf"<(?:[^:<>]+:)?{other}>", filled, url)
                    targets.append((role, method, url))
    return targets


CHILD_WITHOUT_PASS = b"child_ref;first_name;birth_date;income_pct\nT-9;Fenna;2016-05-05;100\n"

#: Pages whose forms appear only as the answer to a POST (the import's "download rejected rows").
ANSWERS = {
    "admin": [("POST", "/admin/import", {"file": (b"child_ref;first_name;birth_date\nK-9;;2017-01-01\n", "k.csv")})],
}


def test_no_hostile_value_in_any_page_form_or_filter_is_a_server_error_or_refused_in_english(
    site: Site, capsys, monkeypatch,
) -> None:
    raised = Raised(monkeypatch)
    wrong: list[str] = []  # pages that say a refusal in English or by its code
    forms: dict[tuple, Form] = {}
    for role in START:
        for form in _crawl(site, role, ANSWERS.get(role, []), raised, wrong):
            forms.setdefault(form.key(), form)
    # Every query parameter a page reads, whether or not a form on it names it.
    for endpoint, names in _page_args(site.app).items():
        rule = next(r for r in site.app.url_map.iter_rules() if r.endpoint == endpoint)
        if rule.arguments:
            continue  # pages with ids are covered through their forms and links
        if is_public_rule(rule.rule, endpoint):
            role = "anonymous"
        else:
            allowed = access_rule(site.app.view_functions[endpoint], "GET")[0]
            role = next(r for r in START if r in allowed)
        for name in names:
            form = Form(role, "GET", rule.rule, {name: [""]}, set(), endpoint)
            forms.setdefault(form.key(), form)

    # The crawl reached every form the app has: a POST endpoint without a form found means the world lacks data.
    posted = {f.endpoint for f in forms.values() if f.method == "POST"}
    page_posts = {
        r.endpoint for r in site.app.url_map.iter_rules() if "POST" in (r.methods or ()) and not r.rule.startswith("/api/")
    }
    assert page_posts - posted == set(), f"no form found for {sorted(page_posts - posted)}"

    failures: list[str] = []
    sent = 0
    for role, method, url in _path_targets(site):
        status, body = _send(site, Form(role, method, url), "", None)
        wrong.extend(f"{role} {method} {url[:80]}: {said}" for said in raised.said_wrongly(body))
        sent += 1
        if status >= 500:
            failures.append(f"{role} {method} {url[:80]}: {status}")
    for form in forms.values():
        targets = [(name, value, None) for name in form.fields for value in HOSTILE]
        targets += [(name, None, upload) for name in form.files for upload in HOSTILE_FILES]
        for name, value, upload in targets:
            status, body = _send(site, form, name, value, upload)
            shown = repr(value if upload is None else upload)[:60]
            wrong.extend(f"{form.role} {form.method} {form.action} {name}={shown}: {said}" for said in raised.said_wrongly(body))
            sent += 1
            if "Formulier verlopen" in body or (status in (401, 403) and form.role != "anonymous"):
                failures.append(f"{form.role} {form.method} {form.action}: {status}, the request never reached the form's view")
            elif status >= 500:
                failures.append(f"{form.role} {form.method} {form.action} {name}={shown}: {status}")
    with capsys.disabled():
        print(f"\npage forms: {sent} hostile requests over {len(forms)} forms and filters")
    assert sent > 1000
    assert failures == [], f"{len(failures)} server errors:\n" + "\n".join(failures[:80])
    # One line per wrongly said refusal, with the first page that said it.
    first = {said.split(": ", 1)[1]: said for said in reversed(wrong)}
    assert wrong == [], f"{len(wrong)} pages say a refusal by its message or code:\n" + "\n".join(sorted(first.values()))
