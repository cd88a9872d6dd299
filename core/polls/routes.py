"""Routes of the polls domain, pages and their JSON twins:
polls, the ballot box, proxies and the AGM room.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.polls.agm_controllers import AgmAPI, ProxyPages, RoomPages, my_proxies, poll_turnout
from core.polls.box_controllers import BallotBoxAPI, BallotBoxPages, poll_box
from core.polls.controllers import PollPages, PollsAPI, poll_list, poll_result, poll_show

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
        *poll_list.handlers,
        *poll_show.handlers,
        *poll_result.handlers,
        *poll_box.handlers,
        *my_proxies.handlers,
        *poll_turnout.handlers,
    ],
)
