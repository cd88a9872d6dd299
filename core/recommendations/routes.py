"""Routes of the recommendations domain, pages and their JSON twins:
recommendations, bundles, projects and the public record.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.recommendations.controllers import (
    BundlePages,
    BundlesAPI,
    RecommendationPages,
    RecommendationsAPI,
)
from core.recommendations.project_controllers import (
    ProjectPages,
    ProjectsAPI,
    RecordAPI,
    RecordPages,
)

router = Router(
    path="/",
    route_handlers=[
        BundlePages,
        BundlesAPI,
        ProjectPages,
        ProjectsAPI,
        RecommendationPages,
        RecommendationsAPI,
        RecordAPI,
        RecordPages,
    ],
)
