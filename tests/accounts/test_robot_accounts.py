import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from quaysquash.accounts.models import TOKEN_ALPHABET, RobotAccount
from quaysquash.accounts.principals import authenticate_credentials
from tests.factories import org, robot, wrong_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("short", ["deployer", "ci_2", "a1"])
def test_it_accepts_valid_short_names(short):
    r = RobotAccount(namespace=org("acme"), short_name=short, token_encrypted="x")
    r.full_clean()


@pytest.mark.parametrize("short", ["a", "1abc", "Deployer", "de-ployer", "de+x", "x" * 256, ""])
def test_it_rejects_invalid_short_names(short):
    r = RobotAccount(namespace=org("acme"), short_name=short, token_encrypted="x")
    with pytest.raises(ValidationError):
        r.full_clean()


def test_it_names_robots_namespace_plus_short():
    assert robot(org("acme"), "deployer").full_name == "acme+deployer"


def test_it_generates_64_character_tokens():
    token = robot(org("acme"), "deployer").token
    assert len(token) == 64
    assert set(token) <= set(TOKEN_ALPHABET)


def test_it_keeps_the_token_out_of_the_raw_database_row():
    r = robot(org("acme"), "deployer")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_robotaccount WHERE id = %s", [r.pk])
        row = cursor.fetchone()
    dump = " ".join(str(value) for value in row)
    assert r.token not in dump
    assert r.token.lower() not in dump.lower()


def test_it_authenticates_with_the_right_token_only():
    r = robot(org("acme"), "deployer")
    assert authenticate_credentials("acme+deployer", r.token) == r
    assert authenticate_credentials("acme+deployer", wrong_token(r.token)) is None
    assert authenticate_credentials("acme+deployer", "") is None
    assert authenticate_credentials("acme+nobody", r.token) is None


def test_it_records_last_used_on_authentication():
    r = robot(org("acme"), "deployer")
    assert r.last_used is None
    authenticate_credentials("acme+deployer", r.token)
    r.refresh_from_db()
    assert r.last_used is not None


def test_it_invalidates_the_old_token_on_regenerate():
    r = robot(org("acme"), "deployer")
    old = r.token
    new = r.regenerate_token()
    assert new != old
    assert authenticate_credentials("acme+deployer", old) is None
    assert authenticate_credentials("acme+deployer", new) == RobotAccount.objects.get(pk=r.pk)


def test_it_deletes_robots_with_their_permissions():
    r = robot(org("acme"), "deployer")
    r.delete()
    assert authenticate_credentials("acme+deployer", "x" * 64) is None
