"""Live webcam analysis over WebRTC: an aiohttp server, its page in web/, results over a data channel."""
from .app import create_app, serve
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app", "serve"]
