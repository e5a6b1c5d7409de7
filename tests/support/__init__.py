"""The test support layer: real services and real clients, one module for each.

Servers (each a ``server_process.ServerProcess``: its work dir, log, readiness and stop):
``stack`` (a whole quaysquash; ``acme_stack`` for a module's own), ``redis_server``,
``s3_server`` (moto), ``nginx_server``, ``postgres``, ``reference_registry``
(docker-registry), ``balancer``, ``cluster`` (the multi-host fleet); ``daemon`` for the private
``dockerd`` and ``containerd``; ``running`` for a server's lifetime in a temp dir.

Clients and checks: ``dockerd`` (docker), ``podman``, ``skopeo``, ``web_session`` (signing in
with requests), ``basic_auth`` (Basic credentials for every client), ``commands`` (a command
or ``manage.py`` that fails the test with its output), ``waiting``, ``procfs``, ``tools``.
Database objects for in-process tests are built with ``tests/factories.py``.
"""
