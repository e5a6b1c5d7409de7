"""Who is calling the registry and what they may do to a repository.

Callers authenticate with a bearer token from ``/v2/auth`` or directly with HTTP Basic (user
password or robot token); anything else is anonymous. Browser sessions are deliberately ignored:
registry endpoints are CSRF-exempt, so honouring a session cookie would let any web page push.

The rule that keeps private repositories private: a caller who may not read a repository gets
exactly the answer a missing repository gives — 401 with a Bearer challenge for anonymous callers
(so docker knows to log in), ``NAME_UNKNOWN`` for authenticated pulls, ``DENIED`` for
authenticated writes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import TLRUCache
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction

from quaysquash.accounts.models import Namespace, Repository, RobotAccount
from quaysquash.accounts.names import validate_repository_name
from quaysquash.accounts.principals import (
    BadCredentials,
    Principal,
    allowed_actions,
    ensure_token_current,
    is_anonymous,
    principal_from_basic,
)
from quaysquash.core import shared_state
from quaysquash.proxy.permissions import new_repository_actions
from quaysquash.squash import pullnames

from . import errors, tokens

# Registry (Docker scope) actions satisfied by each permission-model action.
PULL, PUSH, DELETE = "pull", "push", "delete"


@dataclass
class Caller:
    principal: Principal
    # Set when the caller used a bearer token: its scopes cap what the caller may do.
    claims: tokens.TokenClaims | None = None

    @property
    def anonymous(self) -> bool:
        return is_anonymous(self.principal)


def subject_of(principal: Principal) -> str:
    if is_anonymous(principal):
        return "anonymous"
    if isinstance(principal, RobotAccount):
        return f"robot:{principal.pk}"
    return f"user:{principal.pk}"


def principal_of(subject: str) -> Principal:
    kind, _, pk = subject.partition(":")
    if kind == "anonymous":
        return None
    try:
        if kind == "robot":
            robot = RobotAccount.objects.select_related("namespace").get(pk=int(pk))
            ensure_token_current(robot)
            return robot
        if kind == "user":
            user = get_user_model().objects.get(pk=int(pk))
            if user.is_active:
                return user
    except (ValueError, ObjectDoesNotExist):
        pass
    except BadCredentials as exc:
        raise tokens.InvalidToken(str(exc)) from None
    raise tokens.InvalidToken("token subject no longer exists")


def challenge(request, scope: str | Sequence[str] | None = None, error: str | None = None) -> str:
    """The ``WWW-Authenticate`` value; several scopes go space-separated into one ``scope``
    attribute, as the reference registry writes them and token endpoints read them."""
    realm = f"{settings.QS_PREFERRED_URL_SCHEME}://{request.get_host()}/v2/auth"
    parts = [f'realm="{realm}"', f'service="{settings.QS_REGISTRY_SERVICE}"']
    scopes = [scope] if isinstance(scope, str) else list(scope or ())
    if scopes:
        parts.append(f'scope="{" ".join(scopes)}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)


def unauthorized(exc: BadCredentials) -> errors.Unauthorized:
    """The registry's 401 for credentials that do not authenticate (an expired robot token
    says so)."""
    return errors.Unauthorized(str(exc) or "invalid username, password or token")


def caller_from_request(request) -> Caller:
    """Authenticate the request; wrong credentials answer 401, never fall back to anonymous."""
    if hasattr(request, "_registry_caller"):
        return request._registry_caller
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    caller = Caller(None)
    if scheme.lower() == "bearer" and value.strip():
        try:
            claims = tokens.verify(value.strip())
            caller = Caller(principal_of(claims.subject), claims)
        except tokens.InvalidToken as exc:
            raise errors.Unauthorized(f"invalid token: {exc}") from exc
    elif scheme.lower() == "basic":
        try:
            caller = Caller(principal_from_basic(header, request))
        except BadCredentials as exc:
            raise unauthorized(exc) from None
    request._registry_caller = caller
    return caller


def split_name(full_name: str) -> tuple[str, str]:
    namespace, sep, name = full_name.partition("/")
    if not sep or not name:
        raise errors.NameInvalid(
            f"repository name {full_name!r} must be <namespace>/<name>",
            detail={"name": full_name},
        )
    return namespace, name


def find_repository(full_name: str) -> tuple[Namespace | None, Repository | None]:
    ns_name, name = split_name(full_name)
    # One query in the common case (the repository exists); the namespace alone is only
    # needed to decide whether a push may create the repository.
    repository = (
        Repository.objects.select_related("namespace")
        .filter(namespace__name=ns_name, name=name)
        .first()
    )
    if repository is not None:
        return repository.namespace, repository
    return Namespace.objects.filter(name=ns_name).first(), None


def registry_actions(
    principal: Principal, namespace: Namespace | None, repository: Repository | None
) -> set[str]:
    """The Docker scope actions ``principal`` may perform, from the permission model."""
    if repository is not None:
        model = allowed_actions(principal, repository)
        granted = {PULL} if "read" in model else set()
        if "write" in model:
            granted |= {PULL, PUSH, DELETE}
        return granted
    if (
        namespace is not None
        and (proxied := new_repository_actions(principal, namespace)) is not None
    ):
        return proxied  # a proxy organization: pulls create repositories, pushes never do
    # Namespace admins (a user in their own namespace, org admins) create repositories by
    # pushing; robots never do, they only write to repositories that already exist.
    if namespace is not None and namespace.is_admin(principal):
        # Whoever may create it will be able to read it once it exists: a token for a push to a
        # new name needs pull too, as clients check blobs before uploading them.
        return {PULL, PUSH, DELETE}
    return set()


def may(
    principal: Principal, namespace: Namespace | None, repository: Repository | None, action: str
) -> bool:
    """Whether ``principal`` may perform one registry action: the cheap form of
    :func:`registry_actions` for the per-request check (one permission query at most)."""
    if repository is None:
        return action in registry_actions(principal, namespace, None)
    if action == PULL and repository.is_public:
        return True
    needed = "read" if action == PULL else "write"
    return Repository.objects.restrict(principal, needed).filter(pk=repository.pk).exists()


def scope_allows(claims: tokens.TokenClaims, name: str, action: str) -> bool:
    granted = claims.actions_for(name)
    if action == DELETE:
        return bool(granted & {DELETE, PUSH})
    return action in granted


# A push or pull is dozens of requests with the same token on the same repository. Decisions
# for bearer tokens are remembered this many seconds, saving the principal, repository and
# permission queries on each; so a revoked permission stops requests that carry an already
# issued token within this delay (and a new token is refused at once).
DECISION_TTL = 5.0
# Each entry lives until the sooner of DECISION_TTL and its token's own expiry.
_decisions: TLRUCache = TLRUCache(
    maxsize=10000,
    ttu=lambda _key, value, now: now + min(DECISION_TTL, value[0] - time.time()),
    timer=time.monotonic,
)
_decisions_lock = threading.Lock()


def _bearer(request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _recall(key: tuple[str, str, str]) -> Repository | None:
    with _decisions_lock:
        entry = _decisions.get(key)
    return None if entry is None else entry[1]


def _remember(key: tuple[str, str, str], claims: tokens.TokenClaims, repository) -> None:
    if claims.expires_at <= time.time():
        return
    with _decisions_lock:
        _decisions[key] = (claims.expires_at, repository)


def scope_for(full_name: str, action: str) -> str:
    """The scope a token needs for ``action`` (what challenges ask for)."""
    return f"repository:{full_name}:{'pull' if action == PULL else 'pull,push'}"


# Clients differ in which answer makes them fetch a token with more scope. The token spec, the
# reference registry and containerd, go-containerregistry and oras-go use 401 with
# error="insufficient_scope"; oras-py resends the same token once after a 401 and asks for a
# new one only on 403. So a token's first refusal for a request is 401, and the same token
# retrying the same request within this many seconds gets 403 with the same challenge.
REFUSAL_MEMORY = 30.0


def insufficient_scope(request, token: str, scopes: Sequence[str]) -> errors.RegistryError:
    """The refusal of a valid token that lacks a scope its principal could be granted."""
    value = challenge(request, scopes, "insufficient_scope")
    # Remembered in the shared Redis, so a retry landing on another web server counts too;
    # only a hash of the token is kept: tokens are credentials.
    key = hashlib.sha256(
        f"{token}\n{request.method}\n{request.get_full_path()}".encode()
    ).hexdigest()
    if shared_state.first_time(f"refusal:{key}", REFUSAL_MEMORY):
        return errors.Unauthorized("token does not grant this access", challenge=value)
    return errors.Denied("token does not grant this access", challenge=value)


def authorize(
    request,
    full_name: str,
    action: str,
    create: bool = False,
    also: Sequence[str] = (),
) -> Repository:
    """The repository ``full_name`` if the caller may perform ``action`` on it, else raise.

    With ``create`` a push to a name that does not exist yet creates it (private); otherwise a
    missing repository answers ``NAME_UNKNOWN`` even to a caller who could create it. ``also``
    lists further scopes the request will use (a mount's source): challenges ask for them too,
    so a client following the challenge gets one token for the whole request.
    """
    token = _bearer(request)
    key = (token or "", full_name, action)
    if token and (remembered := _recall(key)) is not None:
        return remembered
    caller = caller_from_request(request)
    namespace, repository = find_repository(full_name)
    scopes = [scope_for(full_name, action), *also]
    if not may(caller.principal, namespace, repository, action):
        if caller.anonymous:
            raise errors.Unauthorized(
                challenge=challenge(request, scopes),
                detail=[{"Type": "repository", "Name": full_name, "Action": action}],
            )
        if action == PULL:
            raise errors.NameUnknown(detail={"name": full_name})
        if action == DELETE and not may(caller.principal, namespace, repository, PULL):
            # Distribution spec, "Deleting Manifests": a delete in a repository that does not
            # exist MUST be a 404; one the caller may not read answers the same.
            raise errors.NameUnknown(detail={"name": full_name})
        raise errors.Denied(detail={"name": full_name})
    if caller.claims is not None and not scope_allows(caller.claims, full_name, action):
        raise insufficient_scope(request, token or "", scopes)
    if repository is None:
        if not create:
            raise errors.NameUnknown(detail={"name": full_name})
        repository = create_repository(namespace, split_name(full_name)[1])
    if caller.claims is not None:
        _remember(key, caller.claims, repository)
    return repository


def create_repository(namespace: Namespace, name: str) -> Repository:
    try:
        validate_repository_name(name)
    except ValidationError as exc:
        raise errors.NameInvalid(detail={"name": f"{namespace.name}/{name}"}) from exc
    try:
        with transaction.atomic():
            repository, _ = Repository.objects.get_or_create(
                namespace=namespace, name=name, defaults={"is_public": False}
            )
    except IntegrityError:
        # A concurrent push created it between our lookup and insert.
        repository = Repository.objects.get(namespace=namespace, name=name)
    return repository


def readable_repositories(request):
    caller = caller_from_request(request)
    return Repository.objects.restrict(caller.principal, "read").select_related("namespace")


def grant(principal: Principal, scope: tokens.Scope) -> tokens.Scope:
    """The part of a requested scope the principal may have (possibly no actions)."""
    if scope.type != "repository":
        return tokens.Scope(scope.type, scope.name, set())
    squashed = pullnames.parse(scope.name)
    if squashed is not None:
        # squashed/<repo> is read-only and readable by whoever may pull <repo>.
        source = grant(principal, tokens.Scope(scope.type, squashed.source, scope.actions))
        return tokens.Scope(scope.type, scope.name, source.actions & {PULL})
    try:
        namespace, repository = find_repository(scope.name)
    except errors.RegistryError:
        return tokens.Scope(scope.type, scope.name, set())
    return tokens.Scope(
        scope.type, scope.name, scope.actions & registry_actions(principal, namespace, repository)
    )
