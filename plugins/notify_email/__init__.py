"""Email notifications over SMTP (``[notifications.email]`` in config.toml).

Each message goes out as text and HTML in the recipient's language, with a Message-ID derived
from the outbox message's idempotency key: a message the relay had to send twice carries the
same Message-ID both times, so mail systems and readers see one message. A member may take
their news as a daily or weekly digest: one email listing each event's summary with its link.
The relay hands the channel its messages in batches, sent over one SMTP connection each. The
plugin also sends the one-time sign-in links (``deliver_sign_in_link``), directly rather than
through the outbox: the link is a secret, and the database keeps only hashes of secrets.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core import formats, hookimpl, i18n
from core.events import EmailChanged
from core.i18n import N_, _, ngettext
from core.notifications import Delivery, Notifier, PermanentFailure
from core.notifications.catalog import DIRECT_EVENTS, KINDS, in_language, render
from core.notifications.digests import WEEKLY, Digest

# What the operators' plugin page says of this plugin, in their language.
DESCRIPTION = N_("Email notifications over SMTP, set in config.toml.")

if TYPE_CHECKING:
    from core.config import Settings

log = logging.getLogger("sip.notify_email")

EMAIL = "email"
# The config.toml section this plugin reads (the operators' plugin page shows it, masked).
CONFIG_SECTION = "notifications.email"
TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    return env


_env = _environment()


def sender(settings: Settings) -> str:
    return settings.notifications.email.from_address or settings.platform.contact_email


def message_id(key: str, settings: Settings) -> str:
    """The same idempotency key always gives the same Message-ID."""
    domain = sender(settings).rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def compose(
    settings: Settings,
    *,
    to_name: str,
    to_address: str,
    language: str,
    subject: str,
    paragraphs: list[str],
    url: str,
    key: str,
    footer: str,
    items: Sequence[tuple[str, str]] = (),
) -> EmailMessage:
    """A text and HTML email; call inside ``in_language(language)``. ``items`` (a digest's
    events: one-line summary, link) are listed after the paragraphs."""
    context = {
        "platform": settings.platform.name,
        "subject": subject,
        "paragraphs": paragraphs,
        "items": list(items),
        "url": url,
        "footer": footer,
        "language": language,
    }
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((settings.platform.name, sender(settings)))
    message["To"] = formataddr((to_name, to_address))
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(key, settings)
    message["Auto-Submitted"] = "auto-generated"
    listed = ["\n".join(f"- {summary}\n  {link}" for summary, link in items)] if items else []
    text = "\n\n".join([subject, *paragraphs, *listed, url])
    if footer:
        text += f"\n\n-- \n{footer}"
    message.set_content(text + "\n")
    message.add_alternative(_env.get_template("message.html").render(context), subtype="html")
    message["Content-Language"] = language  # after the body: setting content drops Content-*
    return message


def _options(settings: Settings) -> dict[str, Any]:
    smtp = settings.notifications.email
    options: dict[str, Any] = {
        "hostname": smtp.host,
        "port": smtp.port,
        "timeout": smtp.timeout_seconds,
        "use_tls": smtp.security == "tls",
        "start_tls": True if smtp.security == "starttls" else False,
    }
    if smtp.username:
        options.update(username=smtp.username, password=smtp.password)
    return options


async def send(settings: Settings, message: EmailMessage) -> None:
    """One message over a connection of its own."""
    try:
        await aiosmtplib.send(message, **_options(settings))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure(f"the mail server refused the address: {exc}") from None


async def send_batch(
    settings: Settings, messages: Sequence[EmailMessage]
) -> list[BaseException | None]:
    """Several messages over one connection (connect, log in if configured, send each, quit);
    one outcome per message, None for sent. A message the server refuses fails alone: the
    others still go, over a new connection if that one broke. A server that cannot be reached
    fails the messages not sent yet, to be retried later."""
    outcomes: list[BaseException | None] = [None] * len(messages)
    client: aiosmtplib.SMTP | None = None
    try:
        for index, message in enumerate(messages):
            if client is None:
                client = aiosmtplib.SMTP(**_options(settings))
                try:
                    await client.connect()  # logs in when a username is set
                except Exception as exc:
                    for later in range(index, len(messages)):
                        outcomes[later] = exc
                    client = None
                    break
            try:
                await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                outcomes[index] = PermanentFailure(f"the mail server refused the address: {exc}")
            except Exception as exc:
                outcomes[index] = exc
            if not client.is_connected:
                client = None  # the next message connects again
    finally:
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except Exception:  # the messages are sent; a failed goodbye changes nothing
                client.close()
    return outcomes


class EmailNotifier(Notifier):
    name = EMAIL
    label = N_("Email")
    per_member = True
    # What concerns the member directly (the notice that their email address changed too).
    default_events = DIRECT_EVENTS
    digests = True
    batches = True

    async def deliver(self, delivery: Delivery) -> None:
        await send(delivery.settings, self.message(delivery))

    async def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = [None] * len(deliveries)
        ready: list[tuple[int, EmailMessage]] = []
        for index, delivery in enumerate(deliveries):
            try:
                ready.append((index, self.message(delivery)))
            except Exception as exc:
                outcomes[index] = exc
        if ready:
            sent = await send_batch(deliveries[0].settings, [message for _i, message in ready])
            for (index, _message), outcome in zip(ready, sent, strict=True):
                outcomes[index] = outcome
        return outcomes

    def message(self, delivery: Delivery) -> EmailMessage:
        """The email of one delivery, in the member's language."""
        if isinstance(delivery.event, Digest):
            return self.digest_message(delivery, delivery.event)
        member = delivery.member
        address = member.email if member is not None else ""
        if isinstance(delivery.event, EmailChanged):
            # To the address the change replaced: the one the member reads if they did not
            # ask for it (the new one may be someone else's).
            address = delivery.event.old_email
        if member is None or "@" not in address:
            raise PermanentFailure("the member has no email address")
        settings = delivery.settings
        base = settings.platform.base_url.rstrip("/")
        with in_language(member.language):
            text = render(delivery.event, member.language)
            footer = _("You receive this email because of your notification settings: %(url)s") % {
                "url": f"{base}/notifications/preferences"
            }
            message = compose(
                settings,
                to_name=member.name,
                to_address=address,
                language=member.language,
                subject=text.subject,
                paragraphs=[text.body],
                url=base + text.path,
                key=delivery.key,
                footer=footer,
            )
        message["X-SIP-Notification"] = delivery.key
        return message

    def digest_message(self, delivery: Delivery, digest: Digest) -> EmailMessage:
        """A digest: each event's one-line summary and link, in the member's language."""
        member = delivery.member
        if member is None or "@" not in member.email:
            raise PermanentFailure("the member has no email address")
        settings = delivery.settings
        base = settings.platform.base_url.rstrip("/")
        with in_language(member.language):
            items = []
            for event in delivery.items:
                if type(event).__struct_config__.tag in KINDS:
                    text = render(event, member.language)
                    items.append((text.subject, base + text.path))
            if digest.frequency == WEEKLY:
                subject = _("%(platform)s: your news of the week %(days)s") % {
                    "platform": settings.platform.name,
                    "days": formats.day_range(digest.period_start, digest.period_end),
                }
            else:
                subject = _("%(platform)s: your news of %(day)s") % {
                    "platform": settings.platform.name,
                    "day": formats.day(digest.period_start),
                }
            intro = ngettext(
                "%(num)d piece of news you asked to receive together:",
                "%(num)d pieces of news you asked to receive together:",
                len(items),
            ) % {"num": len(items)}
            footer = _("You receive this email because of your notification settings: %(url)s") % {
                "url": f"{base}/notifications/preferences"
            }
            message = compose(
                settings,
                to_name=member.name,
                to_address=member.email,
                language=member.language,
                subject=subject,
                paragraphs=[intro],
                url=f"{base}/notifications",
                key=delivery.key,
                footer=footer,
                items=items,
            )
        message["X-SIP-Notification"] = delivery.key
        return message


@hookimpl
def register_notifiers() -> Sequence[Notifier]:
    return [EmailNotifier()]


@hookimpl
def deliver_sign_in_link(
    member: Any, url: str, expires_minutes: int, settings: Settings
) -> Awaitable[bool]:
    """Email the link; the caller awaits the answer. A failure is logged (without the link)."""
    return _send_sign_in_link(member, url, expires_minutes, settings)


async def _send_sign_in_link(
    member: Any, url: str, expires_minutes: int, settings: Settings
) -> bool:
    import secrets

    with in_language(member.language):
        message = compose(
            settings,
            to_name=member.name,
            to_address=member.email,
            language=member.language,
            subject=_("Your sign-in link for %(platform)s") % {"platform": settings.platform.name},
            paragraphs=[
                _("Open this link to sign in. It works once, within %(minutes)d minutes.")
                % {"minutes": expires_minutes},
                _("If you did not ask for it, ignore this email: nobody can sign in without it."),
            ],
            url=url,
            key=f"sign_in:{secrets.token_hex(16)}",
            footer="",
        )
    try:
        await send(settings, message)
    except Exception as exc:  # the member asks again; the page does not reveal who is a member
        log.error("could not email a sign-in link to member %s: %s", member.id, exc)
        return False
    return True
