"""The commands the Fetch Tag modal and the Information tab show, built in one place so that
what the page shows, what the API returns and what the tests run are the same text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings

FORMATS: dict[str, str] = {
    "docker-tag": "Docker Pull (by tag)",
    "docker-digest": "Docker Pull (by digest)",
    "podman-tag": "Podman Pull (by tag)",
    "podman-digest": "Podman Pull (by digest)",
    "squash-docker": "Squashed Docker Image",
    "squash-oci": "Squashed OCI archive (podman load)",
}
SQUASH_FORMATS = ("squash-docker", "squash-oci")
# What each option does, shown under the format list.
FORMAT_HELP: dict[str, str] = {
    "docker-tag": "docker pulls the tag's layers from this registry; the tag may move later.",
    "docker-digest": "docker pulls exactly this manifest, whatever the tag points to later.",
    "podman-tag": "podman pulls the tag's layers from this registry; the tag may move later.",
    "podman-digest": "podman pulls exactly this manifest, whatever the tag points to later.",
    "squash-docker": (
        "One download holding a single layer with all layers applied (deleted and overwritten "
        "files left out), piped into docker load. Needs a robot account with read permission."
    ),
    "squash-oci": (
        "The same single-layer image as an OCI archive file, loaded with podman load. "
        "Needs a robot account with read permission."
    ),
}
TOKEN_PLACEHOLDER = "TOKEN"

_SAFE = re.compile(r"^[A-Za-z0-9@%+=:,./_-]+$")


def shell_quote(value: str) -> str:
    """Single-quote for POSIX shells; an embedded quote becomes '"'"'."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def quote_if_needed(value: str) -> str:
    return value if _SAFE.match(value) else shell_quote(value)


def registry_host() -> str:
    return settings.QS_SERVER_HOSTNAME


def base_url() -> str:
    return f"{settings.QS_PREFERRED_URL_SCHEME}://{settings.QS_SERVER_HOSTNAME}"


def squash_url(
    namespace: str,
    repo: str,
    tag: str,
    *,
    oci: bool = False,
    platform: str = "",
    compressed: bool = False,
) -> str:
    params = {}
    if platform:
        params["platform"] = platform
    if oci:
        params["format"] = "oci"
    if compressed:
        params["compression"] = "gzip"
    path = f"/c1/squash/{quote(namespace)}/{quote(repo)}/{quote(tag)}"
    return base_url() + path + ("?" + urlencode(params, safe="/") if params else "")


def archive_name(repo: str, tag: str) -> str:
    # A file name from the last repository segment and the tag: safe in any shell and directory.
    stem = f"{repo.rsplit('/', 1)[-1]}-{tag}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + ".tar"


@dataclass
class FetchRequest:
    namespace: str
    repo: str
    tag: str
    digest: str
    format: str = "docker-tag"
    robot_name: str = ""  # full name ns+short, empty for anonymous (public repositories)
    token: str = ""  # empty: the caller may not see it, show the placeholder
    platform: str = ""
    compressed: bool = False


def fetch_command(req: FetchRequest) -> str:
    if req.format not in FORMATS:
        raise ValueError(f"unknown format {req.format!r}")
    ref = f"{registry_host()}/{req.namespace}/{req.repo}"
    insecure = settings.QS_PREFERRED_URL_SCHEME == "http"
    if req.format == "docker-tag":
        return f"docker pull {quote_if_needed(f'{ref}:{req.tag}')}"
    if req.format == "docker-digest":
        return f"docker pull {quote_if_needed(f'{ref}@{req.digest}')}"
    if req.format in ("podman-tag", "podman-digest"):
        target = f"{ref}:{req.tag}" if req.format == "podman-tag" else f"{ref}@{req.digest}"
        # Podman refuses plain-HTTP registries unless told; docker allows loopback ones.
        flag = " --tls-verify=false" if insecure else ""
        return f"podman pull{flag} {quote_if_needed(target)}"
    url = squash_url(
        req.namespace,
        req.repo,
        req.tag,
        oci=req.format == "squash-oci",
        platform=req.platform,
        compressed=req.compressed,
    )
    auth = ""
    if req.robot_name:
        auth = f" -u {shell_quote(f'{req.robot_name}:{req.token or TOKEN_PLACEHOLDER}')}"
    curl = f"curl -fL{auth} {shell_quote(url)}"
    if req.format == "squash-docker":
        # docker load detects and decompresses gzip input itself.
        return f"{curl} | docker load"
    name = archive_name(req.repo, req.tag)
    return f"{curl} -o {shell_quote(name)} && podman load -i {shell_quote(name)}"
