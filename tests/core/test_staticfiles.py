"""quaysquash.core.staticfiles: WhiteNoise without turning the middleware chain synchronous."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.utils.module_loading import import_string


def test_it_leaves_the_whole_middleware_chain_async(settings):
    # One sync-only middleware makes Django run the whole chain synchronously: every async view
    # (the squash downloads) then crosses to the sync thread and back for each request.
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


@pytest.mark.django_db
def test_it_serves_static_files_to_sync_and_async_callers():
    sync = Client().get("/static/qs/app.css")
    assert sync.status_code == 200
    body = b"".join(sync.streaming_content)
    assert b"{" in body
    assert sync["Content-Type"].startswith("text/css")


@pytest.mark.django_db
def test_it_serves_static_files_in_the_async_chain():
    response = async_to_sync(AsyncClient().get)("/static/qs/app.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")


@pytest.mark.django_db
def test_it_passes_other_requests_on():
    response = async_to_sync(AsyncClient().get)("/static/qs/missing.css")
    assert response.status_code == 404
