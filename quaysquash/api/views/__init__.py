"""Quay's v1 API paths that the pages use. Every repository lookup goes through
``Repository.objects.restrict``: a repository the caller may not read answers 404."""

from .fetch import FetchCommandView
from .history import TagHistoryView, TagRestoreView
from .permissions import PermissionListView, PermissionView
from .repositories import RepositoryListView, RepositoryView
from .robots import (
    RobotCredentialsView,
    RobotListView,
    RobotPolicyView,
    RobotRegenerateView,
    RobotView,
)
from .tagdetails import TagDetailsView, TagSavingsView
from .tags import TagBulkView, TagListView, TagNamesView, TagView

__all__ = [
    "FetchCommandView",
    "PermissionListView",
    "PermissionView",
    "RepositoryListView",
    "RepositoryView",
    "RobotCredentialsView",
    "RobotListView",
    "RobotPolicyView",
    "RobotRegenerateView",
    "RobotView",
    "TagBulkView",
    "TagDetailsView",
    "TagHistoryView",
    "TagListView",
    "TagNamesView",
    "TagRestoreView",
    "TagSavingsView",
    "TagView",
]
