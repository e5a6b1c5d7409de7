import pytest

from quaysquash.accounts.models import Namespace
from tests.factories import user

pytestmark = pytest.mark.django_db


def test_it_gives_each_user_a_namespace():
    alice = user("alice")
    assert Namespace.objects.get(name="alice").owner == alice


def test_it_skips_namespaces_for_names_that_cannot_be_one():
    user("Alice Smith")
    assert not Namespace.objects.filter(name__iexact="alice smith").exists()
