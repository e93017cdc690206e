"""Every application key, in one place: what the composition root (app.py) puts into the app."""
from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..core.inference import BatchedModel
from ..runtime.memory import HeapTrimmer
from ..core.model import Model
from ..live.manager import Monitor
from ..live.whip import WhipEndpoint
from ..storage.store import AsyncStore
from .config import ServerConfig
from .events import EventHub
from ..live.ice import IcePlan
from .limits import RateLimiter, Slots
from .reports import Reports
from .scans import ScanService
from ..live.webrtc import SessionManager
from .thumbnails import Thumbnails

CFG_KEY = web.AppKey("cfg", ServerConfig)
ICE_KEY = web.AppKey("ice", IcePlan)
MODEL_KEY = web.AppKey("model", Model)
INFERENCE_KEY = web.AppKey("inference", BatchedModel)
SESSIONS_KEY = web.AppKey("sessions", SessionManager)
STORE_KEY = web.AppKey("store", AsyncStore)
HUB_KEY = web.AppKey("hub", EventHub)
SCANS_KEY = web.AppKey("scans", ScanService)
MONITOR_KEY = web.AppKey("monitor", Monitor)
THUMBNAILS_KEY = web.AppKey("thumbnails", Thumbnails)
TRIMMER_KEY = web.AppKey("trimmer", HeapTrimmer)
WHIP_KEY = web.AppKey("whip", WhipEndpoint)
UPLOADS_KEY = web.AppKey("uploads_in_flight", Slots)
LIMITER_KEY = web.AppKey("rate_limiter", RateLimiter)  # per client address: changes, and reads that build
REPORTS_KEY = web.AppKey("reports", Reports)
METRICS_REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
