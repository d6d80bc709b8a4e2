"""Soak: a long mixed read/write load through real HTTP, then proof that no write was lost.

    python -m bench.soak [--duration 600] [--clients 8] [--providers 4] [--workers 1]
                         [--database-url postgresql+psycopg://…] [--dataset demo|generated]
                         [--out bench/RESULTS.md]

1. copies the code into a temporary directory (bench/snapshot.py) and prepares a fresh
   database there, as ``make demo`` does, with the CLI of that copy: ``db upgrade``,
   ``geo import-postcodes``, ``import uithoorn --admit`` (96 services) and ``search reindex``
   (``--dataset generated``: the search benchmark's synthetic directory instead). SQLite by
   default; with ``--database-url`` a fresh schema in that PostgreSQL database (dropped
   afterwards);
2. creates the accounts as a gemeente does: the first beheerder with ``sociale-kaart users
   create`` (password on stdin), then through the API an invitation per account — a
   redacteur and ``--providers`` aanbieders, each for its own organisation of the demo data —
   accepted with the link from the invitation mail (read from the mail outbox: mail is off
   in development);
3. starts ``uvicorn app.main:app`` on a free port of 127.0.0.1 with everything in the
   background on (search drain loop, mail, geocoding, monitor counts), as it runs in
   production; the per-client search limit is off, because every simulated client comes
   from 127.0.0.1;
4. runs ``--clients`` threads, each with its own keep-alive ``httpx.Client``, for
   ``--duration`` seconds, each doing a weighted mix (``ACTIONS``): public search, suggest,
   service and organisation detail; aanbieders submitting a new organisation with
   voorzieningen and changes to their own listing; the redactie reviewing the queue
   (toelaten, afwijzen, terug voor aanvulling) and editing services with ``If-Match``.
   Every response is checked: an error is a 5xx, no answer (connection error, timeout) or
   any status the operation does not expect. Expected conflicts are counted apart: a 412
   for a stale ``If-Match`` (the editor's copy was older; re-read and retried) and a 409
   "verouderd" for a write that lost a race (on SQLite: the single writer lock), retried
   with backoff (``--write-retries``); a write still refused after that is an error;
5. samples the RSS of the server's process tree every ``--rss-interval`` seconds;
6. keeps a ledger of every acknowledged (2xx) write and afterwards, once the outbox is
   empty (``/health/ready`` ``search_backlog``), checks each against the database
   (directly, with SQL), the public API and the search index;
7. prints a report and writes it to ``--out`` under the heading ``# Soak`` (replacing that
   section only).

Exit status: 0; 1 when a request failed, the memory grew (judged on runs with at least
``MIN_JUDGE_S`` seconds after the warm-up) or an acknowledged write is missing; 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import snapshot
from bench.common import BuildResult, DatasetInfo
from bench.load import BROAD, CLIENT_TIMEOUT_S, LAY, MISSPELLED, PROFESSIONAL, percentile
from bench.run import DEFAULT_OUT, DEFAULT_PC4, PROJECT_ROOT, _machine, _mib, _ms
from bench.server import (
    Server,
    launch_uvicorn,
    proc_status_kib,
    process_tree,
    tree_cpu_seconds,
)
from bench.snapshot import call_in_snapshot

API = "/api/v1"
MUNICIPALITY = "uithoorn"
HERE = {"municipality": MUNICIPALITY}  # slugs are unique per gemeente only
HEADING = "# Soak"
ADMIN = "beheer@soak.example.nl"

# action -> weight; an action is one or a few requests of the kinds in KINDS
ACTIONS: dict[str, int] = {
    "search": 40,
    "suggest": 10,
    "service": 14,
    "organization": 8,
    "submit-new": 1,  # new organisations: the data grows ~5x in 10 minutes, not ~20x
    "submit-change": 6,
    "review": 10,
    "patch": 8,
}
# request kinds in the report, with what they are
KINDS: dict[str, str] = {
    "search": "`GET /search`: lay words, misspellings, professional terms; filters (theme, "
    "target group, cost, age, wijk, kern), postcode + radius, browsing by name; page 2–3 in 20%",
    "suggest": "`GET /search/suggest`: the first 2–6 letters of a lay word",
    "service": "`GET /services/{slug}`: demo services, admitted new ones; the editor's re-read",
    "organization": "`GET /organizations/{slug}`: demo organisations and admitted new ones",
    "submission": "`GET /submissions/{id}`: an aanbieder looks at its open change",
    "submit-new": "`POST /submissions`: a new organisation with 1–2 voorzieningen and a location",
    "submit-change": "`POST /submissions`: a change (name, description) of the aanbieder's own "
    "voorziening; one open change per organisation",
    "reviews": "`GET /reviews?status=ingediend|aanvullen`: the redactie's queue",
    "decide": "`POST /submissions/{id}/decision`: toegelaten 70–75%, afgewezen 15–25%, "
    "aanvullen 10% (new organisations only)",
    "patch": "`PATCH /services/{slug}` with `If-Match` from the editor's last read (412 when "
    "another editor was first: re-read, retried once)",
    "token": "`POST /auth/token`: refresh before the access token expires",
}
WRITE_KINDS = ("submit-new", "submit-change", "decide", "patch")
OPEN = ("ingediend", "aanvullen")
STALE_TYPE = "/verouderd"  # problem type of a lost race: 409 (app/core/errors.py)
WRITE_RETRIES = 5  # a 409 "verouderd" says: try again; exponential backoff, ~6 s in all
RETRY_BASE_S = 0.1
RETRY_MAX_S = 2.0
PATCH_POOL = 6  # demo services the redactie edits (412s happen between editors)
BACKLOG_WAIT_S = 180.0
VERIFY_THREADS = 4
# memory: judged after the warm-up (the first 10%, at most a minute) on a long enough run
WARMUP_SHARE = 0.10
WARMUP_MAX_S = 60.0
MIN_JUDGE_S = 120.0
EDGE_S = 30.0  # RSS at the start and at the end: the median of this many seconds of samples
FLAT_MIB = 20.0
FLAT_SHARE = 0.10

SERVICE_NOUNS = (
    "Koffieochtend",
    "Taalmaatje",
    "Budgetcoach",
    "Wandelgroep",
    "Huiswerkbegeleiding",
    "Maaltijd aan huis",
    "Klusjesdienst",
    "Spreekuur formulieren",
    "Mantelzorgcafé",
    "Repair café",
    "Buurtkamer",
    "Vervoer naar het ziekenhuis",
)
DESCRIPTIONS = (
    "Een vrijwilliger helpt u een paar uur per week.",
    "U bent welkom zonder afspraak. De koffie staat klaar.",
    "Wij helpen u met brieven en formulieren. Neem uw papieren mee.",
    "Samen wandelen in de buurt. Iedereen mag meedoen.",
    "Wij koken en brengen de maaltijd bij u thuis.",
)
ORGANIZATION_WORDS = ("Stichting Buurtkracht", "Vereniging Samen", "Steunpunt", "Huiskamer")
ORGANIZATION_KINDS = ("stichting", "vereniging", "welzijnsorganisatie", "vrijwilligersorganisatie")
ADDRESSES = (
    ("Laan van Meerwijk 16", "1423 AB", "Uithoorn"),
    ("Marktplein 2", "1421 AC", "Uithoorn"),
    ("Dorpsstraat 10", "1421 AN", "Uithoorn"),
    ("Prinses Christinalaan 1", "1422 BA", "Uithoorn"),
    ("Kwakelsepad 3", "1424 PA", "De Kwakel"),
)
POSTCODES = ("1421", "1422", "1423", "1424", "1422 AB")
AGES = ("8", "16", "40", "70")
APPROVE_REASON = "Soak: de redactie heeft dit gecontroleerd."
REJECT_REASON = "Soak: dit aanbod past niet op de sociale kaart (T8)."
BACK_REASON = "Soak: vul de openingstijden aan."


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="Mixed read/write soak through real HTTP; verifies every acknowledged write.",
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--providers", type=int, default=4, help="aanbieder accounts, one organisation each (4)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default 1)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL database in which a fresh schema is made (default: a SQLite file)",
    )
    parser.add_argument(
        "--dataset",
        choices=("demo", "generated"),
        default="demo",
        help="demo: the Uithoorn demo data (96 services); generated: the search benchmark's "
        "synthetic directory (--services, needs --pc4)",
    )
    parser.add_argument(
        "--services", type=int, default=100_000, help="with --dataset generated (100000)"
    )
    parser.add_argument("--pc4", type=Path, default=DEFAULT_PC4, help="with --dataset generated")
    parser.add_argument(
        "--drain-interval",
        type=float,
        default=30.0,
        help="SEARCH_DRAIN_INTERVAL_S of the server (default 30, the production default)",
    )
    parser.add_argument(
        "--rss-interval", type=float, default=5.0, help="seconds between RSS samples (5)"
    )
    parser.add_argument(
        "--write-retries",
        type=int,
        default=WRITE_RETRIES,
        help="retries of a write answered 409 'verouderd' (a lost race), with exponential "
        f"backoff from {RETRY_BASE_S:g} s up to {RETRY_MAX_S:g} s; after the last one the "
        f"write counts as an error (default {WRITE_RETRIES})",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (and PostgreSQL schema)"
    )
    args = parser.parse_args(argv)
    if (
        args.duration <= 0
        or args.clients < 1
        or args.providers < 1
        or args.workers < 1
        or args.rss_interval <= 0
        or args.drain_interval < 0
        or args.services < 1
        or args.write_retries < 0
    ):
        parser.error(
            "--duration, --clients, --providers, --workers, --services and --rss-interval "
            "must be positive, --drain-interval >= 0"
        )
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url: a PostgreSQL URL (postgresql+psycopg://…); SQLite is default")
    return args


# --- what was measured ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str
    at: float  # seconds since the load started
    seconds: float
    status: int  # 0: no answer
    outcome: str  # ok | conflict | error
    detail: str = ""


@dataclass
class NewListing:
    submission_id: uuid.UUID
    organization: str
    services: dict[str, str]  # name -> description
    status: str  # the submission's status as last acknowledged


@dataclass
class Change:
    submission_id: uuid.UUID
    organization: str
    seq: int  # order of the organisation's changes (one is open at a time)
    values: dict[str, dict[str, str]]  # service slug -> field -> value
    status: str


@dataclass(frozen=True)
class Patch:
    slug: str
    version: int
    name: str


@dataclass
class Ledger:
    """Every acknowledged write, as the clients saw it.

    A decision can be acknowledged before the client that submitted learns its own answer
    (the redactie saw it in the queue first): decisions are kept apart and applied to the
    submission whenever both are known."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    new: dict[uuid.UUID, NewListing] = field(default_factory=dict)
    changes: dict[uuid.UUID, Change] = field(default_factory=dict)
    patches: list[Patch] = field(default_factory=list)
    decisions: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    last_decision: dict[uuid.UUID, str] = field(default_factory=dict)
    admitted_organizations: list[str] = field(default_factory=list)

    def submitted_new(self, listing: NewListing) -> None:
        with self.lock:
            self.new[listing.submission_id] = listing
            self._apply(listing.submission_id)

    def submitted_change(self, change: Change) -> None:
        with self.lock:
            self.changes[change.submission_id] = change
            self._apply(change.submission_id)

    def decided(self, submission_id: uuid.UUID, status: str) -> None:
        with self.lock:
            self.decisions.append((submission_id, status))
            self.last_decision[submission_id] = status
            self._apply(submission_id)

    def _apply(self, submission_id: uuid.UUID) -> None:
        status = self.last_decision.get(submission_id)
        if status is None:
            return
        if submission_id in self.new:
            listing = self.new[submission_id]
            if status == "toegelaten" and listing.status != status:
                self.admitted_organizations.append(listing.organization)
            listing.status = status
        elif submission_id in self.changes:
            self.changes[submission_id].status = status

    def final_status(self, submission_id: uuid.UUID) -> str | None:
        if submission_id in self.new:
            return self.new[submission_id].status
        if submission_id in self.changes:
            return self.changes[submission_id].status
        return self.last_decision.get(submission_id)


@dataclass
class Account:
    email: str
    password: str
    access: str = ""
    refresh: str = ""
    expires_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: Mapping[str, Any]) -> None:
        self.access = str(body["access_token"])
        self.refresh = str(body["refresh_token"])
        self.expires_at = time.monotonic() + float(body["expires_in"])


@dataclass
class Provider:
    account: Account
    organization: str
    services: dict[str, str]  # slug -> original name
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: bool = False
    open_change: uuid.UUID | None = None
    seq: int = 0


@dataclass
class Vocabulary:
    themes: list[str]
    target_groups: list[str]
    costs: list[str]
    wijken: list[str]
    kernen: list[str]


@dataclass
class World:
    """What the clients share."""

    editor: Account
    providers: list[Provider]
    services: list[str]  # public service slugs to read
    organizations: list[str]  # public organisation slugs to read
    patch_pool: dict[str, str]  # slug -> original name (services the redactie edits)
    vocabulary: Vocabulary
    ledger: Ledger = field(default_factory=Ledger)
    claims: set[uuid.UUID] = field(default_factory=set)
    finished: set[uuid.UUID] = field(default_factory=set)  # decided for good (ack'd)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)
    started: float = 0.0  # perf_counter at the start of the load
    write_retries: int = WRITE_RETRIES
    deadline: float = 0.0

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


# --- the clients --------------------------------------------------------------------------------


def _problem_type(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def _marker(rng: random.Random) -> str:
    """A word no other text contains: finds exactly one document in the index."""
    return f"soak{rng.getrandbits(40):010x}"


class Client:
    """One simulated user agent: its own connection, its own random sequence."""

    def __init__(self, world: World, base_url: str, index: int, seed: int) -> None:
        self.world = world
        self.index = index
        self.rng = random.Random(seed * 1000 + index)  # noqa: S311 (a reproducible mix)
        self.http = httpx.Client(base_url=base_url + API, timeout=CLIENT_TIMEOUT_S)
        self.provider = world.providers[index % len(world.providers)]
        self.etags: dict[str, str] = {}  # the editor's last read of a service (slug -> ETag)

    # -- plumbing --

    def call(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...] = (200,),
        conflicts: tuple[int, ...] = (),
        account: Account | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One request, recorded; the response when its status was expected or a conflict."""
        sent = dict(headers or {})
        if account is not None:
            sent["Authorization"] = f"Bearer {self.token(account)}"
        t0 = time.perf_counter()
        try:
            response = self.http.request(method, url, headers=sent, **kwargs)
        except httpx.HTTPError as exc:
            self.world.record(
                Call(
                    kind,
                    t0 - self.world.started,
                    time.perf_counter() - t0,
                    0,
                    "error",
                    f"{method} {url}: {type(exc).__name__}: {exc}",
                )
            )
            return None
        elapsed = time.perf_counter() - t0
        status = response.status_code
        stale = status == 409 and _problem_type(response).endswith(STALE_TYPE)
        if status in expect:
            outcome = "ok"
        elif status in conflicts or (stale and method != "GET"):
            outcome = "conflict"
        else:
            outcome = "error"
        detail = "" if outcome == "ok" else f"{method} {url}: {response.text[:300]}"
        self.world.record(Call(kind, t0 - self.world.started, elapsed, status, outcome, detail))
        return response if outcome != "error" else None

    def write(
        self, kind: str, method: str, url: str, *, account: Account, **kwargs: Any
    ) -> httpx.Response | None:
        """A write; a 409 "verouderd" (a lost race, nothing written) is retried."""
        retries = self.world.write_retries
        for attempt in range(retries + 1):
            response = self.call(kind, method, url, account=account, **kwargs)
            if response is None or response.status_code != 409:
                return response
            pause = min(RETRY_MAX_S, RETRY_BASE_S * 2**attempt)
            time.sleep(pause * self.rng.uniform(0.5, 1.5))
        self.world.record(  # the user could not save: that is an error, not a conflict
            Call(
                kind,
                time.perf_counter() - self.world.started,
                0.0,
                409,
                "error",
                f"{method} {url}: still 409 after {retries} retries",
            )
        )
        return None

    def token(self, account: Account) -> str:
        with account.lock:
            if time.monotonic() > account.expires_at - 60:
                response = self.call(
                    "token",
                    "POST",
                    "/auth/token",
                    data={"grant_type": "refresh_token", "refresh_token": account.refresh},
                )
                if response is not None:
                    account.take(response.json())
            return account.access

    # -- the loop --

    def run(self) -> None:
        names = list(ACTIONS)
        # Every client does every action once first (each starting elsewhere), so even a
        # short run covers every kind; then the weighted mix.
        offset = self.index % len(names)
        first = names[offset:] + names[:offset]
        weights = list(ACTIONS.values())
        try:
            while time.perf_counter() < self.world.deadline:
                action = first.pop(0) if first else self.rng.choices(names, weights)[0]
                try:
                    getattr(self, "do_" + action.replace("-", "_"))()
                except Exception as exc:  # an answer the client could not read: an error
                    self.world.record(
                        Call(
                            action,
                            time.perf_counter() - self.world.started,
                            0.0,
                            -1,
                            "error",
                            f"the client failed on the answer: {type(exc).__name__}: {exc}",
                        )
                    )
        finally:
            self.http.close()

    # -- public reads --

    def do_search(self) -> None:
        self.call("search", "GET", "/search", params=search_params(self.rng, self.world))

    def do_suggest(self) -> None:
        word = self.rng.choice(LAY + BROAD)
        self.call("suggest", "GET", "/search/suggest", params={"q": word[: self.rng.randint(2, 6)]})

    def do_service(self) -> None:
        slug = self.rng.choice(self.world.services)
        self.call("service", "GET", f"/services/{slug}", params=HERE)

    def do_organization(self) -> None:
        admitted = self.world.ledger.admitted_organizations
        if admitted and self.rng.random() < 0.3:
            slug = self.rng.choice(admitted[-200:])
            response = self.call("organization", "GET", f"/organizations/{slug}", params=HERE)
            if response is not None:  # its voorzieningen are public now: read them too
                with self.world.lock:
                    for service in response.json()["services"]:
                        if service["slug"] not in self.world.services:
                            self.world.services.append(service["slug"])
            return
        self.call(
            "organization",
            "GET",
            f"/organizations/{self.rng.choice(self.world.organizations)}",
            params=HERE,
        )

    # -- aanbieders --

    def do_submit_new(self) -> None:
        rng = self.rng
        marker = _marker(rng)
        services = {
            f"{rng.choice(SERVICE_NOUNS)} {_marker(rng)}": rng.choice(DESCRIPTIONS)
            for _ in range(rng.randint(1, 2))
        }
        vocabulary = self.world.vocabulary
        street, postcode, city = rng.choice(ADDRESSES)
        body = {
            "municipality": MUNICIPALITY,
            "organization": {
                "municipality": MUNICIPALITY,
                "name": f"{rng.choice(ORGANIZATION_WORDS)} {marker}",
                "kind": rng.choice(ORGANIZATION_KINDS),
                "email": f"info-{marker}@example.nl",
                "identifiers": [{"type": "kvk", "identifier": f"{rng.randint(10**7, 10**8 - 1)}"}],
            },
            "locations": [
                {
                    "name": "Buurthuis",
                    "address": {"address_1": street, "postal_code": postcode, "city": city},
                }
            ],
            "services": [
                {
                    "name": name,
                    "description": description,
                    "themes": rng.sample(vocabulary.themes, k=rng.randint(1, 2)),
                    "target_groups": [rng.choice(vocabulary.target_groups)],
                }
                for name, description in services.items()
            ],
            "attestations": {
                criterion: {"attested": True, "link": f"https://www.example.nl/{marker}/{page}"}
                for criterion, page in (("T5", "klachten"), ("T6", "privacy"), ("T7", "vog"))
            },
        }
        response = self.write(
            "submit-new",
            "POST",
            "/submissions",
            account=self.provider.account,
            json=body,
            expect=(201,),
        )
        if response is not None and response.status_code == 201:
            answer = response.json()
            submission_id = uuid.UUID(answer["id"])
            self.world.ledger.submitted_new(
                NewListing(submission_id, answer["organization"], services, answer["status"])
            )

    def do_submit_change(self) -> None:
        provider = self.provider
        with provider.lock:
            if provider.busy:  # another client of this aanbieder is at it: read instead
                busy = True
            else:
                busy = False
                provider.busy = True
        if busy:
            self.do_search()
            return
        try:
            if provider.open_change is not None:
                response = self.call(
                    "submission",
                    "GET",
                    f"/submissions/{provider.open_change}",
                    account=provider.account,
                )
                if response is None or response.json()["status"] in OPEN:
                    return  # still with the redactie
                provider.open_change = None
            slug = self.rng.choice(sorted(provider.services))
            marker = _marker(self.rng)
            values = {
                "name": f"{provider.services[slug]} {marker}",
                "description": f"{self.rng.choice(DESCRIPTIONS)} Bijgewerkt ({marker}).",
            }
            response = self.write(
                "submit-change",
                "POST",
                "/submissions",
                account=provider.account,
                json={
                    "municipality": MUNICIPALITY,
                    "listing": provider.organization,
                    "service_changes": {slug: values},
                },
                expect=(201,),
            )
            if response is not None and response.status_code == 201:
                answer = response.json()
                submission_id = uuid.UUID(answer["id"])
                provider.seq += 1
                self.world.ledger.submitted_change(
                    Change(
                        submission_id,
                        provider.organization,
                        provider.seq,
                        {slug: values},
                        answer["status"],
                    )
                )
                provider.open_change = submission_id
        finally:
            with provider.lock:
                provider.busy = False

    # -- redactie --

    def do_review(self) -> None:
        world = self.world
        status = "ingediend" if self.rng.random() < 0.5 else "aanvullen"
        response = self.call(
            "reviews", "GET", "/reviews", params={"status": status}, account=world.editor
        )
        if response is None:
            return
        item: dict[str, Any] | None = None
        with world.lock:
            for candidate in response.json()["items"]:
                submission_id = uuid.UUID(candidate["id"])
                if submission_id not in world.claims and submission_id not in world.finished:
                    world.claims.add(submission_id)
                    item = candidate
                    break
        if item is None:
            return
        submission_id = uuid.UUID(item["id"])
        try:
            self._decide(submission_id, item)
        finally:
            with world.lock:
                world.claims.discard(submission_id)

    def _decide(self, submission_id: uuid.UUID, item: Mapping[str, Any]) -> None:
        roll = self.rng.random()
        new = item["kind"] == "nieuw"
        open_criteria = list(item["open_criteria"])
        body: dict[str, Any]
        if roll < (0.70 if new else 0.75):
            body = {
                "decision": "toegelaten",
                "confirmed": [c for c in open_criteria if c == "T8"],
                "overrides": {c: APPROVE_REASON for c in open_criteria if c != "T8"},
            }
        elif roll < (0.85 if new else 1.0):
            body = {"decision": "afgewezen", "reason": REJECT_REASON}
        else:
            body = {"decision": "aanvullen", "reason": BACK_REASON}
        response = self.write(
            "decide",
            "POST",
            f"/submissions/{submission_id}/decision",
            account=self.world.editor,
            json=body,
        )
        if response is None or response.status_code != 200:
            return
        status = str(response.json()["status"])
        if status != body["decision"]:
            self.world.record(
                Call(
                    "decide",
                    time.perf_counter() - self.world.started,
                    0.0,
                    200,
                    "error",
                    f"decided {body['decision']}, the answer says {status}",
                )
            )
        with self.world.lock:
            if status not in OPEN:
                self.world.finished.add(submission_id)
        self.world.ledger.decided(submission_id, status)

    def _read_etag(self, slug: str) -> str | None:
        response = self.call(
            "service", "GET", f"/services/{slug}", params=HERE, account=self.world.editor
        )
        if response is None:
            return None
        self.etags[slug] = response.headers["ETag"]
        return self.etags[slug]

    def do_patch(self) -> None:
        """The editor opened the form a while ago: its ETag may be stale (412), then it
        reloads and saves again."""
        slug = self.rng.choice(sorted(self.world.patch_pool))
        etag = self.etags.get(slug) or self._read_etag(slug)
        for attempt in range(2):
            if etag is None:
                return
            name = f"{self.world.patch_pool[slug]} {_marker(self.rng)}"
            response = self.write(
                "patch",
                "PATCH",
                f"/services/{slug}",
                params=HERE,
                account=self.world.editor,
                headers={"If-Match": etag},
                json={"name": name},
                conflicts=(412,),
            )
            if response is None:
                return
            if response.status_code == 200:
                new_etag = response.headers["ETag"]
                self.etags[slug] = new_etag
                with self.world.ledger.lock:
                    self.world.ledger.patches.append(Patch(slug, int(new_etag.strip('W/"')), name))
                return
            if attempt == 0:  # 412: someone else saved first; reload and save again
                etag = self._read_etag(slug)


def search_params(rng: random.Random, world: World) -> list[tuple[str, str]]:
    vocabulary = world.vocabulary
    roll = rng.random()
    params: list[tuple[str, str]] = []
    if roll < 0.35:
        pool = LAY if rng.random() < 0.5 else MISSPELLED if rng.random() < 0.5 else PROFESSIONAL
        params.append(("q", rng.choice(pool)))
    elif roll < 0.55:
        params.append(("q", rng.choice(BROAD) if rng.random() < 0.5 else rng.choice(LAY)))
        for name in rng.sample(("theme", "target_group", "cost", "age", "wijk", "kern"), k=2):
            params.append(_filter(rng, vocabulary, name))
    elif roll < 0.70:
        if rng.random() < 0.5:
            params.append(("q", rng.choice(LAY)))
        params += [("postcode", rng.choice(POSTCODES)), ("radius_km", "3"), ("sort", "distance")]
    elif roll < 0.88:
        params.append(_filter(rng, vocabulary, "theme"))
        if rng.random() < 0.5:
            params.append(_filter(rng, vocabulary, rng.choice(("target_group", "wijk"))))
    else:
        params.append(("sort", "name"))
    if rng.random() < 0.2:
        params += [("page", str(rng.randint(2, 3))), ("per_page", rng.choice(("10", "20")))]
    return params


def _filter(rng: random.Random, vocabulary: Vocabulary, name: str) -> tuple[str, str]:
    if name == "theme":
        return ("theme", rng.choice(vocabulary.themes))
    if name == "target_group":
        return ("target_group", rng.choice(vocabulary.target_groups))
    if name == "cost":
        return ("cost", rng.choice(vocabulary.costs))
    if name == "age":
        return ("age", rng.choice(AGES))
    if name == "wijk" and vocabulary.wijken:
        return ("neighbourhood", rng.choice(vocabulary.wijken))
    if vocabulary.kernen:
        return ("place", rng.choice(vocabulary.kernen))
    return ("theme", rng.choice(vocabulary.themes))


# --- memory -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    samples: list[tuple[float, int]]  # (seconds since the load started, KiB)
    warmup_s: float
    judged: bool
    start_kib: int  # median of the first EDGE_S after the warm-up
    end_kib: int  # median of the last EDGE_S
    peak_kib: int
    slope_mib_per_10min: float
    trend_mib: float  # the fitted rise over the judged window
    handles: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # (fds, threads)

    @property
    def growth_mib(self) -> float:
        return (self.end_kib - self.start_kib) / 1024

    @property
    def growth_share(self) -> float:
        return (self.end_kib - self.start_kib) / self.start_kib if self.start_kib else 0.0

    @property
    def limit_mib(self) -> float:
        return max(FLAT_MIB, FLAT_SHARE * self.start_kib / 1024)

    @property
    def flat(self) -> bool:
        return self.growth_mib < self.limit_mib and self.trend_mib < self.limit_mib


def _tree_status(pid: int) -> tuple[int, int, int]:
    """VmRSS (KiB), open file descriptors and threads, summed over the process and its
    descendants (zeros when it is gone)."""
    rss = fds = threads = 0
    for member in process_tree(pid):
        rss += proc_status_kib(member, "VmRSS") or 0
        threads += proc_status_kib(member, "Threads") or 0  # a count, not KiB
        with suppress(OSError):
            fds += len(os.listdir(f"/proc/{member}/fd"))
    return rss, fds, threads


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0


def judge_memory(
    samples: Sequence[tuple[float, int]],
    duration_s: float,
    handles: Sequence[tuple[float, int, int]] = (),
) -> Memory:
    warmup = min(WARMUP_MAX_S, WARMUP_SHARE * duration_s)
    after = [(t, kib) for t, kib in samples if t >= warmup] or list(samples[-1:])
    if not after:
        return Memory([], warmup, False, 0, 0, 0, 0.0, 0.0)
    first_t, last_t = after[0][0], after[-1][0]
    span = last_t - first_t
    slope = 0.0  # KiB per second, least squares
    if len(after) >= 3 and span > 0:
        mean_t = sum(t for t, _ in after) / len(after)
        mean_k = sum(k for _, k in after) / len(after)
        denominator = sum((t - mean_t) ** 2 for t, _ in after)
        slope = sum((t - mean_t) * (k - mean_k) for t, k in after) / denominator
    late = [h for h in handles if h[0] >= warmup] or list(handles)
    return Memory(
        samples=list(samples),
        warmup_s=warmup,
        judged=span >= MIN_JUDGE_S,
        start_kib=_median([k for t, k in after if t <= first_t + EDGE_S]),
        end_kib=_median([k for t, k in after if t >= last_t - EDGE_S]),
        peak_kib=max(k for _, k in samples),
        slope_mib_per_10min=slope * 600 / 1024,
        trend_mib=slope * span / 1024,
        handles=((late[0][1], late[0][2]), (late[-1][1], late[-1][2]))
        if late
        else ((0, 0), (0, 0)),
    )


class RssSampler:
    def __init__(self, pid: int, interval_s: float, started: float) -> None:
        self.pid, self.interval_s, self.started = pid, interval_s, started
        self.samples: list[tuple[float, int]] = []
        self.handles: list[tuple[float, int, int]] = []  # (t, open fds, threads)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss", daemon=True)

    def sample(self) -> None:
        rss, fds, threads = _tree_status(self.pid)
        if rss:
            at = time.perf_counter() - self.started
            self.samples.append((at, rss))
            self.handles.append((at, fds, threads))

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# --- verification -------------------------------------------------------------------------------


@dataclass
class Check:
    """Acknowledged writes of one kind, how many were found as acknowledged, and findings."""

    acknowledged: int = 0
    verified: int = 0
    problems: list[str] = field(default_factory=list)
    findings: int = 0  # problems not tied to one acknowledged write (an unacknowledged change)

    def ok(self) -> None:
        self.acknowledged += 1
        self.verified += 1

    def wrong(self, problem: str) -> None:
        self.acknowledged += 1
        self.problems.append(problem)

    def note(self, problem: str) -> None:
        self.findings += 1
        self.problems.append(problem)

    @property
    def missing(self) -> int:
        return self.acknowledged - self.verified


@dataclass(frozen=True)
class Expected:
    """A service as the acknowledged writes leave it."""

    slug: str
    name: str
    public: bool
    stale_names: tuple[str, ...] = ()  # earlier acknowledged names: no longer in the index


@dataclass
class Verification:
    database: dict[str, Check]
    api: Check
    index_public: Check
    index_hidden: Check
    index_stale: Check
    backlog_before: int | None
    backlog_wait_s: float
    cli_drain: str | None

    @property
    def checks(self) -> list[Check]:
        return [
            *self.database.values(),
            self.api,
            self.index_public,
            self.index_hidden,
            self.index_stale,
        ]

    @property
    def missing(self) -> int:
        return sum(c.missing for c in self.checks)

    @property
    def findings(self) -> int:
        return sum(c.findings for c in self.checks)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value or {})


@dataclass(frozen=True)
class Rows:
    """What the database holds after the load (read with plain SQL: the orchestrator never
    imports the application)."""

    services: dict[str, Any]  # slug -> row (slug, name, description, status, version, org)
    submissions: dict[uuid.UUID, Any]
    names: dict[uuid.UUID, list[str]]  # service id -> names written by updates (audit trail)

    @classmethod
    def read(cls, database_url: str) -> Rows:
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as connection:
                services = {
                    row.slug: row
                    for row in connection.execute(
                        sa.text(
                            "SELECT s.id, s.slug, s.name, s.description, s.admission_status, "
                            "s.version, o.slug AS organization, "
                            "o.admission_status AS organization_status "
                            "FROM service s JOIN organization o ON o.id = s.organization_id "
                            "JOIN municipality m ON m.id = s.municipality_id "
                            "WHERE m.slug = :municipality"
                        ),
                        {"municipality": MUNICIPALITY},
                    )
                }
                submissions = {
                    uuid.UUID(str(row.id)): row
                    for row in connection.execute(
                        sa.text("SELECT id, kind, status, payload FROM submission")
                    )
                }
                names: dict[uuid.UUID, list[str]] = {}
                for row in connection.execute(
                    sa.text(
                        "SELECT resource_id, changes FROM audit_event "
                        "WHERE resource_type = 'service' AND action = 'update' ORDER BY id"
                    )
                ):
                    name = _as_dict(row.changes).get("name")
                    if isinstance(name, list) and len(name) == 2:
                        names.setdefault(uuid.UUID(str(row.resource_id)), []).append(name[1])
        finally:
            engine.dispose()
        return cls(services, submissions, names)

    def written(self, slug: str) -> list[str]:
        """The names update writes gave this service, oldest first (audit trail)."""
        service = self.services.get(slug)
        return self.names.get(uuid.UUID(str(service.id)), []) if service is not None else []


def verify_database(
    rows: Rows, ledger: Ledger, providers: Sequence[Provider], patch_pool: Mapping[str, str]
) -> tuple[dict[str, Check], list[Expected]]:
    """Every acknowledged write against the rows and the audit trail (which keeps the writes
    that a later one overwrote); returns the services the index must agree with."""
    checks = {kind: Check() for kind in WRITE_KINDS}
    expected: list[Expected] = []
    by_name = {row.name: row for row in rows.services.values()}

    for submission_id, status in ledger.decisions:
        row = rows.submissions.get(submission_id)
        final = ledger.final_status(submission_id)
        if row is None:
            checks["decide"].wrong(f"submission {submission_id}: not in the database")
        elif row.status != final:
            checks["decide"].wrong(
                f"submission {submission_id}: {row.status} in the database, {final} acknowledged "
                f"last (this decision: {status})"
            )
        else:
            checks["decide"].ok()

    for listing in ledger.new.values():
        row = rows.submissions.get(listing.submission_id)
        problems = []
        if row is None or row.status != listing.status:
            problems.append(
                f"submission {listing.submission_id}: "
                f"{'missing' if row is None else row.status}, {listing.status} acknowledged"
            )
        for name, description in listing.services.items():
            service = by_name.get(name)
            if service is None:
                problems.append(f"voorziening {name!r}: not in the database")
                continue
            if service.organization != listing.organization:
                problems.append(f"{service.slug}: organisation {service.organization}")
            if service.description != description:
                problems.append(f"{service.slug}: description {service.description!r}")
            for what, status in (
                (service.slug, service.admission_status),
                (service.organization, service.organization_status),
            ):
                if status != listing.status:
                    problems.append(f"{what}: {status}, {listing.status} expected")
            expected.append(Expected(service.slug, name, listing.status == "toegelaten"))
        if problems:
            checks["submit-new"].wrong("; ".join(problems))
        else:
            checks["submit-new"].ok()

    # Changes: one open per organisation at a time, so the last admitted one (by order) is
    # what the service holds; earlier admitted ones are in the audit trail.
    changes = sorted(ledger.changes.values(), key=lambda c: (c.organization, c.seq))
    last: dict[str, Change] = {}
    for change in changes:
        if change.status == "toegelaten":
            for slug in change.values:
                last[slug] = change
    for change in changes:
        row = rows.submissions.get(change.submission_id)
        problems = []
        if row is None or row.status != change.status:
            problems.append(
                f"submission {change.submission_id}: "
                f"{'missing' if row is None else row.status}, {change.status} acknowledged"
            )
        elif _as_dict(_as_dict(row.payload).get("services")) != change.values:
            problems.append(f"submission {change.submission_id}: payload {row.payload}")
        for slug, values in change.values.items():
            applied = values["name"] in rows.written(slug)
            if change.status == "toegelaten" and not applied:
                problems.append(f"{slug}: admitted change {values['name']!r} never applied")
            if change.status != "toegelaten" and applied:
                problems.append(f"{slug}: {change.status} change {values['name']!r} applied")
            service = rows.services.get(slug)
            if last.get(slug) is change and service is not None:
                for key, value in values.items():
                    if getattr(service, key) != value:
                        problems.append(f"{slug}: {key} {getattr(service, key)!r}, not {value!r}")
        if problems:
            checks["submit-change"].wrong("; ".join(problems))
        else:
            checks["submit-change"].ok()
    for provider in providers:
        for slug, original in provider.services.items():
            service = rows.services.get(slug)
            if service is None:
                checks["submit-change"].note(f"{slug}: gone from the database")
                continue
            want = last[slug].values[slug]["name"] if slug in last else original
            if slug not in last and service.name != original:
                checks["submit-change"].note(f"{slug}: renamed to {service.name!r} by no admission")
            if service.admission_status != "toegelaten":
                checks["submit-change"].note(f"{slug}: {service.admission_status}")
            names = [c.values[slug]["name"] for c in changes if slug in c.values]
            stale = tuple(n for n in names if n != want)[-1:]
            expected.append(Expected(slug, want, True, stale))

    by_slug: dict[str, list[Patch]] = {}
    for patch in ledger.patches:
        by_slug.setdefault(patch.slug, []).append(patch)
    for slug, original in patch_pool.items():
        patches = sorted(by_slug.get(slug, []), key=lambda p: p.version)
        service = rows.services.get(slug)
        written = rows.written(slug)
        if len({p.version for p in patches}) != len(patches):
            checks["patch"].note(f"{slug}: two acknowledged writes answered the same version")
        unacknowledged = set(written) - {p.name for p in patches}
        if unacknowledged:
            checks["patch"].note(f"{slug}: written but never acknowledged: {unacknowledged}")
        for patch in patches:
            if service is None or patch.name not in written:
                checks["patch"].wrong(f"{slug}: {patch.name!r} (version {patch.version}) lost")
            elif patch is patches[-1] and (
                service.name != patch.name or service.version != patch.version
            ):
                checks["patch"].wrong(
                    f"{slug}: holds version {service.version} {service.name!r}, the last "
                    f"acknowledged is version {patch.version} {patch.name!r}"
                )
            else:
                checks["patch"].ok()
        want = patches[-1].name if patches else original
        expected.append(Expected(slug, want, True, tuple(p.name for p in patches[-2:-1])))
    return checks, expected


def _found(response: httpx.Response, slug: str, name: str | None) -> bool:
    for item in response.json()["items"]:
        if item["slug"] == slug and (name is None or item["name"] == name):
            return True
    return False


def verify_index(base_url: str, expected: Sequence[Expected]) -> tuple[Check, Check, Check, Check]:
    """Search each service by the unique word of its name; read the public ones through the
    API. Returns (api, index public, index hidden, index stale)."""
    api, public, hidden, stale = Check(), Check(), Check(), Check()
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url + API, timeout=CLIENT_TIMEOUT_S)
        found: httpx.Client = local.client
        return found

    def word(name: str) -> str:
        return name.rsplit(" ", 1)[-1] if "soak" in name else name

    def one(item: Expected) -> None:
        try:
            check(item)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            with lock:
                (public if item.public else hidden).wrong(f"{item.slug}: {exc!r}")

    def check(item: Expected) -> None:
        http = client()
        answer = http.get("/search", params={"q": word(item.name), "per_page": 50, **HERE})
        answer.raise_for_status()
        hit = _found(answer, item.slug, item.name)
        detail = http.get(f"/services/{item.slug}", params=HERE)
        olds = []
        for old in item.stale_names:
            response = http.get("/search", params={"q": word(old), "per_page": 50, **HERE})
            response.raise_for_status()
            olds.append((old, _found(response, item.slug, None)))
        with lock:
            if item.public:
                if hit:
                    public.ok()
                else:
                    public.wrong(f"{item.slug} {item.name!r}: not found in the index")
                if detail.status_code == 200 and detail.json()["name"] == item.name:
                    api.ok()
                else:
                    api.wrong(f"{item.slug}: GET {detail.status_code} {detail.text[:120]}")
            else:
                if hit:
                    hidden.wrong(f"{item.slug} {item.name!r}: in the index, should not be public")
                else:
                    hidden.ok()
                if detail.status_code == 404:
                    api.ok()
                else:
                    api.wrong(f"{item.slug}: GET {detail.status_code}, not public expected")
            for old, seen in olds:
                if seen:
                    stale.wrong(f"{item.slug}: still found by its earlier name {old!r}")
                else:
                    stale.ok()

    with ThreadPoolExecutor(max_workers=VERIFY_THREADS) as pool:
        list(pool.map(one, expected))
    return api, public, hidden, stale


def wait_for_outbox(base_url: str, max_s: float) -> tuple[int | None, float]:
    """Until ``/health/ready`` reports an empty search outbox; (first backlog seen, seconds)."""
    started = time.perf_counter()
    first: int | None = None
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT_S) as http:
        while True:
            backlog = int(http.get("/health/ready").json()["checks"].get("search_backlog", "0"))
            first = backlog if first is None else first
            if backlog == 0 or time.perf_counter() - started > max_s:
                return first, time.perf_counter() - started
            time.sleep(1.0)


# --- set-up -------------------------------------------------------------------------------------


@contextmanager
def fresh_database(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """A SQLite file in ``workdir``, or a new schema in the given PostgreSQL database."""
    if not args.database_url:
        yield f"sqlite:///{workdir / 'soak.db'}"
        return
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(args.database_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        if args.keep:
            print(f"kept PostgreSQL schema {schema}")
        else:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _environment(code: Path, database_url: str, index_path: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.pop("WEB_CONCURRENCY", None)
    env.update(
        {
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "SEARCH_BACKEND": "embedded",
            "SEARCH_INDEX_PATH": str(index_path),
            "PYTHONPATH": str(code),  # the snapshot's app, not the working tree's
        }
    )
    return env


# Several ``sociale-kaart`` commands, one after another in one process (each as the console
# script runs it): saves starting Python and importing the application per command.
_CLI_SCRIPT = """
import json, sys
from app.cli import cli
for arguments in json.loads(sys.argv[1]):
    cli(args=arguments, prog_name="sociale-kaart", standalone_mode=False)
"""


def cli(
    code: Path, env: Mapping[str, str], *commands: Sequence[str], stdin: str | None = None
) -> str:
    """``sociale-kaart COMMAND`` of the snapshot for each command, in order. A new session:
    without a terminal a password prompt reads stdin."""
    command = [sys.executable, "-c", _CLI_SCRIPT, json.dumps([list(c) for c in commands])]
    # A fixed argument list (no shell), our own interpreter and module.
    done = subprocess.run(  # noqa: S603
        command,
        cwd=code,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0:
        shown = "; ".join(" ".join(c) for c in commands)
        raise RuntimeError(
            f"sociale-kaart {shown} failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return done.stdout


def start_soak_server(
    code: Path, env: Mapping[str, str], workdir: Path, workers: int, drain_interval_s: float
) -> Server:
    """``uvicorn app.main:app`` as bench/server.py starts it, but with the background drain
    loop on (the search benchmark turns it off)."""
    server_env = {**env, "SEARCH_DRAIN_INTERVAL_S": f"{drain_interval_s:g}"}
    return launch_uvicorn(code_root=code, env=server_env, workdir=workdir, workers=workers)


def prepare_data(
    args: argparse.Namespace,
    code: Path,
    env: Mapping[str, str],
    database_url: str,
    index: Path,
    admin_password: str,
) -> str:
    """The data set as ``make demo`` loads it (or the benchmark's generated directory), and
    the first beheerder as a gemeente makes it: ``sociale-kaart users create``."""
    admin = ("users", "create", ADMIN, "--name", "Beheer", "--role", "admin")
    password = f"{admin_password}\n{admin_password}\n"
    if args.dataset == "demo":
        cli(
            code,
            env,
            ("db", "upgrade"),
            ("geo", "import-postcodes", "app/geo/data/pc4-uithoorn.csv"),
            ("import", "uithoorn", "importers/data/uithoorn.json", "--admit"),
            ("search", "reindex"),
            admin,
            stdin=password,
        )
        return "Uithoorn demo data (`make demo`: 96 services, 44 organisations)"
    info = call_in_snapshot(
        code,
        "bench.dataset:generate",
        database_url=database_url,
        pc4_path=str(Path(args.pc4).resolve()),
        services=args.services,
        seed=args.seed,
    )
    assert isinstance(info, DatasetInfo)
    build = call_in_snapshot(
        code, "bench.indexing:build_index", database_url=database_url, index_path=str(index)
    )
    assert isinstance(build, BuildResult)
    cli(
        code,
        env,
        ("geo", "import-postcodes", "app/geo/data/pc4-uithoorn.csv"),
        admin,
        stdin=password,
    )
    return (
        f"the search benchmark's generated directory ({info.counts['service']:,} services "
        f"over {info.counts['municipality']} municipalities)"
    )


def _login(http: httpx.Client, email: str, password: str) -> Account:
    account = Account(email, password)
    response = http.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    response.raise_for_status()
    account.take(response.json())
    return account


def _invite(
    http: httpx.Client,
    admin: Account,
    database_url: str,
    *,
    email: str,
    name: str,
    role: str,
    organizations: Sequence[str] = (),
) -> Account:
    """Invite through the API, read the link from the mail (mail is off in development:
    the mail waits in the outbox), accept it with a password."""
    response = http.post(
        "/invitations",
        headers={"Authorization": f"Bearer {admin.access}"},
        json={
            "email": email,
            "display_name": name,
            "role": role,
            "municipality": MUNICIPALITY,
            "organizations": list(organizations),
        },
    )
    response.raise_for_status()
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            body = connection.execute(
                sa.text(
                    "SELECT body FROM notification_outbox WHERE kind = 'invitation' "
                    "AND recipient = :email ORDER BY id DESC"
                ),
                {"email": email},
            ).scalar_one()
    finally:
        engine.dispose()
    match = re.search(r"[?&]token=([^&\s]+)", body)
    if match is None:
        raise RuntimeError(f"no invitation link in the mail to {email}")
    password = f"Soak-{secrets.token_urlsafe(12)}"
    accepted = http.post(
        "/invitations/accept", json={"token": unquote(match.group(1)), "password": password}
    )
    accepted.raise_for_status()
    account = Account(email, password)
    account.take(accepted.json())
    return account


def _all(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = http.get(path, params={**params, "page": page, "per_page": 100})
        response.raise_for_status()
        body = response.json()
        items += body["items"]
        if len(items) >= int(body["total"]) or not body["items"] or page >= 20:
            return items
        page += 1


def build_world(
    base_url: str, database_url: str, admin_password: str, providers: int
) -> tuple[World, Account]:
    with httpx.Client(base_url=base_url + API, timeout=CLIENT_TIMEOUT_S) as http:
        admin = _login(http, ADMIN, admin_password)
        organizations = _all(http, "/organizations", municipality=MUNICIPALITY)
        services = [s["slug"] for s in _all(http, "/services", municipality=MUNICIPALITY)]
        small = sorted(
            (o for o in organizations if 1 <= int(o["service_count"]) <= 4),
            key=lambda o: str(o["slug"]),
        )
        if len(small) < providers + 2:
            raise RuntimeError(f"too few organisations with services ({len(small)})")
        owned: list[Provider] = []
        for number, org in enumerate(small[:providers], start=1):
            detail = http.get(f"/organizations/{org['slug']}", params=HERE).json()
            account = _invite(
                http,
                admin,
                database_url,
                email=f"aanbieder-{number}@soak.example.nl",
                name=f"Aanbieder {number}",
                role="provider",
                organizations=[org["slug"]],
            )
            owned.append(
                Provider(account, org["slug"], {s["slug"]: s["name"] for s in detail["services"]})
            )
        pool: dict[str, str] = {}
        for org in small[providers:]:
            detail = http.get(f"/organizations/{org['slug']}", params=HERE).json()
            for service in detail["services"]:
                if len(pool) < PATCH_POOL:
                    pool[service["slug"]] = service["name"]
            if len(pool) >= PATCH_POOL:
                break
        editor = _invite(
            http,
            admin,
            database_url,
            email="redactie@soak.example.nl",
            name="Redactie",
            role="editor",
        )
        places = _all(http, "/neighbourhoods", municipality=MUNICIPALITY)
        vocabulary = Vocabulary(
            themes=[t["slug"] for t in _all(http, "/themes")],
            target_groups=[t["slug"] for t in _all(http, "/target-groups")],
            costs=[t["slug"] for t in _all(http, "/costs")],
            wijken=sorted({p["slug"] for p in places if p["kind"] == "wijk"}),
            kernen=sorted({p["slug"] for p in places if p["kind"] == "kern"}),
        )
    world = World(
        editor=editor,
        providers=owned,
        services=services,
        organizations=[str(o["slug"]) for o in organizations],
        patch_pool=pool,
        vocabulary=vocabulary,
    )
    return world, admin


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Result:
    args: argparse.Namespace
    started: datetime
    dataset: str
    database: str
    world: World
    wall_s: float
    memory: Memory
    server_cpu_s: float
    load_1min: float | None
    verification: Verification
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    fingerprint: str
    server_log: tuple[dict[str, int], list[str]] = ({}, [])

    def calls(self, kind: str | None = None) -> list[Call]:
        return [c for c in self.world.calls if kind is None or c.kind == kind]

    @property
    def errors(self) -> list[Call]:
        return [c for c in self.world.calls if c.outcome == "error"]

    @property
    def conflicts(self) -> list[Call]:
        return [c for c in self.world.calls if c.outcome == "conflict"]

    @property
    def passed(self) -> bool:
        memory_ok = self.memory.flat or not self.memory.judged
        verification = self.verification
        return (
            not self.errors
            and memory_ok
            and verification.missing == 0
            and verification.findings == 0
        )


def _counts(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                table: int(
                    connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 (fixed names)
                )
                for table in ("organization", "service", "location", "submission", "search_outbox")
            }
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> Result:
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="sociale-kaart-soak-"))
    code = workdir / "code"
    try:
        fingerprint = snapshot.take(PROJECT_ROOT, code)
        print(f"[1/5] code snapshot {fingerprint}; preparing the data …", flush=True)
        with fresh_database(args, workdir) as database_url:
            result = _soak(args, workdir, code, database_url)
        result.started, result.fingerprint = started_at, fingerprint
        return result
    finally:
        if args.keep:
            print(f"kept {workdir} (code snapshot, database, index, server.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _soak(args: argparse.Namespace, workdir: Path, code: Path, database_url: str) -> Result:
    """Everything between a fresh database and its removal; the server stops here."""
    index = workdir / "search-index.db"
    env = _environment(code, database_url, index)
    admin_password = f"Soak-{secrets.token_urlsafe(12)}"
    dataset = prepare_data(args, code, env, database_url, index, admin_password)
    shape = "one process" if args.workers == 1 else f"{args.workers} workers"
    print(f"[2/5] starting uvicorn ({shape}) …", flush=True)
    server = start_soak_server(code, env, workdir, args.workers, args.drain_interval)
    world: World | None = None
    try:
        server.wait_ready()
        world, _admin = build_world(server.base_url, database_url, admin_password, args.providers)
        world.write_retries = args.write_retries
        counts_before = _counts(database_url)
        print(
            f"      ready at {server.base_url}; {len(world.providers)} aanbieders, "
            f"1 redacteur; {len(world.services)} public services",
            flush=True,
        )
        print(f"[3/5] load: {args.clients} clients for {args.duration:,.0f} s …", flush=True)
        cpu_before = tree_cpu_seconds(server.process.pid)
        world.started = time.perf_counter()
        world.deadline = world.started + args.duration
        sampler = RssSampler(server.process.pid, args.rss_interval, world.started)
        sampler.start()
        clients = [Client(world, server.base_url, i, args.seed) for i in range(args.clients)]
        threads = [threading.Thread(target=c.run, name=f"client-{c.index}") for c in clients]
        for thread in threads:
            thread.start()
        _progress(world, threads, sampler, args.duration)
        wall_s = time.perf_counter() - world.started
        sampler.stop()
        server_cpu = sum(
            max(0.0, v - cpu_before.get(pid, 0.0))
            for pid, v in tree_cpu_seconds(server.process.pid).items()
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        memory = judge_memory(sampler.samples, args.duration, sampler.handles)
        print("[4/5] waiting for the search outbox to empty …", flush=True)
        backlog, waited = wait_for_outbox(server.base_url, BACKLOG_WAIT_S)
        drained = None
        if waited > BACKLOG_WAIT_S:
            drained = cli(code, env, ("search", "drain")).strip()
        print("[5/5] verifying every acknowledged write …", flush=True)
        database_checks, expected = verify_database(
            Rows.read(database_url), world.ledger, world.providers, world.patch_pool
        )
        api, public, hidden, stale = verify_index(server.base_url, expected)
        counts_after = _counts(database_url)
    finally:
        if world is not None:
            world.deadline = 0.0  # interrupted: the clients stop after their request
        server.stop()
    return Result(
        args=args,
        started=datetime.now(UTC),
        dataset=dataset,
        database="PostgreSQL" if args.database_url else "SQLite",
        world=world,
        wall_s=wall_s,
        memory=memory,
        server_cpu_s=server_cpu,
        load_1min=load,
        verification=Verification(
            database=database_checks,
            api=api,
            index_public=public,
            index_hidden=hidden,
            index_stale=stale,
            backlog_before=backlog,
            backlog_wait_s=waited,
            cli_drain=drained,
        ),
        counts_before=counts_before,
        counts_after=counts_after,
        fingerprint="",
        server_log=_log_summary(server.log_path),
    )


def _log_summary(path: Path) -> tuple[dict[str, int], list[str]]:
    """The server log's ERROR/CRITICAL lines by message (digits as N), and its first
    traceback (the access log is off)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}, []
    counts: dict[str, int] = {}
    traceback: list[str] = []
    for number, line in enumerate(lines):
        if line.startswith("Traceback") and not traceback:
            traceback = lines[number : number + 30]
        elif "ERROR" in line or "CRITICAL" in line:
            message = re.sub(r"\d+", "N", line.strip())[:200]
            counts[message] = counts.get(message, 0) + 1
    return counts, traceback


def _progress(
    world: World, threads: Sequence[threading.Thread], sampler: RssSampler, duration: float
) -> None:
    """Wait for the clients; a line every minute (or every tenth of a short run)."""
    every = min(60.0, max(5.0, duration / 10))
    next_line = world.started + every
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(timeout=0.5)
        if time.perf_counter() >= next_line:
            next_line += every
            calls = list(world.calls)
            errors = sum(1 for c in calls if c.outcome == "error")
            rss = sampler.samples[-1][1] if sampler.samples else 0
            elapsed = time.perf_counter() - world.started
            print(
                f"      {elapsed:5.0f} s: {len(calls):,} requests "
                f"({len(calls) / elapsed:,.1f}/s), {errors} errors, RSS {_mib(rss)}",
                flush=True,
            )


# --- the report ---------------------------------------------------------------------------------


def _command(args: argparse.Namespace) -> str:
    parts = ["python -m bench.soak", f"--duration {args.duration:g}", f"--clients {args.clients}"]
    if args.providers != 4:
        parts.append(f"--providers {args.providers}")
    if args.workers != 1:
        parts.append(f"--workers {args.workers}")
    if args.database_url:
        parts.append("--database-url postgresql+psycopg://…")
    if args.dataset != "demo":
        parts.append(f"--dataset generated --services {args.services}")
    return " ".join(parts)


def render(result: Result) -> str:
    lines: list[str] = []
    add = lines.append
    args, memory, verification = result.args, result.memory, result.verification
    calls = result.calls()
    errors, conflicts = result.errors, result.conflicts
    add(HEADING)
    add("")
    add(
        f"Last run {result.started:%Y-%m-%d %H:%M} UTC: `{_command(args)}` — generated by "
        "`bench/soak.py`, which replaces only this section (`make bench` runs the search "
        "benchmark first, which rewrites the rest of the file)."
    )
    add("")
    if memory.judged:
        memory_text = (
            f"memory {'flat' if memory.flat else 'NOT flat'} "
            f"({memory.growth_mib:+,.1f} MiB, {memory.growth_share:+.1%} after the warm-up)"
        )
    else:
        memory_text = "memory not judged (under 2 minutes after the warm-up)"
    add(
        f"**{'PASS' if result.passed else 'FAIL'}** — {len(calls):,} requests in "
        f"{result.wall_s:,.0f} s ({len(calls) / result.wall_s:,.1f}/s) from {args.clients} "
        f"clients, **{len(errors):,} errors**, {len(conflicts):,} expected conflicts; "
        f"{memory_text}; {verification.missing} acknowledged writes missing. "
        f"{result.dataset}, {result.database}, code `{result.fingerprint}`."
    )
    add("")
    add("## Soak: requests")
    add("")
    add(
        "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms "
        "| expected conflicts | errors |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in [*KINDS, None]:
        chosen = result.calls(kind)
        if kind is not None and not chosen:
            continue
        ms = [c.seconds * 1000 for c in chosen if c.outcome == "ok"]
        label = f"`{kind}`" if kind else "**all**"
        add(
            f"| {label} | {len(chosen):,} | {len(chosen) / result.wall_s:,.1f} | "
            f"{_ms(percentile(ms, 50))} | {_ms(percentile(ms, 95))} | {_ms(percentile(ms, 99))} | "
            f"{_ms(max(ms) if ms else float('nan'))} | "
            f"{sum(1 for c in chosen if c.outcome == 'conflict'):,} | "
            f"{sum(1 for c in chosen if c.outcome == 'error'):,} |"
        )
    add("")
    add(
        "Latency: client-side wall time per request, of the answers that were expected (2xx); "
        "conflicts and errors are counted, not timed. Throughput: requests ÷ wall time of the "
        f"load. Server CPU during the load: {result.server_cpu_s:,.0f} s "
        f"({result.server_cpu_s / result.wall_s:.0%} of one core); load average (1 min) at "
        f"the end: {result.load_1min:.1f}."
        if result.load_1min is not None
        else "Latency: client-side wall time per request of the expected answers."
    )
    add("")
    by_status: dict[int, int] = {}
    for call in conflicts:
        by_status[call.status] = by_status.get(call.status, 0) + 1
    if conflicts:
        add(
            "Expected conflicts: "
            + ", ".join(f"{n:,} × {status}" for status, n in sorted(by_status.items()))
            + " — 412: the editor saved with the ETag of an older read (another editor was "
            "first); re-read and saved again. 409 `verouderd`: a write lost a race (on SQLite "
            "the single writer lock), nothing was written; retried."
        )
        add("")
    if errors:
        add("### Errors")
        add("")
        add("| operation | status | count | first (after s) |")
        add("|---|---|---:|---|")
        groups: dict[tuple[str, int], list[Call]] = {}
        for call in errors:
            groups.setdefault((call.kind, call.status), []).append(call)
        for (kind, status), found in sorted(groups.items()):
            detail = found[0].detail.replace("\n", " ").replace("|", "/")[:200]
            add(
                f"| {kind} | {status or 'no answer'} | {len(found)} | {detail} "
                f"({found[0].at:,.1f} s) |"
            )
        add("")
    logged, traceback = result.server_log
    if logged:
        add("### Errors in the server log")
        add("")
        add(
            "Not answers to a client: what the server logged at ERROR while it worked "
            "(background work and side effects after a commit, which the outbox retries)."
        )
        add("")
        add("| count | message (digits as N) |")
        add("|---:|---|")
        for message, count in sorted(logged.items(), key=lambda item: -item[1]):
            add(f"| {count:,} | `{message.replace('|', '/').replace('`', chr(39))}` |")
        add("")
    if traceback:
        add("The first traceback:")
        add("")
        add("```text")
        for line in traceback:
            add(line.replace("`", "'"))
        add("```")
        add("")
    add("## Soak: memory (RSS of the server)")
    add("")
    add("| what | value |")
    add("|---|---:|")
    add(f"| samples (every {args.rss_interval:g} s) | {len(memory.samples)} |")
    add(f"| warm-up, not judged | first {memory.warmup_s:,.0f} s |")
    add(
        f"| RSS after the warm-up (median of {EDGE_S:.0f} s) | {memory.start_kib / 1024:,.1f} MiB |"
    )
    add(
        f"| RSS at the end (median of the last {EDGE_S:.0f} s) | {memory.end_kib / 1024:,.1f} MiB |"
    )
    add(f"| growth | {memory.growth_mib:+,.1f} MiB ({memory.growth_share:+.1%}) |")
    add(
        f"| least-squares slope after the warm-up | {memory.slope_mib_per_10min:+,.1f} MiB / 10 min |"
    )
    add(f"| peak | {memory.peak_kib / 1024:,.1f} MiB |")
    (fds_start, threads_start), (fds_end, threads_end) = memory.handles
    add(
        f"| open file descriptors / threads, after the warm-up → end | {fds_start} → "
        f"{fds_end} / {threads_start} → {threads_end} |"
    )
    verdict = (
        ("PASS (flat)" if memory.flat else "FAIL (grew)")
        if memory.judged
        else "not judged (too short)"
    )
    add(f"| verdict (limit {memory.limit_mib:,.1f} MiB) | **{verdict}** |")
    add("")
    add(
        f"RSS: `VmRSS` of `/proc/<pid>/status`, summed over the uvicorn process and its "
        f"descendants. Flat means: both the growth from the start (the median of the first "
        f"{EDGE_S:.0f} s after the warm-up) to the end (the median of the last {EDGE_S:.0f} s) "
        f"and the rise of the least-squares line over that window stay under "
        f"{FLAT_MIB:.0f} MiB or {FLAT_SHARE:.0%} of the RSS after the warm-up, whichever is "
        f"larger; judged when at least {MIN_JUDGE_S:.0f} s follow the warm-up (the first "
        f"{WARMUP_SHARE:.0%} of the run, at most {WARMUP_MAX_S:.0f} s). The data grows "
        f"meanwhile: {_growth(result.counts_before, result.counts_after)}."
    )
    add("")
    add("## Soak: acknowledged writes")
    add("")
    add(
        "| write | acknowledged (2xx) | found as acknowledged | missing or different "
        "| other findings |"
    )
    add("|---|---:|---:|---:|---:|")
    labels = {
        "submit-new": "new organisation with voorzieningen: submission, organisation and "
        "services with the acknowledged status and texts",
        "submit-change": "change of an own voorziening: submission and payload; admitted: "
        "applied (audit trail), the last one is the service's current name and description; "
        "not admitted: never applied",
        "decide": "decision: the submission's status is the last acknowledged one",
        "patch": "`PATCH` with `If-Match`: in the audit trail; the last acknowledged one is "
        "the current name and version",
    }
    for kind in WRITE_KINDS:
        check = verification.database[kind]
        add(
            f"| {labels[kind]} | {check.acknowledged:,} | {check.verified:,} | "
            f"{check.missing:,} | {check.findings:,} |"
        )
    add("")
    add("| after the outbox was empty | checked | as expected | wrong |")
    add("|---|---:|---:|---:|")
    for label, check in (
        (
            "public services found in the index by the unique word of their name",
            verification.index_public,
        ),
        ("services that are not public: absent from the index", verification.index_hidden),
        (
            "changed services: no longer found by their previous name",
            verification.index_stale,
        ),
        (
            "public API `GET /services/{slug}`: 200 with that name (404 when not public)",
            verification.api,
        ),
    ):
        add(f"| {label} | {check.acknowledged:,} | {check.verified:,} | {check.missing:,} |")
    add("")
    backlog = verification.backlog_before
    drained = (
        f"; then `sociale-kaart search drain`: {verification.cli_drain}"
        if verification.cli_drain
        else ""
    )
    add(
        f"Outbox after the load: {backlog if backlog is not None else '?'} waiting; empty after "
        f"{verification.backlog_wait_s:,.0f} s (`/health/ready` `search_backlog`; every commit "
        f"sends its own rows, the server's drain loop retries every {args.drain_interval:g} s)"
        f"{drained}."
    )
    problems = [p for check in verification.checks for p in check.problems]
    if problems:
        add("")
        add(f"Problems ({len(problems)}; the first 20):")
        add("")
        for problem in problems[:20]:
            add(f"- {problem}")
    add("")
    add("## Soak: set-up")
    add("")
    mix = ", ".join(f"{name} {weight}" for name, weight in ACTIONS.items())
    notes = [
        f"**Data.** {result.dataset}, {result.database}, fresh; accounts as a gemeente makes "
        "them: the first beheerder with `sociale-kaart users create`, then invitations through "
        f"the API for 1 redacteur and {args.providers} aanbieders (each for its own demo "
        "organisation with 1–4 services), accepted with the link from the mail.",
        f"**Server.** `uvicorn app.main:app` ({'one process' if args.workers == 1 else f'{args.workers} workers'}) "
        f"on 127.0.0.1 from a snapshot of the code; embedded search backend; background work on "
        f"(drain loop every {args.drain_interval:g} s, mail, geocoding, monitor counts); per-client "
        "search limit off (all clients are 127.0.0.1).",
        f"**Clients.** {args.clients} threads, each with its own keep-alive `httpx.Client`, for "
        f"{args.duration:,.0f} s, in the same process on the same machine. Each does every "
        f"action once, then a weighted mix of actions ({mix}); an action is one request or a "
        "few (a review reads the queue, then decides; a change first looks at the aanbieder's "
        "open change — one open change per organisation, so the last admitted one is known).",
        "**Requests:** " + "; ".join(f"`{kind}` {text}" for kind, text in KINDS.items()) + ".",
        "**Errors:** any 5xx, no answer within "
        f"{CLIENT_TIMEOUT_S:.0f} s, or a status the operation does not expect (every other "
        "4xx included). Expected conflicts: a 412 on a `PATCH` (stale `If-Match`), and a 409 "
        "`verouderd` on a write (a lost race, nothing written), which the client retries up "
        f"to {args.write_retries} times, {RETRY_BASE_S:g} s doubling to at most "
        f"{RETRY_MAX_S:g} s (±50%); a write still refused then is an error.",
        "**Verification.** Every 2xx write is in a ledger; afterwards the rows are read with "
        "SQL (submission status and payload, organisation and service status, names, "
        "descriptions, versions), then every affected service is searched by the unique word "
        "of its name and read through the public API.",
    ]
    for note in notes:
        add(f"- {note}")
    add("")
    add("| machine | |")
    add("|---|---|")
    for key, value in _machine():
        add(f"| {key} | {value} |")
    add("")
    return "\n".join(lines)


def _growth(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    return ", ".join(
        f"{table} {before.get(table, 0):,} → {after.get(table, 0):,}"
        for table in ("organization", "service", "location", "submission")
    )


def replace_section(document: str, section: str) -> str:
    """``document`` with its ``# Soak`` section (up to the next top-level heading) replaced
    by ``section``, or with ``section`` appended."""
    lines = document.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        head = document.rstrip("\n")
        return f"{head}\n\n{section.rstrip()}\n" if head else f"{section.rstrip()}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")), len(lines))
    kept = [*lines[:start], *section.rstrip().splitlines(), *([""] if end < len(lines) else [])]
    return "\n".join([*kept, *lines[end:]]).rstrip("\n") + "\n"


def write_report(path: Path, section: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(existing, section), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dataset == "generated" and not Path(args.pc4).is_file():
        print(f"soak: PC4 centroid file not found: {args.pc4} (pass --pc4)", file=sys.stderr)
        return 2
    result = run(args)
    report = render(result)
    print()
    print(report)
    write_report(args.out, report)
    print(f"written to {args.out} (section {HEADING!r})")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
