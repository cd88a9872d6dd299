"""Voting methods for the AGM's polls, as plugins, and the ballot files a recount reads.

The core registers five methods through the ``register_voting_methods`` hook (plurality or
block vote, approval, Borda, Schulze, STV under the Scottish rules); a plugin adds one, or
replaces one by registering another with the same name. Ties are resolved by the poll's
published candidate order: the candidate earlier in the list is ahead (``core.voting.base``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import InvalidInput
from core.i18n import _
from core.voting.base import (
    APPROVAL,
    BALLOT_KINDS,
    CHOOSE,
    RANKED,
    Ballot,
    Ballots,
    CandidateId,
    StvRound,
    Tally,
    TransferValue,
    VotingMethod,
    check_method,
)

if TYPE_CHECKING:
    from core.plugins import PluginRegistry


def voting_methods(registry: PluginRegistry) -> dict[str, VotingMethod]:
    """Every registered method by name; a later registration replaces an earlier one.

    pluggy calls the newest plugin first and the core's ``trylast`` defaults last, so the
    answers are read in reverse: the core's first, then each plugin in registration order.
    """

    def collect() -> dict[str, VotingMethod]:
        found: dict[str, VotingMethod] = {}
        for answer in reversed(registry.platform_hook("register_voting_methods")()):
            for method in answer or ():
                found[check_method(method).name] = method
        return found

    return dict(registry.remembered("register_voting_methods", collect))


def voting_method(registry: PluginRegistry, name: str) -> VotingMethod:
    """The method registered under ``name``; an unknown name is invalid input naming the known."""
    methods = voting_methods(registry)
    try:
        return methods[name]
    except KeyError:
        raise InvalidInput(
            _('Unknown voting method "%(name)s"; installed methods: %(known)s.')
            % {"name": name, "known": ", ".join(sorted(methods))}
        ) from None


__all__ = [
    "APPROVAL",
    "BALLOT_KINDS",
    "CHOOSE",
    "RANKED",
    "Ballot",
    "Ballots",
    "CandidateId",
    "StvRound",
    "Tally",
    "TransferValue",
    "VotingMethod",
    "voting_method",
    "voting_methods",
]
