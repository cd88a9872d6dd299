"""Webhook notifications: every event that notifies, POSTed as JSON to one URL, signed.

Configured by ``[notifications.webhook] url`` and the secret in SIP_WEBHOOK_SECRET. Requests
follow Standard Webhooks (https://www.standardwebhooks.com/): the headers ``webhook-id`` (the
outbox message's idempotency key: the same on every retry), ``webhook-timestamp`` (seconds)
and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
the key being the base64-decoded part of the secret after ``whsec_``. One message per event
(not per member); any answer other than 2xx is retried by the relay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx
import msgspec

from core import hookimpl
from core.i18n import N_, _
from core.notifications import Delivery, Notifier, PermanentFailure

# What the operators' plugin page says of this plugin, in their language.
DESCRIPTION = N_(
    "Webhook notifications: every event that notifies, posted as JSON to one address, signed."
)

if TYPE_CHECKING:
    from core.config import Settings

WEBHOOK = "webhook"
# The config.toml section this plugin reads (the operators' plugin page shows it, masked).
CONFIG_SECTION = "notifications.webhook"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one request."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_of(delivery: Delivery) -> bytes:
    return msgspec.json.encode(
        {
            "type": delivery.event_type,
            "timestamp": delivery.now.isoformat(),
            "data": msgspec.to_builtins(delivery.event),
        }
    )


class WebhookNotifier(Notifier):
    name = WEBHOOK
    label = N_("Webhook")
    per_member = False  # one message per event: an integration, not a member's inbox

    def __init__(self, settings: Settings) -> None:
        self.url = settings.notifications.webhook.url
        self.secret = settings.notifications.webhook.secret
        self.timeout = settings.notifications.webhook.timeout_seconds

    def __repr__(self) -> str:  # never the secret
        return f"WebhookNotifier(url={self.url!r})"

    async def deliver(self, delivery: Delivery) -> None:
        if not (self.url and self.secret):
            raise PermanentFailure("notifications.webhook.url or SIP_WEBHOOK_SECRET is not set")
        body = body_of(delivery)
        timestamp = int(delivery.now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "smart-in-progress-webhook",
            "webhook-id": delivery.key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.secret, delivery.key, timestamp, body),
        }
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"the receiver answered HTTP {response.status_code}")


def unavailable(settings: Settings) -> str | None:
    """Why this channel cannot be enabled from the plugin page: it needs its address in
    config.toml and its secret in the environment (``core.runtime.services``)."""
    webhook = settings.notifications.webhook
    if webhook.url and webhook.secret:
        return None
    return _(
        "This channel needs notifications.webhook.url in config.toml and the "
        "SIP_WEBHOOK_SECRET environment variable; ask whoever runs the server."
    )


@hookimpl
def register_notifiers(settings: Settings) -> Sequence[Notifier]:
    return [WebhookNotifier(settings)]
