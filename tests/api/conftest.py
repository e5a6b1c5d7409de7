# The API tests use the web tests' world of users, organizations and robots, and its import of
# debian-app.
from tests.web.conftest import _fast_passwords, app, w  # noqa: F401
