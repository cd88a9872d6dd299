"""Helpers for the notification tests: a movable clock, a real SMTP server, a real webhook
receiver, and the platform's rules with chosen plugins per country."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

from aiosmtpd.controller import Controller
from msgspec.structs import replace

from core import clock
from core.config import Country, Settings
from core.editions.services import PROPOSALS, PhaseWindow, create_edition, set_calendar
from core.members.model import CurrentMember
from core.members.services import load_member
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services as themes
from core.themes.services import ThemeTextIn
from tests.conftest import add_member

OPEN_DAY = date(2021, 10, 1)  # inside both countries' proposal phase below
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    """Poll a condition (not a timing assertion): fail if it does not hold within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


class Clock:
    """An injectable clock for the relay: starts at the real now, moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or clock.now()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


# -- a real SMTP server ------------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd on localhost: collects every message; can be stopped and started again on the
    same port (the mail server down for a while)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)


# -- a real webhook receiver -------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on localhost that records every POST (headers and raw body).

    ``status`` is the answer; ``hold_request`` makes the n-th request (1-based) wait until
    ``release`` is set, to catch a relay in the middle of a delivery.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.hold_request: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sip"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append((headers, body))
                    number = len(receiver.requests)
                if receiver.hold_request == number:
                    receiver.holding.set()
                    receiver.release.wait(30)
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[tuple[dict[str, str], bytes]]:
        with self._lock:
            return list(self.requests)


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of Standard Webhooks, written from the specification: HMAC-SHA256
    over "{webhook-id}.{webhook-timestamp}.{body}" with the base64-decoded secret, compared in
    constant time with every "v1,..." signature of the space-separated header."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed_content = (
        headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    )
    expected = base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest())
    for signature in headers["webhook-signature"].split(" "):
        version, _sep, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


# -- the platform --------------------------------------------------------------------------------


def configured(
    settings: Settings,
    *,
    be: tuple[str, ...] = (),
    fr: tuple[str, ...] = (),
    smtp: SmtpSink | None = None,
    webhook: WebhookReceiver | None = None,
    **notifications: Any,
) -> Settings:
    """Settings with extra plugins per country, the SMTP server and webhook receiver, and
    relay settings (``max_attempts=3`` ...)."""
    n = settings.notifications
    if smtp is not None:
        n = replace(n, email=replace(n.email, host="127.0.0.1", port=smtp.port, timeout_seconds=5))
    if webhook is not None:
        n = replace(
            n, webhook=replace(n.webhook, url=webhook.url, secret=WEBHOOK_SECRET, timeout_seconds=5)
        )
    n = replace(n, **notifications)
    return replace(
        settings,
        notifications=n,
        countries={
            "BE": Country(name="Belgium", plugins=["track_be", *be]),
            "FR": Country(name="France", plugins=["track_fr", *fr]),
        },
    )


def rules_for(settings: Settings, extra: dict[str, object] | None = None) -> Rules:
    return Rules(registry=build_registry(settings, extra=extra or {}), settings=settings)


_numbers = count(1)


async def member(
    country: str = "BE",
    *,
    language: str = "en",
    operator_of: tuple[str, ...] = (),
    shareholder: bool = True,
) -> CurrentMember:
    n = next(_numbers)
    member_id = await add_member(
        f"m{n}-{secrets.token_hex(3)}@example.org",
        name=f"Member {n}",
        country=country,
        language=language,
        shareholder=shareholder,
        roles=tuple(("operator", c) for c in operator_of),
    )
    loaded = await load_member(member_id)
    assert loaded is not None
    return loaded


_years = count(2030)


def new_slug() -> str:
    year = next(_years)
    return f"{year}-{year + 1}"


async def edition(slug: str | None = None) -> int:
    edition_id = await create_edition(slug or new_slug())
    window = PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 11, 30))
    await set_calendar(edition_id, "BE", [window])
    await set_calendar(edition_id, "FR", [window])
    return edition_id


async def submitted(rules: Rules, proposer: CurrentMember, edition_id: int, title: str) -> int:
    theme_id = await themes.propose(
        rules, proposer, edition_id, ThemeTextIn(title=title, language="en"), OPEN_DAY
    )
    await themes.submit(rules, proposer, theme_id, OPEN_DAY)
    return theme_id


async def accepted_proposal(
    rules: Rules, proposer: CurrentMember, title: str = "Cheaper bikes", slug: str | None = None
) -> int:
    """A proposal of ``proposer`` that an operator of their country accepts."""
    edition_id = await edition(slug)
    operator = await member(proposer.country, operator_of=(proposer.country,))
    theme_id = await submitted(rules, proposer, edition_id, title)
    await themes.accept(rules, operator, theme_id)
    return theme_id


async def open_poll(rules: Rules, country: str = "BE", *, closes_in: timedelta) -> int:
    """An open poll of ``country`` on three board themes, closing ``closes_in`` from now."""
    from core.polls import services as polls
    from tests.poll_support import open_box

    edition_id = await create_edition(new_slug())
    board = await member(country, shareholder=False)
    board_actor = replace(board, roles=(("board", ""),))
    for title in ("Accompaniment", "New prospects", "Gender equality"):
        await themes.add_board_theme(
            rules, board_actor, edition_id, [country], ThemeTextIn(title=title, language="en")
        )
    operator = await member(country, operator_of=(country,), shareholder=False)
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        country,
        "approval",
        2,
        now - timedelta(hours=1),
        now + closes_in,
    )
    # A poll opens with its ballot box: one teller holds the key (``count_poll`` needs it).
    BOXES[poll_id] = await open_box(rules, operator, poll_id)
    return poll_id


BOXES: dict[int, Any] = {}  # poll id -> its ballot box (tests.poll_support.Box)
