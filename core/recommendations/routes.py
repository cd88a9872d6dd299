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
    bundle_list,
    bundle_pending,
    bundle_show,
    edition_recommendation_list,
    group_recommendation_list,
    recommendation_show,
)
from core.recommendations.project_controllers import (
    ProjectPages,
    ProjectsAPI,
    RecordPages,
    project_list,
    project_show,
    record_across,
    record_of_edition,
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
        RecordPages,
        *project_list.handlers,
        *project_show.handlers,
        *record_across.handlers,
        *record_of_edition.handlers,
        *edition_recommendation_list.handlers,
        *group_recommendation_list.handlers,
        *recommendation_show.handlers,
        *bundle_list.handlers,
        *bundle_pending.handlers,
        *bundle_show.handlers,
    ],
)
