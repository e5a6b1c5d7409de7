# The expiry tests use the web tests' world of users, organizations and robots.
from tests.web.conftest import _fast_passwords, w  # noqa: F401
