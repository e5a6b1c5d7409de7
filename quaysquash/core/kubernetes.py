"""Kubernetes text for pulling from this registry: a docker ``config.json``, the
``kubernetes.io/dockerconfigjson`` pull Secret made from it, the ``kubectl create secret`` line
and a Pod naming an image with ``imagePullSecrets``. Shared by the robot credentials dialog and
the Fetch Tag modal, so both show the same Secret for the same robot."""

from __future__ import annotations

import base64
import json
import re

SECRET_TYPE = "kubernetes.io/dockerconfigjson"


def dns_label(value: str, limit: int = 63) -> str:
    """A DNS-1123 label from any text (Kubernetes object and container names)."""
    stem = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return stem[:limit].rstrip("-") or "image"


def secret_name(robot_name: str) -> str:
    """A DNS-1123 name for the robot's pull secret: ``acme+deployer`` → ``acme-deployer-pull-secret``."""
    stem = re.sub(r"[^a-z0-9-]+", "-", robot_name.lower()).strip("-")
    return f"{stem}-pull-secret"[:253]


def docker_config(host: str, username: str, token: str) -> str:
    auth = base64.b64encode(f"{username}:{token}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth, "email": ""}}}, indent=2) + "\n"


def secret_yaml(name: str, config_json: str) -> str:
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


def create_secret_command(name: str, host: str, user: str, password: str) -> str:
    """``kubectl create secret docker-registry``; ``user`` and ``password`` come shell-quoted."""
    return (
        f"kubectl create secret docker-registry {name} --docker-server={host} "
        f"--docker-username={user} --docker-password={password} --namespace=NAMESPACE"
    )


def pod_yaml(name: str, container: str, image: str, pull_secret: str = "") -> str:
    """A Pod running ``image``; ``pull_secret`` names the Secret the kubelet pulls with."""
    # Image references hold only [A-Za-z0-9._:/@-] and never ": ": a plain YAML scalar.
    text = (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  containers:\n"
        f"    - name: {container}\n"
        f"      image: {image}\n"
    )
    if pull_secret:
        text += f"  imagePullSecrets:\n    - name: {pull_secret}\n"
    return text
