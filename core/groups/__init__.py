"""Working groups: groups per theme, registrations with a waiting list, scheduling the
meetings, attendance, info sessions and the members' calendar feeds."""
