"""The core's Piccolo app: its tables and its committed migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.audit.tables import AuditEntry, AuditPersonal
from core.auth.tables import SignInFailure, SignInLinkRequest, SignInToken, WebSession
from core.editions.tables import Edition, EditionPhase
from core.groups.tables import (
    Attendance,
    CalendarFeed,
    GroupFacilitator,
    GroupRegistration,
    InfoSession,
    InfoSessionRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.members.tables import ErasureRequest, Member, MemberRole, RegisterImport
from core.notifications.tables import (
    DigestItem,
    Notification,
    NotificationEvent,
    NotificationPreference,
    OutboxMessage,
)
from core.polls.tables import (
    ClearBallot,
    Participation,
    Poll,
    PollCandidate,
    PollTeller,
    Presence,
    Proxy,
    RollEntry,
    SealedBallot,
)
from core.recommendations.tables import (
    ArchivedFigures,
    Bundle,
    Decision,
    Endorsement,
    Milestone,
    Project,
    ProjectSource,
    Recommendation,
    RecommendationComment,
)
from core.runtime.tables import PluginSwitch, SettingsVersion
from core.themes.tables import Support, Theme, ThemeText

TABLES = [
    Member,
    MemberRole,
    RegisterImport,
    ErasureRequest,
    WebSession,
    SignInToken,
    SignInFailure,
    SignInLinkRequest,
    Edition,
    EditionPhase,
    Theme,
    ThemeText,
    Support,
    Poll,
    PollCandidate,
    Participation,
    SealedBallot,
    ClearBallot,
    PollTeller,
    Proxy,
    Presence,
    RollEntry,
    NotificationEvent,
    OutboxMessage,
    Notification,
    NotificationPreference,
    DigestItem,
    WorkingGroup,
    GroupFacilitator,
    GroupRegistration,
    MeetingSlot,
    SlotAnswer,
    Meeting,
    Attendance,
    InfoSession,
    InfoSessionRegistration,
    CalendarFeed,
    Bundle,
    Recommendation,
    RecommendationComment,
    Endorsement,
    Decision,
    Project,
    ProjectSource,
    Milestone,
    ArchivedFigures,
    AuditEntry,
    AuditPersonal,
    PluginSwitch,
    SettingsVersion,
]

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
