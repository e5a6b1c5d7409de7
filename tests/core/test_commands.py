"""quaysquash.core.commands: quoting and the commands the modal shows."""

import base64
import json
import shlex

import pytest
import yaml

from quaysquash.core.commands import FetchRequest, fetch_command, fetch_kubernetes, shell_quote


def test_it_quotes_embedded_single_quotes():
    assert shell_quote("a'b") == "'a'\"'\"'b'"
    assert shlex.split("echo " + shell_quote("it's $HOME")) == ["echo", "it's $HOME"]


def test_it_builds_a_squashed_command_that_a_shell_splits_as_intended(settings):
    settings.QS_SERVER_HOSTNAME = "h:1"
    cmd = fetch_command(
        FetchRequest("acme", "team/cli", "v1", "", "squash-docker", "acme+x", "T'K", "linux/arm64")
    )
    left, pipe, right = cmd.partition(" | ")
    assert shlex.split(left) == [
        "curl",
        "-fL",
        "-u",
        "acme+x:T'K",
        "http://h:1/c1/squash/acme/team/cli/v1?platform=linux/arm64",
    ]
    assert right == "docker load"


def test_it_names_the_oci_archive_after_the_repository_and_tag():
    cmd = fetch_command(FetchRequest("acme", "team/cli", "1.0", "", "squash-oci"))
    assert cmd.endswith("-o 'cli-1.0.tar' && podman load -i 'cli-1.0.tar'")


def test_it_explains_every_format():
    from quaysquash.core.commands import FORMAT_HELP, FORMATS

    assert set(FORMAT_HELP) == set(FORMATS)
    assert "robot account" in FORMAT_HELP["squash-docker"]


def _pull(settings, **kw) -> FetchRequest:
    settings.QS_SERVER_HOSTNAME = "reg.example:8000"
    settings.QS_PREFERRED_URL_SCHEME = "http"
    return FetchRequest("acme", "team/web", "v1", "sha256:" + "a" * 64, "squash-pull", **kw)


def test_it_logs_in_then_pulls_the_squashed_name(settings):
    cmd = fetch_command(_pull(settings, robot_name="acme+x", token="T'K"))
    login, pull = cmd.split("\n")
    assert shlex.split(login) == [
        "docker",
        "login",
        "-u",
        "acme+x",
        "-p",
        "T'K",
        "reg.example:8000",
    ]
    assert pull == "docker pull reg.example:8000/squashed/acme/team/web:v1"


def test_it_builds_the_podman_form_with_tls_off_on_plain_http(settings):
    cmd = fetch_command(_pull(settings, robot_name="acme+x", client="podman"))
    assert cmd == (
        "podman login --tls-verify=false -u 'acme+x' -p 'TOKEN' reg.example:8000\n"
        "podman pull --tls-verify=false reg.example:8000/squashed/acme/team/web:v1"
    )
    req = _pull(settings, client="podman")
    settings.QS_PREFERRED_URL_SCHEME = "https"
    assert "--tls-verify" not in fetch_command(req)


def test_it_pulls_anonymously_without_a_login_and_pins_a_squashed_digest(settings):
    digest = "sha256:" + "b" * 64
    assert fetch_command(_pull(settings, squashed_digest=digest)) == (
        f"docker pull reg.example:8000/squashed/acme/team/web@{digest}"
    )


def test_it_refuses_an_unknown_client(settings):
    with pytest.raises(ValueError):
        fetch_command(_pull(settings, client="nerdctl"))


def test_it_builds_a_pull_secret_and_pod_from_the_robot(settings):
    snippet = fetch_kubernetes(_pull(settings, robot_name="acme+x", token="tok:en"))
    secret = yaml.safe_load(snippet.secret)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["name"] == snippet.secret_name == "acme-x-pull-secret"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = config["auths"]["reg.example:8000"]["auth"]
    assert base64.b64decode(auth).decode() == "acme+x:tok:en"
    pod = yaml.safe_load(snippet.pod)
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == "web-v1"
    assert pod["spec"]["containers"] == [
        {"name": "web", "image": "reg.example:8000/squashed/acme/team/web:v1"}
    ]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "acme-x-pull-secret"}]
    assert "--docker-password='tok:en'" in snippet.secret_command


def test_it_never_puts_a_hidden_token_into_the_kubernetes_text(settings):
    snippet = fetch_kubernetes(_pull(settings, robot_name="acme+x"))
    assert snippet.secret == ""
    assert "--docker-password='TOKEN'" in snippet.secret_command
    anonymous = fetch_kubernetes(_pull(settings))
    assert anonymous.secret_name == anonymous.secret_command == ""
    assert "imagePullSecrets" not in anonymous.pod
    assert fetch_kubernetes(FetchRequest("a", "b", "v1", "", "squash-docker")) is None


def test_it_names_pods_with_dns_labels(settings):
    req = _pull(settings)
    req.repo, req.tag = "Team/My_App", "V1.2_rc"
    pod = yaml.safe_load(fetch_kubernetes(req).pod)
    assert pod["metadata"]["name"] == "my-app-v1-2-rc"
    assert pod["spec"]["containers"][0]["name"] == "my-app"
