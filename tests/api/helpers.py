"""Small helpers of the API tests (the world they run in is tests/web/conftest.py's ``w``)."""

from __future__ import annotations


def statuses_as(client, user, *urls: str) -> list[int]:
    """The status codes of GETs of ``urls`` as ``user`` (signed in), or anonymously for None."""
    if user is None:
        client.logout()
    else:
        client.force_login(user)
    return [client.get(url).status_code for url in urls]


def put_tag(client, repo: str, tag: str, **body):
    """PUT /api/v1/repository/<repo>/tag/<tag> with the JSON ``body``."""
    return client.put(f"/api/v1/repository/{repo}/tag/{tag}", body, content_type="application/json")
