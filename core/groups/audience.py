"""A registration's statuses and who hears about a group's meetings (the notification catalog
reads it without the group services)."""

from __future__ import annotations

from core.groups.tables import GroupFacilitator, GroupRegistration

CONFIRMED, WAITING, WITHDRAWN = "confirmed", "waiting", "withdrawn"
ACTIVE = (CONFIRMED, WAITING)


async def group_audience(group_id: int) -> list[int]:
    """Who hears about a group's meetings: its participants (with a place) and facilitators."""
    participants = await GroupRegistration.select(GroupRegistration.member).where(
        (GroupRegistration.working_group == group_id) & (GroupRegistration.status == CONFIRMED)
    )
    facilitators = await GroupFacilitator.select(GroupFacilitator.member).where(
        GroupFacilitator.working_group == group_id
    )
    return list(dict.fromkeys([r["member"] for r in participants + facilitators]))
