"""There is no WSGI entry point: quaysquash needs an ASGI server.

Squashed downloads are streamed from asynchronous iterators of memoryview chunks while they
are built; a WSGI server would answer 500 to a cached squash and hold a cold one whole in
memory. Importing this module fails with a message naming the commands to use instead.
"""

from django.core.exceptions import ImproperlyConfigured

MESSAGE = (
    "quaysquash is an ASGI application and cannot run under a WSGI server: serve "
    "`quaysquash.asgi:application` with uvicorn (`uvicorn quaysquash.asgi:application`), or run "
    "`python manage.py serve` (everything) or `python manage.py runserver` (development)"
)

raise ImproperlyConfigured(MESSAGE)
