import pytest
from django.core.management import CommandError, call_command

from quaysquash.accounts.models import RepositoryPermission, RobotAccount
from quaysquash.accounts.principals import authenticate_credentials
from tests.factories import org, repo

pytestmark = pytest.mark.django_db


def test_it_prints_full_name_and_token_on_two_lines(capsys):
    acme = org("acme")
    repo(acme, "web")
    repo(acme, "team/tools")
    call_command(
        "create_robot", "acme", "deployer", "--repo", "web=read", "--repo", "acme/team/tools=write"
    )
    name, token = capsys.readouterr().out.splitlines()
    assert name == "acme+deployer"
    robot = authenticate_credentials(name, token)
    assert isinstance(robot, RobotAccount)
    roles = {p.repository.name: p.role for p in RepositoryPermission.objects.filter(robot=robot)}
    assert roles == {"web": "read", "team/tools": "write"}


def test_it_refuses_an_unknown_org():
    with pytest.raises(CommandError, match="unknown namespace 'nope'"):
        call_command("create_robot", "nope", "deployer")


def test_it_refuses_a_bad_robot_name():
    org("acme")
    with pytest.raises(CommandError, match="invalid robot name"):
        call_command("create_robot", "acme", "Deployer")
    assert not RobotAccount.objects.exists()


def test_it_refuses_an_unknown_repository_and_creates_nothing():
    acme = org("acme")
    repo(acme, "web")
    with pytest.raises(CommandError, match="unknown repository 'acme/nope'"):
        call_command(
            "create_robot", "acme", "deployer", "--repo", "web=read", "--repo", "nope=read"
        )
    assert not RobotAccount.objects.exists()


def test_it_refuses_an_unknown_role():
    acme = org("acme")
    repo(acme, "web")
    with pytest.raises(CommandError, match="unknown role 'owner'"):
        call_command("create_robot", "acme", "deployer", "--repo", "web=owner")


def test_it_refuses_a_duplicate():
    org("acme")
    call_command("create_robot", "acme", "deployer")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_robot", "acme", "deployer")
