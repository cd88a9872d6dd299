"""The signed-in member as the rest of the platform sees it."""

from __future__ import annotations

import msgspec

from core.members.tables import ROLE_BOARD, ROLE_FACILITATOR, ROLE_OPERATOR, ROLE_TELLER


class CurrentMember(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    member_number: str
    email: str
    name: str
    country: str
    language: str
    shareholder: bool
    has_password: bool = False
    roles: tuple[tuple[str, str], ...] = ()  # (role, country or "")

    @property
    def operator_countries(self) -> list[str]:
        return sorted(c for r, c in self.roles if r == ROLE_OPERATOR)

    def is_operator(self, country: str | None = None) -> bool:
        if country is None:
            return bool(self.operator_countries)
        return country in self.operator_countries

    def is_teller(self, country: str) -> bool:
        return (ROLE_TELLER, country) in self.roles

    @property
    def is_board(self) -> bool:
        return any(r == ROLE_BOARD for r, _ in self.roles)

    @property
    def is_facilitator(self) -> bool:
        return any(r == ROLE_FACILITATOR for r, _ in self.roles)

    @property
    def role_labels(self) -> list[str]:
        return [f"{r} ({c})" if c else r for r, c in sorted(self.roles)]
