"""``manage.py runserver``: Django's development command line, served by uvicorn (ASGI).

Django's own server is WSGI: it cannot send the memoryview chunks of a cached squash (500,
"write() argument must be a bytes instance") and reads a streamed build whole into memory
before sending a byte. quaysquash is an ASGI application, so this command keeps runserver's
arguments (``[addrport]``, ``--ipv6``, ``--noreload``) and runs ``uvicorn
quaysquash.asgi:application`` instead, reloading on code changes like Django's server.

It only runs the web server: builds need a Celery worker (``celery -A quaysquash worker``), or
use ``manage.py serve``, which runs everything. ``quaysquash.core`` comes before
``django.contrib.staticfiles`` in ``INSTALLED_APPS`` so that this command wins over its
``runserver``; static files are served by the ASGI application itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

from django.conf import settings
from django.core.management.commands.runserver import Command as DjangoRunserver
from django.db import connections

from quaysquash.core import processes


class Command(DjangoRunserver):
    help = "Start the ASGI development server (uvicorn, reloading on code changes)."

    def run(self, **options: Any) -> None:
        # Replaces Django's reloader and WSGI server; handle() has parsed addrport already.
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            self.check(display_num_errors=True)
        self.check_migrations()
        for conn in connections.all(initialized_only=True):
            conn.close()

        host = self.addr
        shown = f"[{host}]" if self._raw_ipv6 else host
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")
        # Generated pull commands and token realms must name the port actually served.
        env.setdefault("QS_SERVER_HOSTNAME", f"{shown}:{self.port}")
        command = processes.web_command(
            host=host,
            port=int(self.port),
            access_log=True,
            # The code only: var/ (database, cache) and the venv are busy or huge to watch.
            reload_dirs=(
                [settings.BASE_DIR / "quaysquash", settings.BASE_DIR / "squashengine"]
                if options["use_reloader"]
                else []
            ),
        )
        self.stdout.write(
            f"Starting ASGI development server (uvicorn) at "
            f"{settings.QS_PREFERRED_URL_SCHEME}://{shown}:{self.port}/\n"
            "Builds need a Celery worker: `celery -A quaysquash worker` (or use "
            "`manage.py serve`). Quit with CONTROL-C."
        )
        self.stdout.flush()
        server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
        # A process manager's SIGTERM stops uvicorn as well, instead of orphaning it.
        signal.signal(signal.SIGTERM, lambda *_: server.send_signal(signal.SIGTERM))
        try:
            code = server.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached uvicorn too (same process group); let it finish its shutdown.
            server.send_signal(signal.SIGINT)
            code = server.wait()
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise SystemExit(code)
