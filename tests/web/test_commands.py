"""quaysquash.core.commands: quoting and the commands the modal shows."""

import shlex

from quaysquash.core.commands import FetchRequest, fetch_command, shell_quote


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
