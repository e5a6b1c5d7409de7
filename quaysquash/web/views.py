"""Quay-style pages. Data changes go through the JSON API (static/qs/app.js); these views only
render what the signed-in user may read, using the same permission query as the registry."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission, RobotAccount
from quaysquash.core import commands
from quaysquash.registry.models import Tag
from quaysquash.registry.taghistory import HISTORY_PAGE_SIZE, history_events, history_queryset
from quaysquash.registry.tagrows import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    build_rows,
    page_of,
    parse_sort,
    tag_queryset,
)

REPO_TABS = ("info", "tags", "history", "settings")
ROBOTS_PER_PAGE = 20


class SignInView(auth_views.LoginView):
    template_name = "web/signin.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    next_page = "/"


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    try:
        return max(int(request.GET.get(name, default)), 1)
    except ValueError:
        return default


def home(request: HttpRequest) -> HttpResponse:
    """Every repository the visitor may read, with links to the namespaces they belong to."""
    user = access.principal_of(request)
    page, query = _repositories(request, None)
    namespaces: list[Namespace] = []
    if user is not None:
        namespaces = list(
            Namespace.objects.filter(Q(owner=user) | Q(admins=user) | Q(members=user)).distinct()
        )
    return render(
        request,
        "web/repository_list.html",
        {"title": "Repositories", "page": page, "query": query, "namespaces": namespaces},
    )


def _repositories(request: HttpRequest, namespace: Namespace | None):
    principal = access.principal_of(request)
    qs = Repository.objects.restrict(principal, "read").select_related("namespace")
    if namespace is not None:
        qs = qs.filter(namespace=namespace)
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(description__icontains=query))
    active = Q(tags__lifetime_end__isnull=True)
    qs = qs.annotate(
        tag_count=Count("tags", filter=active, distinct=True),
        last_modified=Max("tags__lifetime_start", filter=active),
    ).order_by("namespace__name", "name")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return page, query


def user_page(request: HttpRequest, name: str) -> HttpResponse:
    namespace = access.namespace_or_404(name)
    if namespace.is_organization:
        return redirect("web-organization", org=name)
    return _namespace_page(request, namespace)


def organization_page(request: HttpRequest, org: str) -> HttpResponse:
    namespace = access.namespace_or_404(org)
    return _namespace_page(request, namespace)


def _namespace_page(request: HttpRequest, namespace: Namespace) -> HttpResponse:
    principal = access.principal_of(request)
    tab = request.GET.get("tab", "repos")
    if tab not in ("repos", "robots"):
        tab = "repos"
    is_admin = namespace.is_admin(principal)
    context: dict = {
        "namespace": namespace,
        "tab": tab,
        "is_admin": is_admin,
        "title": namespace.name,
    }
    if tab == "repos":
        context["page"], context["query"] = _repositories(request, namespace)
    elif is_admin:
        # Names and descriptions only: tokens are fetched from the API when an admin asks.
        query = request.GET.get("q", "").strip()
        robots = RobotAccount.objects.filter(namespace=namespace)
        if query:
            robots = robots.filter(Q(short_name__icontains=query) | Q(description__icontains=query))
        robots = robots.annotate(repo_count=Count("permissions")).order_by("short_name")
        page = Paginator(robots, ROBOTS_PER_PAGE).get_page(request.GET.get("page"))
        context["robots"] = list(page)
        context["robot_page"] = page
        context["robot_query"] = query
        context["repositories"] = list(
            Repository.objects.filter(namespace=namespace).order_by("name").values("name")
        )
        context["page_config"] = {
            "namespace": namespace.name,
            "repositories": [r["name"] for r in context["repositories"]],
            "robotTokenDays": namespace.robot_token_days,
        }
    return render(request, "web/namespace.html", context)


def repository_page(request: HttpRequest, ns: str, repo: str) -> HttpResponse:
    principal = access.principal_of(request)
    repository = access.readable_repository(principal, ns, repo)
    tab = request.GET.get("tab", "info")
    if tab not in REPO_TABS:
        tab = "info"
    can_write = access.can(principal, repository, "write")
    can_admin = access.can(principal, repository, "admin")
    if tab == "settings" and not can_admin:
        tab = "info"
    is_ns_admin = repository.namespace.is_admin(principal)
    context: dict = {
        "repo": repository,
        "tab": tab,
        "tabs": [t for t in REPO_TABS if t != "settings" or can_admin],
        "can_write": can_write,
        "can_admin": can_admin,
        "title": repository.full_name,
        "page_config": (
            {
                "namespace": repository.namespace.name,
                "repository": repository.name,
                "isPublic": repository.is_public,
                "isNamespaceAdmin": is_ns_admin,
                "canSeeRobots": access.can_see_robots(principal, repository.namespace),
                "canWrite": can_write,
                "canAdmin": can_admin,
                "formats": commands.FORMATS,
                "formatHelp": commands.FORMAT_HELP,
                "squashFormats": list(commands.SQUASH_FORMATS),
                "archiveFormats": list(commands.ARCHIVE_FORMATS),
            }
        ),
    }
    if tab == "info":
        context.update(_info_context(repository))
    elif tab == "tags":
        context.update(_tags_context(request, repository))
    elif tab == "history":
        context.update(_history_context(request, repository))
    elif tab == "settings":
        context["permissions"] = list(
            RepositoryPermission.objects.filter(repository=repository)
            .select_related("user", "robot__namespace")
            .order_by("robot__short_name", "user__username")
        )
        context["robots"] = list(
            RobotAccount.objects.filter(namespace=repository.namespace).order_by("short_name")
        )
    return render(request, "web/repository.html", context)


def _info_context(repo: Repository) -> dict:
    ref = f"{commands.registry_host()}/{repo.full_name}"
    latest = Tag.objects.active().filter(repository=repo).order_by("-lifetime_start").first()
    tag = latest.name if latest else "latest"
    robot = "" if repo.is_public else f"{repo.namespace.name}+ROBOT"
    squash = commands.fetch_command(
        commands.FetchRequest(
            namespace=repo.namespace.name,
            repo=repo.name,
            tag=tag,
            digest="",
            format="squash-docker",
            robot_name=robot,
        )
    )
    return {
        "pull_commands": [
            ("Docker", f"docker pull {ref}:{tag}"),
            (
                "Podman",
                commands.fetch_command(
                    commands.FetchRequest(repo.namespace.name, repo.name, tag, "", "podman-tag")
                ),
            ),
            ("Squashed Docker Image", squash),
            (
                commands.FORMATS["squash-pull"],
                commands.fetch_command(
                    commands.FetchRequest(repo.namespace.name, repo.name, tag, "", "squash-pull")
                ),
            ),
        ],
        "tag_count": Tag.objects.active().filter(repository=repo).count(),
    }


def _tags_context(request: HttpRequest, repo: Repository) -> dict:
    limit = _int_param(request, "limit", DEFAULT_PAGE_SIZE)
    if limit not in PAGE_SIZES:
        limit = DEFAULT_PAGE_SIZE
    page = _int_param(request, "page", 1)
    query = request.GET.get("filter", "").strip()
    sort = parse_sort(request.GET.get("sort", ""))
    qs = tag_queryset(repo, name_filter=query, sort=sort)
    tags, more = page_of(qs, page, limit)
    total = qs.count()
    first = (page - 1) * limit + 1 if tags else 0
    rows = build_rows(tags, shared=True)
    # The page's manifests that several tags share: "select all tags of this manifest".
    shared: dict[str, dict] = {}
    for row in rows:
        if row.shared_with and row.digest not in shared:
            shared[row.digest] = {
                "digest": row.digest,
                "marker": row.marker,
                "count": len(row.shared_with) + 1,
            }
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for column, label in (
        ("tag", "Tag"),
        ("modified", "Last Modified"),
        ("size", "Size"),
        ("expires", "Expires"),
        ("manifest", "Manifest"),
    ):
        active = column == key
        # A click on the sorted column flips it; another column starts ascending (dates:
        # newest first, as Quay does).
        if active:
            next_sort = column if descending else f"-{column}"
        else:
            next_sort = f"-{column}" if column == "modified" else column
        columns.append(
            {
                "key": column,
                "label": label,
                "active": active,
                "aria_sort": ("descending" if descending else "ascending") if active else "none",
                "href": "?"
                + urlencode({"tab": "tags", "filter": query, "limit": limit, "sort": next_sort}),
            }
        )
    return {
        "rows": rows,
        "filter": query,
        "sort": sort,
        "columns": columns,
        "shared_manifests": list(shared.values()),
        "page_number": page,
        "limit": limit,
        "page_sizes": PAGE_SIZES,
        "has_next": more,
        "has_previous": page > 1,
        "total": total,
        "first_index": first,
        "last_index": first + len(tags) - 1 if tags else 0,
        "page_query": urlencode({"tab": "tags", "filter": query, "limit": limit, "sort": sort}),
    }


def _history_context(request: HttpRequest, repo: Repository) -> dict:
    page = _int_param(request, "page", 1)
    query = request.GET.get("filter", "").strip()
    future = request.GET.get("future") == "1"
    rows, more = page_of(history_queryset(repo, query), page, HISTORY_PAGE_SIZE)
    return {
        "events": history_events(rows, repo, future=future),
        "filter": query,
        "future": future,
        "page_number": page,
        "has_next": more,
        "has_previous": page > 1,
    }


def repository_redirect(request: HttpRequest, ns: str, repo: str) -> HttpResponse:
    # Quay accepts a trailing slash; keep one canonical address.
    return redirect(
        reverse("web-repository", kwargs={"ns": ns, "repo": repo})
        + (f"?{request.GET.urlencode()}" if request.GET else "")
    )
