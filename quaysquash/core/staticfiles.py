"""WhiteNoise, able to run in an async middleware chain.

WhiteNoise's middleware is sync-only. One sync-only middleware turns Django's whole chain
synchronous: every request, the async squash downloads included, then crosses to the sync
thread and back (``AsyncToSync``) before its view runs — several milliseconds per request,
which on a cached pull of a few hundred MB is a tenth of the transfer. This subclass answers
static files the same way and otherwise hands the request on without leaving the event loop.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs) -> None:
        super().__init__(get_response, *args, **kwargs)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:  # development: looks at the disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
