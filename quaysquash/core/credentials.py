"""What a robot's credentials dialog offers, built on the server from the configured host
(``QS_SERVER_HOSTNAME``) so the page, the API and the tests show the same text: docker and
podman login lines, a docker ``config.json`` and a Kubernetes pull secret."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .commands import login_command, registry_host, shell_quote
from .kubernetes import create_secret_command, docker_config, secret_name, secret_yaml


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


def robot_credentials(robot_name: str, token: str) -> RobotCredentials:
    host = registry_host()
    config = docker_config(host, robot_name, token)
    name = secret_name(robot_name)
    filename = f"{robot_name}-secret.yml"
    return RobotCredentials(
        name=robot_name,
        token=token,
        docker_login=login_command("docker", robot_name, token),
        podman_login=login_command("podman", robot_name, token),
        docker_config=config,
        docker_config_filename="config.json",
        kubernetes_secret=secret_yaml(name, config),
        kubernetes_secret_name=name,
        kubernetes_secret_filename=filename,
        kubectl_apply=f"kubectl create -f {shell_quote(filename)} --namespace=NAMESPACE",
        kubectl_create_secret=create_secret_command(
            name, host, shell_quote(robot_name), shell_quote(token)
        ),
    )
