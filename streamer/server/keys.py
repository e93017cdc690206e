"""Every application key, in one place: what the composition root (app.py) puts into the app."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..inference import BatchedModel
from ..memory import HeapTrimmer
from ..model import Model
from ..monitor.manager import Monitor
from ..store import AsyncStore
from .config import ServerConfig
from .events import EventHub
from .limits import Slots
from .scans import ScanService
from .sessions import SessionManager
from .signins import SignIns
from .thumbnails import Thumbnails

if TYPE_CHECKING:
    from .whip_routes import WhipEndpoint  # imports these keys itself

CFG_KEY = web.AppKey("cfg", ServerConfig)
MODEL_KEY = web.AppKey("model", Model)
INFERENCE_KEY = web.AppKey("inference", BatchedModel)
SESSIONS_KEY = web.AppKey("sessions", SessionManager)
SIGNINS_KEY = web.AppKey("signins", SignIns)
STORE_KEY = web.AppKey("store", AsyncStore)
HUB_KEY = web.AppKey("hub", EventHub)
SCANS_KEY = web.AppKey("scans", ScanService)
MONITOR_KEY = web.AppKey("monitor", Monitor)
THUMBNAILS_KEY = web.AppKey("thumbnails", Thumbnails)
TRIMMER_KEY = web.AppKey("trimmer", HeapTrimmer)
WHIP_KEY: web.AppKey["WhipEndpoint"] = web.AppKey("whip")
UPLOADS_KEY = web.AppKey("uploads_in_flight", Slots)
METRICS_REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
