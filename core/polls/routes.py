"""Routes of the polls domain, pages and their JSON twins:
polls, the ballot box, proxies and the AGM room.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.polls.agm_controllers import AgmAPI, ProxyPages, RoomPages
from core.polls.box_controllers import BallotBoxAPI, BallotBoxPages
from core.polls.controllers import PollPages, PollsAPI

router = Router(
    path="/",
    route_handlers=[
        PollPages,
        PollsAPI,
        BallotBoxPages,
        BallotBoxAPI,
        ProxyPages,
        RoomPages,
        AgmAPI,
    ],
)
