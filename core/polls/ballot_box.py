"""The sealed ballot box, without a database: the poll's key pair, the tellers' shares, sealing
a ballot, its tracker, and opening the box at the count.

Every primitive comes from a kept library:

- sealing is libsodium's sealed box (X25519 + XSalsa20-Poly1305, through PyNaCl): anyone with
  the poll's public key can seal; only the private key opens. The sender's key is ephemeral and
  never kept, so not even the voter can later show what a sealed ballot contains;
- the private key is split into SLIP-39 shares (``shamir-mnemonic``): words a teller can write
  down or print, with a checksum that catches a mistyped word; any ``needed`` of them give the
  key back, fewer give nothing.

A ballot is padded to one length per poll before it is sealed, so the sealed ballots' sizes say
nothing about the choices (an approval ballot of one tick is as long as one of five).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from shamir_mnemonic import MnemonicError, combine_mnemonics, generate_mnemonics

from core.errors import InvalidInput
from core.i18n import _


class BoxTampered(Exception):
    """A sealed ballot does not open with the poll's key: the box was changed."""


@dataclass(frozen=True)
class Keys:
    """A new ballot box: its public key (hex) and the tellers' shares, in teller order."""

    public_key: str
    shares: list[str]


def make_keys(tellers: int, needed: int) -> Keys:
    """A key pair whose private key exists afterwards only as ``tellers`` shares, of which
    any ``needed`` open the box. SLIP-39 refuses a 1-of-n single group (each share would be
    the key itself), so 1-of-n is n groups of one share each, any one group enough."""
    if not 1 <= needed <= tellers:
        raise InvalidInput(_("Between 1 and the number of tellers must count together."))
    private = PrivateKey.generate()
    secret = bytes(private)
    if needed == 1:
        groups = generate_mnemonics(1, [(1, 1)] * tellers, secret, b"")
    else:
        groups = generate_mnemonics(1, [(needed, tellers)], secret, b"")
    shares = [share for group in groups for share in group]
    return Keys(public_key=bytes(private.public_key).hex(), shares=shares)


def _words(share: str) -> str:
    return " ".join(share.lower().split())


def private_key_from(shares: Sequence[str], public_key: str, needed: int) -> PrivateKey:
    """The poll's private key from its tellers' shares, checked against its public key.

    Refused with a clear message (and nothing learnt) when fewer than ``needed`` shares are
    given, a share is mistyped, the shares are of different polls, or they open another box.
    """
    given = [_words(s) for s in shares if s.strip()]
    if len(given) < needed:
        raise InvalidInput(
            _("%(needed)d tellers' shares are needed to count; %(given)d were given.")
            % {"needed": needed, "given": len(given)}
        )
    if len(set(given)) < len(given):
        raise InvalidInput(_("The same share was given twice: each teller gives their own."))
    try:
        # SLIP-39 combines exactly the threshold's number of shares.
        secret = combine_mnemonics(given[:needed], b"")
    except MnemonicError as exc:
        raise InvalidInput(_share_problem(str(exc))) from None
    except (ValueError, KeyError):
        raise InvalidInput(_("A share is not valid: check that every word is right.")) from None
    try:
        private = PrivateKey(secret)
    except (TypeError, ValueError):
        raise InvalidInput(_("These shares are not of this poll's ballot box.")) from None
    if bytes(private.public_key).hex() != public_key:
        raise InvalidInput(_("These shares are not of this poll's ballot box."))
    return private


def _share_problem(reason: str) -> str:
    """The library's reason for refusing shares, in the tellers' words."""
    lowered = reason.lower()
    if "checksum" in lowered or "invalid mnemonic" in lowered or "word" in lowered:
        return _("A share is not valid: check that every word is right.")
    if "wrong number" in lowered or "insufficient" in lowered or "threshold" in lowered:
        return _("Not enough shares: more tellers must give theirs.")
    if "identifier" in lowered or "common" in lowered or "iteration" in lowered:
        return _("These shares do not belong together: one is of another poll.")
    return _("These shares cannot be combined: check that each is this poll's.")


def padded_length(candidates: int) -> int:
    """One plaintext length for every ballot of a poll of ``candidates`` candidates: room for
    the longest JSON ballot (every candidate, each in brackets as a tie), in 16-byte steps."""
    digits = len(str(max(candidates, 1)))
    longest = 2 + candidates * (digits + 3) + 2
    return 16 * (longest // 16 + 1)


def seal(public_key: str, ballot: bytes, length: int) -> bytes:
    """The ballot (JSON), padded with spaces to ``length`` and sealed with the public key."""
    if len(ballot) > length:
        raise InvalidInput(_("This ballot is too long for the poll."))
    return SealedBox(PublicKey(bytes.fromhex(public_key))).encrypt(ballot.ljust(length, b" "))


def tracker(sealed: bytes) -> str:
    """A sealed ballot's tracker: the voter's receipt, listed in the public ballot box."""
    return hashlib.sha256(sealed).hexdigest()


def open_sealed(private: PrivateKey, sealed: bytes) -> bytes:
    """A sealed ballot's JSON, without its padding."""
    try:
        return SealedBox(private).decrypt(sealed).rstrip(b" ")
    except CryptoError:
        raise BoxTampered("a sealed ballot does not open with the poll's key") from None


class ShareDesk:
    """The shares of opened polls that their tellers have not collected yet, in this server
    process's memory only (never in the database, a log or a file). A share leaves the desk
    when its teller is shown it, once; a restart loses the shares still waiting.

    Keyed by the poll's public key, so two databases served by one process never mix."""

    def __init__(self) -> None:
        self._shares: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def put(self, public_key: str, member_id: int, share: str) -> None:
        with self._lock:
            self._shares[(public_key, member_id)] = share

    def holds(self, public_key: str, member_id: int) -> bool:
        with self._lock:
            return (public_key, member_id) in self._shares

    def take(self, public_key: str, member_id: int) -> str | None:
        with self._lock:
            return self._shares.pop((public_key, member_id), None)

    def forget(self, public_key: str) -> None:
        with self._lock:
            for key in [k for k in self._shares if k[0] == public_key]:
                del self._shares[key]


DESK = ShareDesk()
