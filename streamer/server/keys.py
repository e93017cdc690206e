"""Application keys for the shared services of the storage-backed APIs."""
from __future__ import annotations

from aiohttp import web

from ..monitor.manager import Monitor
from ..store import Store
from .events import EventHub
from .scans import ScanService

STORE_KEY = web.AppKey("store", Store)
HUB_KEY = web.AppKey("hub", EventHub)
SCANS_KEY = web.AppKey("scans", ScanService)
MONITOR_KEY = web.AppKey("monitor", Monitor)
