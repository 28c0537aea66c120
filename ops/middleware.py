"""Probe paths answered first, before any other middleware (see ops/views.py)."""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.utils.decorators import sync_and_async_middleware

from ops.views import PATHS


@sync_and_async_middleware
def probes(get_response):
    if iscoroutinefunction(get_response):

        async def async_middleware(request):
            view = PATHS.get(request.path_info)
            if view is None or request.method not in ("GET", "HEAD"):
                return await get_response(request)
            # The checks block (database, Redis), so they run in the request's
            # worker thread, as Django runs a sync view.
            return await sync_to_async(view)(request)

        return async_middleware

    def middleware(request):
        view = PATHS.get(request.path_info)
        if view is None or request.method not in ("GET", "HEAD"):
            return get_response(request)
        return view(request)

    return middleware
