"""From an HTTP request to a cache key: who asks, which repository, tag, manifest and platform.

Everything here is synchronous ORM work; async views call it once through ``sync_to_async``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse

from quaysquash.accounts.models import Repository
from quaysquash.accounts.principals import (
    BadCredentials,
    Principal,
    is_anonymous,
    is_robot,
    principal_from_request,
    principal_name,
)
from quaysquash.proxy import pullthrough
from quaysquash.registry import mediatypes as mt
from quaysquash.registry.models import Manifest, Tag
from quaysquash.registry.storage import get_storage

from .cache import Key
from .models import COMPRESSIONS, FORMATS, PullLog

DEFAULT_PLATFORM = "linux/amd64"

# Layer media types that are tar archives (the engine squashes nothing else).
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
TAR_LAYERS = frozenset(
    {
        mt.OCI_LAYER,
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_ZSTD,
        OCI_LAYER_NONDIST,
        mt.OCI_LAYER_NONDIST_GZIP,
        OCI_LAYER_NONDIST_ZSTD,
        DOCKER_LAYER,
        mt.DOCKER_LAYER_GZIP,
        DOCKER_LAYER_ZSTD,
        mt.DOCKER_FOREIGN_LAYER,
    }
)
# The error code of a pull of something that is not a container image (docs/squash-delivery.md).
NOT_AN_IMAGE = "NOT_AN_IMAGE"


class SquashHTTPError(Exception):
    """An error answered before any byte of the image: JSON body in the registry's shape."""

    def __init__(
        self, status: int, code: str, message: str, detail: object = None, headers=None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        error: dict = {"code": self.code, "message": str(self)}
        if self.detail is not None:
            error["detail"] = self.detail
        response = HttpResponse(
            json.dumps({"errors": [error]}), status=self.status, content_type="application/json"
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def unauthorized(message: str = "authentication required") -> SquashHTTPError:
    return SquashHTTPError(
        401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": 'Basic realm="quaysquash"'}
    )


def not_found(what: str = "repository") -> SquashHTTPError:
    return SquashHTTPError(404, "NAME_UNKNOWN", f"{what} not found")


@dataclass
class Options:
    platform: str | None
    format: str
    compression: str

    @classmethod
    def from_query(cls, query) -> Options:
        fmt = query.get("format") or "docker"
        compression = query.get("compression") or "none"
        if fmt not in FORMATS:
            raise SquashHTTPError(400, "UNSUPPORTED", f"format must be one of {', '.join(FORMATS)}")
        if compression not in COMPRESSIONS:
            raise SquashHTTPError(
                400, "UNSUPPORTED", f"compression must be one of {', '.join(COMPRESSIONS)}"
            )
        return cls(query.get("platform") or None, fmt, compression)


@dataclass
class Target:
    """A resolved pull: the principal, the repository and exactly which image to squash."""

    principal: Principal
    repository: Repository
    tag: str
    manifest: Manifest  # the manifest the tag or digest names (may be an index)
    image_manifest: Manifest  # the single-platform image
    key: Key
    archive_tag: str = ""  # the tag to name the image after when the pull is by digest

    @property
    def repo_tag(self) -> str | None:
        name = self.tag or self.archive_tag
        if not name:
            return None
        return f"{settings.QS_SERVER_HOSTNAME}/{self.repository.full_name}:{name}"

    def log_fields(self) -> dict:
        if is_anonymous(self.principal):
            kind = PullLog.Kind.ANONYMOUS
        elif is_robot(self.principal):
            kind = PullLog.Kind.ROBOT
        else:
            kind = PullLog.Kind.USER
        return {
            "principal": principal_name(self.principal),
            "principal_kind": kind,
            "repository_id": self.repository.pk,
            "repository_name": self.repository.full_name,
            "tag": self.tag,
            "manifest_digest": self.manifest.digest,
            "platform": self.key.platform,
            "format": self.key.format,
            "compression": self.key.compression,
        }


def authenticate(request) -> Principal:
    try:
        return principal_from_request(request)
    except BadCredentials as exc:
        raise unauthorized(str(exc) or "invalid credentials") from None


def find_repository(principal: Principal, namespace: str, name: str) -> Repository:
    """The repository if ``principal`` may read it. A caller without read gets the same 404 as
    for a missing one, except an anonymous caller, who is asked to authenticate."""
    repo = (
        Repository.objects.restrict(principal, "read")
        .select_related("namespace")
        .filter(namespace__name=namespace, name=name)
        .first()
    )
    if repo is not None:
        return repo
    if is_anonymous(principal):
        # Same answer whether or not it exists, so anonymous callers learn nothing either.
        raise unauthorized()
    raise not_found()


def _image_platform(manifest: Manifest) -> str:
    if manifest.config_blob_id is None:
        return ""
    try:
        return _config_platform(manifest.config_blob.digest)
    except (OSError, ValueError):
        return ""  # not cached: a blob missing now may be back later


@lru_cache(maxsize=1024)
def _config_platform(digest: str) -> str:
    # Content-addressed, so never stale: spares every pull a storage read (a GET on S3).
    with get_storage().open(digest) as fh:
        config = json.loads(fh.read())
    parts = [config.get("os", ""), config.get("architecture", "")]
    if config.get("variant"):
        parts.append(config["variant"])
    return "/".join(p for p in parts if p) if all(parts[:2]) else ""


def _same_platform(wanted: str, have: str) -> bool:
    if wanted == have:
        return True
    # linux/arm64 and linux/arm64/v8 name the same thing.
    return wanted.split("/")[:2] == have.split("/")[:2] and (
        len(wanted.split("/")) == 2 or len(have.split("/")) == 2
    )


def choose_platform(manifest: Manifest, wanted: str | None) -> tuple[Manifest, str]:
    """The single-platform image of ``manifest`` for ``wanted`` (default linux/amd64 or the
    only one); 404 listing the available platforms otherwise."""
    if not manifest.is_index:
        platform = _image_platform(manifest)
        if wanted and platform and not _same_platform(wanted, platform):
            raise SquashHTTPError(
                404,
                "MANIFEST_UNKNOWN",
                f"platform {wanted} not found; available: {platform}",
                detail={"available": [platform]},
            )
        return manifest, platform
    children = list(manifest.children.select_related("child").all())
    available = [c.platform for c in children]
    candidates = [c for c in children if c.child.config_blob_id is not None]
    chosen = None
    if wanted:
        chosen = next((c for c in candidates if c.platform == wanted), None) or next(
            (c for c in candidates if _same_platform(wanted, c.platform)), None
        )
    else:
        chosen = next((c for c in candidates if c.platform == DEFAULT_PLATFORM), None)
        if chosen is None and len(candidates) == 1:
            chosen = candidates[0]
    if chosen is None:
        what = f"platform {wanted} not found" if wanted else "this image index needs ?platform="
        raise SquashHTTPError(
            404,
            "MANIFEST_UNKNOWN",
            f"{what}; available: {', '.join(available) or 'none'}",
            detail={"available": available},
        )
    return chosen.child, chosen.platform


def not_an_image(why: str, config_type: str, layer_types: list[str]) -> SquashHTTPError:
    return SquashHTTPError(
        415,
        NOT_AN_IMAGE,
        f"not a container image: {why}",
        detail={"configMediaType": config_type, "layerMediaTypes": layer_types},
    )


def require_container_image(image: Manifest) -> None:
    """415 NOT_AN_IMAGE unless ``image`` is a container image: an image config and tar layers.

    Decided from the manifest alone, before any build is queued: a Helm chart or an ORAS
    artifact would otherwise give a loadable fake image or a "corrupt layer" failure.
    """
    if image.is_index or image.config_blob_id is None:
        raise not_an_image("the manifest has no image config", "", [])
    try:
        config = json.loads(bytes(image.raw)).get("config") or {}
        config_type = str(config.get("mediaType") or "")
    except (ValueError, AttributeError):
        config_type = ""
    layer_types = list(image.layers.order_by("position").values_list("media_type", flat=True))
    if config_type not in mt.IMAGE_CONFIGS:
        raise not_an_image(f"config media type {config_type!r}", config_type, layer_types)
    odd = [t for t in layer_types if t not in TAR_LAYERS]
    if odd:
        raise not_an_image(f"layer media type {odd[0]!r} is not a tar", config_type, layer_types)


def resolve(
    request, namespace: str, name: str, tag: str | None, digest: str | None, options: Options
) -> Target:
    principal = authenticate(request)
    pullthrough.squash_source(principal, namespace, name, tag, digest, options.platform)
    repo = find_repository(principal, namespace, name)
    if digest:
        manifest = (
            Manifest.objects.filter(repository=repo, digest=digest)
            .select_related("config_blob")
            .first()
        )
        if manifest is None:
            raise SquashHTTPError(404, "MANIFEST_UNKNOWN", f"manifest {digest} not found")
    else:
        found = (
            Tag.objects.active()
            .filter(repository=repo, name=tag)
            .select_related("manifest__config_blob")
            .first()
        )
        if found is None:
            raise SquashHTTPError(404, "MANIFEST_UNKNOWN", f"tag {tag} not found")
        manifest = found.manifest
    image, platform = choose_platform(manifest, options.platform)
    require_container_image(image)
    key = Key(repo, manifest.digest, platform, options.format, options.compression)
    target = Target(principal, repo, tag or "", manifest, image, key)
    if digest:
        # The archive's image name comes from the pull that starts the build; a digest pull
        # names it after a tag on that manifest if there is one, so that a later tag pull
        # sharing the cached blob still loads a named image.
        named = Tag.objects.active().filter(repository=repo, manifest=manifest).order_by("name")
        target.archive_tag = named.values_list("name", flat=True).first() or ""
    return target


def split_repository(path: str) -> tuple[str, str]:
    namespace, _, name = path.partition("/")
    if not namespace or not name:
        raise not_found()
    return namespace, name
