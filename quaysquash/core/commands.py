"""The commands the Fetch Tag modal and the Information tab show, built in one place so that
what the page shows, what the API returns and what the tests run are the same text."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlencode

from django.conf import settings

from quaysquash.squash import pullnames

from . import kubernetes

FORMATS: dict[str, str] = {
    "docker-tag": "Docker Pull (by tag)",
    "docker-digest": "Docker Pull (by digest)",
    "podman-tag": "Podman Pull (by tag)",
    "podman-digest": "Podman Pull (by digest)",
    "squash-docker": "Squashed Docker Image",
    "squash-oci": "Squashed OCI archive (podman load)",
    "squash-pull": "Squashed image (docker/podman pull)",
}
# Formats of the squashed image: images only, with a robot account for private repositories.
SQUASH_FORMATS = ("squash-docker", "squash-oci", "squash-pull")
# The squashed downloads (/c1/squash/): one platform, optional gzip, the squash cache panel. A
# squashed pull serves the whole index and lets the client pick the platform.
ARCHIVE_FORMATS = ("squash-docker", "squash-oci")
CLIENTS = ("docker", "podman")
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
    "squash-pull": (
        "The same single-layer image served by this registry under squashed/: docker, podman "
        "and Kubernetes pull it like any image. Needs a robot account with read permission."
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
    client: str = "docker"  # squash-pull: docker or podman
    squashed_digest: str = ""  # squash-pull: pin the squashed manifest instead of the tag


def _tls_flag(client: str) -> str:
    # Podman refuses plain-HTTP registries unless told; docker allows loopback ones.
    insecure = settings.QS_PREFERRED_URL_SCHEME == "http"
    return " --tls-verify=false" if client == "podman" and insecure else ""


def login_command(client: str, user: str, token: str) -> str:
    """``docker login`` / ``podman login`` to this registry (robot dialog and Fetch Tag)."""
    return (
        f"{client} login{_tls_flag(client)} -u {shell_quote(user)} -p {shell_quote(token)} "
        f"{registry_host()}"
    )


def squashed_image(req: FetchRequest) -> str:
    """The pullable name of the squashed image: ``host/squashed/<ns>/<repo>:<tag>`` (or @digest)."""
    return pullnames.reference(
        registry_host(), f"{req.namespace}/{req.repo}", req.tag, digest=req.squashed_digest
    )


def _squashed_pull(req: FetchRequest) -> str:
    if req.client not in CLIENTS:
        raise ValueError(f"unknown client {req.client!r}")
    pull = f"{req.client} pull{_tls_flag(req.client)} {quote_if_needed(squashed_image(req))}"
    if not req.robot_name:
        return pull
    return login_command(req.client, req.robot_name, req.token or TOKEN_PLACEHOLDER) + "\n" + pull


@dataclass
class KubernetesSnippet:
    pod: str  # YAML of a Pod running the squashed image
    secret_name: str  # empty: anonymous pull, no secret
    secret: str  # YAML of the pull Secret; empty when the caller may not see the token
    secret_command: str  # kubectl create secret … (TOKEN placeholder when hidden)

    def as_dict(self) -> dict:
        return asdict(self)


def fetch_kubernetes(req: FetchRequest) -> KubernetesSnippet | None:
    """What a pod needs to run the squashed image (squash-pull only): a Pod and its pull Secret."""
    if req.format != "squash-pull":
        return None
    host = registry_host()
    last = req.repo.rsplit("/", 1)[-1]
    name = secret = command = ""
    if req.robot_name:
        name = kubernetes.secret_name(req.robot_name)
        if req.token:
            config = kubernetes.docker_config(host, req.robot_name, req.token)
            secret = kubernetes.secret_yaml(name, config)
        command = kubernetes.create_secret_command(
            name, host, shell_quote(req.robot_name), shell_quote(req.token or TOKEN_PLACEHOLDER)
        )
    pod = kubernetes.pod_yaml(
        kubernetes.dns_label(f"{last}-{req.tag}"),
        kubernetes.dns_label(last),
        squashed_image(req),
        name,
    )
    return KubernetesSnippet(pod=pod, secret_name=name, secret=secret, secret_command=command)


def fetch_command(req: FetchRequest) -> str:
    if req.format not in FORMATS:
        raise ValueError(f"unknown format {req.format!r}")
    ref = f"{registry_host()}/{req.namespace}/{req.repo}"
    if req.format == "docker-tag":
        return f"docker pull {quote_if_needed(f'{ref}:{req.tag}')}"
    if req.format == "docker-digest":
        return f"docker pull {quote_if_needed(f'{ref}@{req.digest}')}"
    if req.format in ("podman-tag", "podman-digest"):
        target = f"{ref}:{req.tag}" if req.format == "podman-tag" else f"{ref}@{req.digest}"
        return f"podman pull{_tls_flag('podman')} {quote_if_needed(target)}"
    if req.format == "squash-pull":
        return _squashed_pull(req)
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
