"""The core's voting methods, registered like any plugin's (a plugin's of the same name wins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core import hookimpl

if TYPE_CHECKING:
    from core.voting import VotingMethod


@hookimpl(trylast=True)
def register_voting_methods() -> Sequence[VotingMethod]:
    # Imported here: numpy loads when a count needs it, not with every plugin manager.
    from core.voting.methods import CORE_METHODS

    return list(CORE_METHODS)
