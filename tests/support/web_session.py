"""Signing in to a running quaysquash's pages with ``requests``, as a browser does (CSRF cookie
and token, Referer), for tests that drive the UI or its API without a browser."""

from __future__ import annotations

import requests


def signed_in(base_url: str, username: str, password: str) -> requests.Session:
    """A session holding ``username``'s session cookie; fails the test if sign-in fails."""
    session = requests.Session()
    assert session.get(f"{base_url}/signin/", timeout=10).status_code == 200
    response = session.post(
        f"{base_url}/signin/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base_url}/signin/"},
        timeout=10,
    )
    assert response.status_code == 200 and "sessionid" in session.cookies, response.text[:300]
    return session


def csrf_headers(session: requests.Session, base_url: str) -> dict[str, str]:
    """Headers an unsafe API request of a signed-in session needs."""
    return {"X-CSRFToken": session.cookies["csrftoken"], "Referer": base_url + "/"}
