"""The Django admin pages for robots work for a superuser, and tokens stay hidden from others."""

import pytest
from django.urls import reverse

from quaysquash.accounts import grants
from quaysquash.accounts.models import RepositoryPermission
from tests.factories import org, repo, robot, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    root = user("root", is_superuser=True, is_staff=True)
    acme = org("acme")
    web = repo(acme, "web")
    api = repo(acme, "api")
    deployer = robot(acme, "deployer")
    grants.set_role(web, deployer, "write")
    return {"root": root, "acme": acme, "web": web, "api": api, "robot": deployer}


def test_it_lists_robots_with_their_namespace(client, setup):
    client.force_login(setup["root"])
    response = client.get(reverse("admin:accounts_robotaccount_changelist"))
    assert response.status_code == 200
    assert b"acme+deployer" in response.content


def test_it_searches_and_filters_robots(client, setup):
    client.force_login(setup["root"])
    url = reverse("admin:accounts_robotaccount_changelist")
    assert b"acme+deployer" in client.get(url, {"q": "deploy"}).content
    assert b"acme+deployer" not in client.get(url, {"q": "nothing-like-it"}).content
    assert client.get(url, {"last_used__isempty": "1"}).status_code == 200


def test_it_shows_permissions_inline_and_the_token_to_superusers(client, setup):
    client.force_login(setup["root"])
    response = client.get(reverse("admin:accounts_robotaccount_change", args=[setup["robot"].pk]))
    assert response.status_code == 200
    assert setup["robot"].token.encode() in response.content
    assert b"acme/web" in response.content


def test_it_hides_the_token_from_staff_who_are_not_org_admins(client, setup):
    from django.contrib.auth.models import Permission

    staff = user("staff", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="robotaccount"))
    client.force_login(staff)
    response = client.get(reverse("admin:accounts_robotaccount_change", args=[setup["robot"].pk]))
    assert response.status_code == 200
    assert setup["robot"].token.encode() not in response.content


def test_it_shows_the_token_to_staff_who_admin_the_org(client, setup):
    from django.contrib.auth.models import Permission

    staff = user("staff", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="robotaccount"))
    setup["acme"].admins.add(staff)
    client.force_login(staff)
    response = client.get(reverse("admin:accounts_robotaccount_change", args=[setup["robot"].pk]))
    assert setup["robot"].token.encode() in response.content


def test_it_regenerates_tokens_from_the_action(client, setup):
    client.force_login(setup["root"])
    old = setup["robot"].token
    response = client.post(
        reverse("admin:accounts_robotaccount_changelist"),
        {"action": "regenerate_tokens", "_selected_action": [setup["robot"].pk]},
    )
    assert response.status_code == 302
    setup["robot"].refresh_from_db()
    assert setup["robot"].token != old


def test_it_grants_read_on_chosen_repositories(client, setup):
    client.force_login(setup["root"])
    url = reverse("admin:accounts_robotaccount_changelist")
    form = client.post(url, {"action": "grant_read", "_selected_action": [setup["robot"].pk]})
    assert form.status_code == 200
    assert b"acme/api" in form.content
    done = client.post(
        url,
        {
            "action": "grant_read",
            "_selected_action": [setup["robot"].pk],
            "apply": "1",
            "repositories": [setup["api"].pk],
        },
    )
    assert done.status_code == 302
    perm = RepositoryPermission.objects.get(robot=setup["robot"], repository=setup["api"])
    assert perm.role == "read"


def test_it_adds_robots_from_the_admin(client, setup):
    client.force_login(setup["root"])
    response = client.post(
        reverse("admin:accounts_robotaccount_add"),
        {
            "namespace": setup["acme"].pk,
            "short_name": "builder",
            "description": "CI",
            "permissions-TOTAL_FORMS": "1",
            "permissions-INITIAL_FORMS": "0",
            "permissions-0-repository": setup["web"].pk,
            "permissions-0-role": "read",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    perm = RepositoryPermission.objects.get(robot__short_name="builder")
    assert perm.role == "read" and len(perm.robot.token) == 64


@pytest.mark.django_db(transaction=True)
def test_it_never_shows_one_request_the_token_decision_of_another(live_server):
    """A superuser and a staff user who may not see tokens open the robot page at the same
    moment, over and over, on a threaded live server: the staff user never gets the token."""
    import threading

    import requests
    from django.contrib.auth.models import Permission
    from django.test import Client

    root = user("root", is_superuser=True, is_staff=True)
    staff = user("staff", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="robotaccount"))
    deployer = robot(org("acme"), "deployer")
    url = live_server.url + reverse("admin:accounts_robotaccount_change", args=[deployer.pk])

    def session_for(who) -> requests.Session:
        client = Client()
        client.force_login(who)
        session = requests.Session()
        session.cookies.set("sessionid", client.cookies["sessionid"].value)
        return session

    rounds = 40
    barrier = threading.Barrier(2)
    seen: dict[str, list[bool]] = {"root": [], "staff": []}
    failures: list[BaseException] = []

    def look(name: str, session: requests.Session) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                response = session.get(url, timeout=30)
                assert response.status_code == 200, response.status_code
                seen[name].append(deployer.token in response.text)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=look, args=("root", session_for(root))),
        threading.Thread(target=look, args=("staff", session_for(staff))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert seen["root"] == [True] * rounds
    assert seen["staff"] == [False] * rounds
