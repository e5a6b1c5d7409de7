"""The reserved squashed namespaces and the names under them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from quaysquash.accounts.names import validate_namespace_name
from quaysquash.squash import pullnames


def test_it_parses_squashed_names_and_nothing_else():
    assert pullnames.parse("squashed/acme/web").source == "acme/web"
    assert pullnames.parse("squashed-zstd/acme/team/web").compression == "zstd"
    assert pullnames.parse("squashed/web") is None and pullnames.parse("acme/web") is None
    assert pullnames.pull_command("h:5000", "acme/web", "v1") == (
        "docker pull h:5000/squashed/acme/web:v1"
    )


@pytest.mark.parametrize("name", ["squashed", "squashed-zstd"])
def test_it_reserves_the_squashed_namespaces(name):
    with pytest.raises(ValidationError):
        validate_namespace_name(name)
    validate_namespace_name(name + "x")
