"""What a robot's credentials dialog offers, built on the server from the configured host
(``QS_SERVER_HOSTNAME``) so the page, the API and the tests show the same text: docker and
podman login lines, a docker ``config.json`` and a Kubernetes pull secret."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict, dataclass

from django.conf import settings

from .commands import registry_host, shell_quote

SECRET_TYPE = "kubernetes.io/dockerconfigjson"


@dataclass
class RobotCredentials:
    name: str
    token: str
    docker_login: str
    podman_login: str
    docker_config: str  # the text of a config.json
    docker_config_filename: str
    kubernetes_secret: str  # the YAML of a Secret
    kubernetes_secret_name: str
    kubernetes_secret_filename: str
    kubectl_apply: str
    kubectl_create_secret: str

    def as_dict(self) -> dict:
        return asdict(self)


def secret_name(robot_name: str) -> str:
    """A DNS-1123 name for the robot's pull secret: ``acme+deployer`` → ``acme-deployer-pull-secret``."""
    stem = re.sub(r"[^a-z0-9-]+", "-", robot_name.lower()).strip("-")
    return f"{stem}-pull-secret"[:253]


def docker_config(host: str, username: str, token: str) -> str:
    auth = base64.b64encode(f"{username}:{token}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth, "email": ""}}}, indent=2) + "\n"


def kubernetes_secret(name: str, config_json: str) -> str:
    encoded = base64.b64encode(config_json.encode()).decode()
    return (
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"type: {SECRET_TYPE}\n"
        "data:\n"
        f"  .dockerconfigjson: {encoded}\n"
    )


def robot_credentials(robot_name: str, token: str) -> RobotCredentials:
    host = registry_host()
    user = shell_quote(robot_name)
    secret = shell_quote(token)
    # Podman refuses plain-HTTP registries unless told; docker allows loopback ones.
    tls = " --tls-verify=false" if settings.QS_PREFERRED_URL_SCHEME == "http" else ""
    config = docker_config(host, robot_name, token)
    name = secret_name(robot_name)
    filename = f"{robot_name}-secret.yml"
    return RobotCredentials(
        name=robot_name,
        token=token,
        docker_login=f"docker login -u {user} -p {secret} {host}",
        podman_login=f"podman login{tls} -u {user} -p {secret} {host}",
        docker_config=config,
        docker_config_filename="config.json",
        kubernetes_secret=kubernetes_secret(name, config),
        kubernetes_secret_name=name,
        kubernetes_secret_filename=filename,
        kubectl_apply=f"kubectl create -f {shell_quote(filename)} --namespace=NAMESPACE",
        kubectl_create_secret=(
            f"kubectl create secret docker-registry {name} --docker-server={host} "
            f"--docker-username={user} --docker-password={secret} --namespace=NAMESPACE"
        ),
    )
