import asyncio

import pytest

from tests.web.factories import World, world


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Password hashing is deliberately slow; these tests create several users each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def w(db, _fast_passwords) -> World:
    return world()


@pytest.fixture
def app(w, settings, tmp_path):
    """The real debian-app image imported as acme/web:app, into storage under ``tmp_path``."""
    from quaysquash.registry.importer import import_image
    from tests.support.tools import require_debian_app

    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    return import_image(f"{require_debian_app()}:latest", "acme/web:app")


# --- browser tests against the running stack -------------------------------------------------


@pytest.fixture(scope="session")
def ui_data(stack):
    from tests.support.tools import require_debian_app
    from tests.web.browser import seed

    return seed(stack, require_debian_app())


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    from tests.web.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        loop = asyncio._get_running_loop()
        try:
            yield browser
        finally:
            # Tests without the browser hide Playwright's loop (tests/conftest.py); the last
            # of them may be what runs right before this teardown.
            asyncio._set_running_loop(loop)
            browser.close()


@pytest.fixture
def browser_page(chromium, stack):
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()
