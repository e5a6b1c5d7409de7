"""The real services of the suite, one import away (each lives in its own module here).

New code imports from the module that holds the class: ``stack``, ``redis_server``,
``s3_server``, ``nginx_server``, ``waiting``.
"""

from .commands import MANAGE
from .nginx_server import NginxServer
from .redis_server import RedisServer
from .s3_server import S3Server
from .server_process import LoopbackServer
from .stack import LEAKY_ENV, Stack
from .stack_database import StackDatabase
from .waiting import wait_for

__all__ = [
    "LEAKY_ENV",
    "MANAGE",
    "LoopbackServer",
    "NginxServer",
    "RedisServer",
    "S3Server",
    "Stack",
    "StackDatabase",
    "wait_for",
]
