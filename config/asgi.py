"""ASGI entry point: Django for HTTP, the chat consumer for websockets."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from assistant.consumers import ChatConsumer  # noqa: E402

websocket_urls = [
    path("ws/conversations/<int:conversation_id>/", ChatConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # The consumer checks the Origin header itself: a browser page may
        # only open the socket of the host that served it.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urls)),
    }
)
