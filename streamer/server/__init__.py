"""HTTP only: the aiohttp app (the composition root), its routes, auth, limits, SSE, /metrics, OpenAPI and settings."""
from .app import create_app, serve
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app", "serve"]
