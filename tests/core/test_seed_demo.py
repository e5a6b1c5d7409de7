"""``manage.py seed_demo``: demo data created once, credentials printed every time."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission, RobotAccount
from quaysquash.core import demo_image
from quaysquash.registry.models import Tag
from tests.support.tools import require_debian_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def isolated(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    monkeypatch.delenv("QS_ADMIN_PASSWORD", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def busybox_layout(tmp_path_factory: pytest.TempPathFactory) -> str:
    layout = demo_image.build_busybox_layout(tmp_path_factory.mktemp("busybox"))
    return f"{layout}:{demo_image.REF_NAME}"


def seed(*args: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    fields = {}
    for line in out.getvalue().splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            fields[key.strip()] = value.strip()
    return fields


def test_it_creates_admin_org_robot_and_image(isolated: Path, busybox_layout: str) -> None:
    fields = seed("--image", busybox_layout)

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password(fields["admin password"])
    org = Namespace.objects.get(name="acme")
    assert org.is_organization
    assert org.admins.filter(pk=admin.pk).exists()
    robot = RobotAccount.objects.get_by_full_name("acme+deployer")
    assert fields["robot"] == "acme+deployer"
    assert fields["robot token"] == robot.token
    repo = Repository.objects.get(namespace=org, name="web")
    assert RepositoryPermission.objects.get(repository=repo, robot=robot).role == "read"
    assert set(Repository.objects.restrict(robot, "read")) >= {repo}
    assert not Repository.objects.restrict(robot, "write").filter(pk=repo.pk).exists()
    tag = Tag.objects.active().get(repository=repo, name="v1")
    index = json.loads((Path(busybox_layout.rsplit(":", 1)[0]) / "index.json").read_text())
    assert tag.manifest.digest == index["manifests"][0]["digest"]
    assert fields["URL"].startswith("http://")


def test_it_is_idempotent(isolated: Path, busybox_layout: str) -> None:
    first = seed("--image", busybox_layout)
    counts = (
        get_user_model().objects.count(),
        Namespace.objects.count(),
        RobotAccount.objects.count(),
        RepositoryPermission.objects.count(),
        Tag.objects.count(),
    )
    second = seed("--image", busybox_layout)
    assert second == {**first, "image": second["image"]}
    assert "already present" in second["image"]
    assert counts == (
        get_user_model().objects.count(),
        Namespace.objects.count(),
        RobotAccount.objects.count(),
        RepositoryPermission.objects.count(),
        Tag.objects.count(),
    )


def test_it_takes_the_admin_password_from_the_environment(
    isolated: Path, busybox_layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QS_ADMIN_PASSWORD", "demo-password-1")
    assert seed("--image", busybox_layout)["admin password"] == "demo-password-1"
    monkeypatch.setenv("QS_ADMIN_PASSWORD", "demo-password-2")
    seed("--image", busybox_layout)
    assert get_user_model().objects.get(username="admin").check_password("demo-password-2")


def test_it_imports_the_shared_image_by_default(isolated: Path) -> None:
    layout = require_debian_app()
    fields = seed()
    index = json.loads((layout / "index.json").read_text())
    tag = Tag.objects.active().get(repository__namespace__name="acme", repository__name="web")
    assert tag.manifest.digest == index["manifests"][0]["digest"]
    assert str(layout) in fields["image"]


def test_it_builds_busybox_when_the_shared_image_is_absent(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quaysquash.core.management.commands import seed_demo

    monkeypatch.setattr(seed_demo, "SHARED_IMAGE", isolated / "no-such-image")
    fields = seed()
    assert (isolated / "var" / "demo-image" / "index.json").is_file()
    assert "demo-image" in fields["image"]
    assert Tag.objects.active().filter(name="v1").count() == 1
