"""The server's OpenAPI 3.1 description: every route, body and error, served at /api/openapi.json.

Tests check it both ways: every route of the app is described here (and nothing else), and real
responses of the running server validate against the schemas below; the README's API table is
checked against it too.
"""
from __future__ import annotations

import copy
import json

from aiohttp import web

from ..core.model import CPU, CUDA
from ..files import timeline
from ..live.pipeline import PipelineStats
from ..live.status import Status
from ..live.supervisor import ALL_FRAMES, REFERENCE_FRAMES

JSON = "application/json"
ERROR = {"$ref": "#/components/schemas/Error"}
STATUSES = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 206: "Partial content",
            400: "Bad request", 401: "API token missing or wrong", 403: "Forbidden", 404: "Not found",
            405: "Method not allowed", 409: "Conflict", 410: "Gone", 413: "Too large", 415: "Unsupported media type",
            429: "Too many requests", 500: "Internal error", 503: "Unavailable", 507: "Not enough free disk"}
NUMBER, STRING, INTEGER, BOOLEAN = {"type": "number"}, {"type": "string"}, {"type": "integer"}, {"type": "boolean"}


def nullable(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


def obj(required: list[str], **props: dict) -> dict:
    return {"type": "object", "required": required, "properties": props}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*codes: int) -> dict:
    return {str(c): {"description": STATUSES[c], "content": {JSON: {"schema": ERROR}}} for c in codes}


def ok(schema: dict | None = None, code: int = 200, media: str | tuple[str, ...] = JSON) -> dict:
    kinds = (media,) if isinstance(media, str) else media
    return {str(code): {"description": STATUSES[code], "content": {k: {"schema": schema or STRING} for k in kinds}}}


def op(summary: str, responses: dict, body: dict | None = None, params: list[dict] | None = None,
       token: bool = False) -> dict:
    out: dict = {"summary": summary, "responses": responses}
    if body:
        out["requestBody"] = {"required": True, "content": body}
    if params:
        out["parameters"] = params
    if token:
        out["security"] = [{"bearer": []}]
        out["responses"] = {**responses, **errors(401)}
    return out


def path_param(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or STRING}


def query_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def timeline_schema() -> dict:
    """The scan timeline's own JSON schema, its local references moved under components."""
    raw = copy.deepcopy(timeline.schema())
    defs = raw.pop("$defs", {})
    raw.pop("$schema", None)
    text = json.dumps({"Timeline": raw, **{f"timeline_{k}": v for k, v in defs.items()}})
    for name in defs:
        text = text.replace(f'"#/$defs/{name}"', f'"#/components/schemas/timeline_{name}"')
    return json.loads(text)


SCAN_STATUS = {"enum": ["queued", "running", "done", "failed"]}
STATUS = {"enum": [str(s) for s in Status], "description": "degraded: frames arrive but their analysis fails (see error)"}
COUNTERS = list(PipelineStats.COUNTERS)
STREAM_NAME = {"type": "string", "minLength": 1, "maxLength": 64,
               "description": "letters of any script, digits, spaces and . _ - ' ( ) # & + , : @; unique regardless "
                              "of case and spacing"}
MEDIA_INFO = obj(["width", "height", "fps", "duration", "frames", "format"], width=INTEGER, height=INTEGER, fps=NUMBER,
                 duration=nullable(NUMBER), frames=nullable(INTEGER),
                 format={"type": "string", "description": "FFmpeg's container names, or the MIME type of a photo"})
SCHEMAS: dict = {
    "Error": obj(["error", "status"], error=STRING, status=INTEGER),
    "MediaInfo": MEDIA_INFO,
    "ScanSummary": obj(["verdict", "tracks", "max_score"], verdict={"enum": ["real", "fake", "uncertain", "no faces"]},
                       tracks=INTEGER, max_score=nullable(NUMBER)),
    "Scan": obj(["id", "filename", "status", "progress", "error", "created", "finished", "info", "summary"],
                id={"type": "string", "pattern": "^[0-9a-f]{16}$"}, filename=STRING, status=SCAN_STATUS,
                progress={"type": "number", "minimum": 0, "maximum": 1}, error=nullable(STRING), created=NUMBER,
                finished=nullable(NUMBER), info=nullable(ref("MediaInfo")), summary=nullable(ref("ScanSummary"))),
    "ScanWithTimeline": {"allOf": [ref("Scan"), obj(["timeline"], timeline=nullable(ref("Timeline")))]},
    "ScanAccepted": obj(["id", "status", "filename", "info"], id=STRING, status={"const": "queued"},
                        filename=STRING, info=ref("MediaInfo")),
    "ScanPath": {**obj(["path"], path={"type": "string", "description": "a file inside --media-dir"}),
                 "additionalProperties": False},
    "Upload": obj(["file"], file={"type": "string", "contentMediaType": "application/octet-stream",
                                  "description": "a video or a photo (JPEG, PNG, WebP, BMP, binary PPM), probed by "
                                                 "content; GIF and other picture formats: 415"}),
    "StreamInput": {**obj(["name", "url"], name=STREAM_NAME,
                          url={"type": "string", "description": "rtsp:// or rtsps:// (http(s) with --allow-http-streams)"},
                          fps={"type": "number", "minimum": 0.2, "maximum": 60},
                          threshold={"type": "number", "minimum": 0, "maximum": 1},
                          alert_seconds={"type": "number", "minimum": 0, "maximum": 3600}),
                    "additionalProperties": False},
    "Stream": obj(["name", "url", "kind", "fps", "threshold", "alert_seconds", "status", "error", *COUNTERS,
                   "latest"],
                  name=STRING, url=STRING, kind={"enum": ["rtsp", "whip"]}, fps=NUMBER, threshold=NUMBER,
                  alert_seconds=NUMBER, status=STATUS, error=nullable(STRING), connects=INTEGER, reconnects=INTEGER,
                  **{c: INTEGER for c in COUNTERS}, analysed_fps=NUMBER, target_fps=NUMBER, latency_ms=NUMBER,
                  last_frame_at=nullable(NUMBER), low_latency=BOOLEAN, started=NUMBER,
                  decoding={"enum": [ALL_FRAMES, REFERENCE_FRAMES],
                            "description": "rtsp: whether the reader skips frames nothing refers to"},
                  node=nullable({"type": "string",
                                 "description": "where it runs: --ray node, --stream-workers process"}),
                  latest=nullable({"type": "object"}), thumbnail=STRING),
    "Alert": obj(["id", "stream", "track_id", "pts", "score", "created"], id=INTEGER, stream=STRING,
                 track_id=INTEGER, pts=NUMBER, score=NUMBER, created=NUMBER),
    "Offer": obj(["sdp", "type"], sdp=STRING, type={"const": "offer"}),
    "Answer": obj(["sdp", "type", "session", "lowLatency"], sdp=STRING, type={"const": "answer"}, session=STRING,
                  lowLatency={"type": "boolean", "description": "false: aiortc's marker-bit jitter buffer swap is "
                                                                "unavailable, frames wait one interval longer"}),
    "Sessions": obj(["sessions", "live"], sessions=obj(["active", "max"], active=INTEGER, max=INTEGER),
                    live={"type": "array", "items": {"type": "object"}}),
    "Config": obj(["iceServers", "ice", "maxSessions", "model", "connectTimeout", "statuses", "verdict", "worst_moments",
                   "track_colours"],
                  verdict=obj(["threshold", "uncertain_margin"], threshold=NUMBER, uncertain_margin=NUMBER),
                  worst_moments=INTEGER, track_colours={"type": "array", "items": STRING, "minItems": 1},
                  iceServers={"type": "array", "items": {"type": "object"}}, maxSessions=INTEGER,
                  ice=obj(["addresses", "hint"], addresses={"type": "array", "items": STRING}, hint=nullable(STRING)),
                  connectTimeout=NUMBER, statuses={"type": "object", "additionalProperties": STRING,
                                                   "propertyNames": STATUS}, model=obj(["name", "version", "threshold"], name=STRING, version=STRING,
                                                 threshold=NUMBER, uncertainMargin=NUMBER, window=INTEGER,
                                                 provider={"enum": [CUDA, CPU]})),
    "Auth": {"type": "object", "required": ["role", "required"],
             "properties": {"role": nullable({"enum": ["admin", "viewer"]}), "required": BOOLEAN}},
    "Health": obj(["status", "sessions", "maxSessions"], status={"const": "ok"}, sessions=INTEGER,
                  maxSessions=INTEGER),
    **timeline_schema(),
}

SCANNED = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "image/jpeg", "image/png", "image/webp",
           "image/bmp", "image/x-portable-anymap")
STATIC = ("text/javascript", "text/css", "text/html", "image/svg+xml")
SCAN_ID = path_param("id", {"type": "string", "pattern": "^[0-9a-f]{16}$"})
EVENTS = "text/event-stream"
PATHS: dict = {
    "/": {"get": op("The live webcam page", ok(media="text/html"))},
    "/replay": {"get": op("The file replay page", ok(media="text/html"))},
    "/dashboard": {"get": op("The RTSP monitoring dashboard", ok(media="text/html"))},
    "/static/{name}": {"get": op("The pages' scripts and styles", {**ok(media=STATIC), **errors(404)},
                                 params=[path_param("name")])},
    "/healthz": {"get": op("Health", ok(ref("Health")))},
    "/metrics": {"get": op("Prometheus metrics", ok(media="text/plain"))},
    "/api/openapi.json": {"get": op("This description", ok({"type": "object"}))},
    "/api/config": {"get": op("ICE servers and model facts for the pages", ok(ref("Config")))},
    "/api/offer": {"post": op("WebRTC signalling: an offer in, the answer out", {**ok(ref("Answer")), **errors(
        400, 413, 503)}, body={JSON: {"schema": ref("Offer")}})},
    "/api/sessions": {"get": op("The server's own session counters", ok(ref("Sessions")))},
    "/api/sessions/{sid}": {"delete": op("End a live session (a viewer: only one it opened)", {
        **ok(obj(["closed"], closed=STRING)), **errors(403, 404)}, params=[path_param("sid")])},
    "/api/sessions/{sid}/close": {"post": op("End a live session (navigator.sendBeacon)", {
        **ok(obj(["closed"], closed=STRING)), **errors(403, 404)}, params=[path_param("sid")])},
    "/api/scans": {
        "post": op("Scan an uploaded video or photo, or a file inside --media-dir", {
            **ok(ref("ScanAccepted"), 202), **errors(400, 403, 404, 413, 415, 429, 507)},
            body={"multipart/form-data": {"schema": ref("Upload")}, JSON: {"schema": ref("ScanPath")}}, token=True),
        "get": op("Scans, newest first, a page at a time; q: part of the file name", {
            **ok(obj(["scans", "total", "limit", "offset"], scans={"type": "array", "items": ref("Scan")},
                     total=INTEGER, limit=INTEGER, offset=INTEGER)), **errors(400)},
            params=[query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                    query_param("offset", {"type": "integer", "minimum": 0}), query_param("q", STRING)])},
    "/api/scans/{id}": {"get": op("A scan: status, progress and, when done, the timeline",
                                  {**ok(ref("ScanWithTimeline")), **errors(404)}, params=[SCAN_ID]),
                        "delete": op("Delete a scan (stopped first if queued or running): row, timeline, uploaded file",
                                     {**ok(obj(["deleted"], deleted=STRING)), **errors(403, 404)}, params=[SCAN_ID],
                                     token=True)},
    "/api/scans/{id}/retry": {"post": op("Queue a failed scan again, from the start, with the same file", {
        **ok(ref("Scan"), 202), **errors(403, 404, 409, 410, 429)}, params=[SCAN_ID], token=True)},
    "/api/scans/{id}/events": {"get": op("Server-sent progress events of a scan", {**ok(media=EVENTS), **errors(404)},
                                         params=[SCAN_ID])},
    "/api/scans/{id}/timeline.{fmt}": {"get": op("The timeline as a JSON or CSV download", {
        "200": {"description": "OK", "content": {JSON: {"schema": ref("Timeline")}, "text/csv": {"schema": STRING}}},
        **errors(404, 409)},
        params=[SCAN_ID, path_param("fmt", {"enum": ["json", "csv"]})])},
    "/api/scans/{id}/video": {"get": op("The scanned file itself (range requests work)", {
        **ok(media=SCANNED), **ok(code=206, media=SCANNED), **errors(404, 410)},
        params=[SCAN_ID])},
    "/api/scans/{id}/report.html": {"get": op(
        "The scan's self-contained HTML report, built once and kept until the scan changes; a request that starts "
        "a build counts against the rate limit. progress: while it is built, answer at once (202) with a page that "
        "shows how far it is and reloads itself", {
            **ok(media="text/html"), **ok(code=202, media="text/html"), **errors(404, 409, 429, 500)},
        params=[SCAN_ID, query_param("progress", STRING)])},
    "/api/streams": {
        "post": op("Monitor an RTSP stream", {**ok(ref("Stream"), 201), **errors(400, 409)},
                   body={JSON: {"schema": ref("StreamInput")}}, token=True),
        "get": op("Every monitored stream", ok(obj(["streams"], streams={"type": "array", "items": ref("Stream")})))},
    "/api/streams/{name}": {"delete": op("Stop monitoring a stream", {**ok(obj(["deleted"], deleted=STRING)),
                                                                      **errors(404)},
                                         params=[path_param("name")], token=True)},
    "/api/streams/{name}/restart": {"post": op("Connect a (failed) stream again with its kept settings", {
        **ok(ref("Stream")), **errors(403, 404, 409)}, params=[path_param("name")], token=True)},
    "/api/streams/{name}/thumbnail.jpg": {"get": op("The stream's latest analysed frame", {
        **ok(media="image/jpeg"), **errors(404)}, params=[path_param("name")])},
    "/api/alerts": {"get": op("Stored alerts, newest first", {
        **ok(obj(["alerts"], alerts={"type": "array", "items": ref("Alert")})), **errors(400)},
        params=[query_param("stream", STRING), query_param("limit", {"type": "integer", "minimum": 1,
                                                                     "maximum": 1000})])},
    "/api/alerts/{id}": {"delete": op("Delete an alert and its snapshot", {
        **ok(obj(["deleted"], deleted=INTEGER)), **errors(403, 404)}, params=[path_param("id", INTEGER)], token=True)},
    "/api/alerts/{id}/snapshot.jpg": {"get": op("An alert's face snapshot", {**ok(media="image/jpeg"),
                                                                             **errors(404)},
                                                params=[path_param("id", INTEGER)])},
    "/whip": {"options": op("What the WHIP endpoint accepts (Accept-Post)", {"204": {"description": STATUSES[204]}}),
              "post": op("WHIP ingest (RFC 9725): an SDP offer in, the answer out; the pushed stream is analysed "
                         "like a camera", {"201": {"description": "Created: the answer; Location is the session",
                                                   "content": {"application/sdp": {"schema": STRING}}},
                                           **errors(400, 401, 409, 413, 415, 503)},
                         body={"application/sdp": {"schema": STRING}},
                         params=[query_param("name", STREAM_NAME),
                                 query_param("fps", {"type": "number", "minimum": 0.2, "maximum": 60}),
                                 query_param("threshold", {"type": "number", "minimum": 0, "maximum": 1}),
                                 query_param("alert_seconds", {"type": "number", "minimum": 0, "maximum": 3600})],
                         token=True)},
    "/whip/{id}": {
        "patch": op("Trickled ICE candidates", {"204": {"description": STATUSES[204]}, **errors(400, 404, 405, 415)},
                    body={"application/trickle-ice-sdpfrag": {"schema": STRING}}, params=[path_param("id")],
                    token=True),
        "delete": op("End a WHIP push", {**ok(obj(["deleted"], deleted=STRING)), **errors(404)},
                     params=[path_param("id")], token=True)},
    "/signin": {"get": op("The sign-in page (servers with a token)", ok(media="text/html"))},
    "/api/auth/login": {"post": op("Sign in: a valid token sets the HttpOnly, SameSite=Strict cookie", {
        **ok(ref("Auth")), **errors(401, 429)}, body={JSON: {"schema": obj(["token"], token=STRING)}})},
    "/api/auth/logout": {"post": op("Sign out: ends the sign-in on the server and clears the cookie", ok(obj(["role"], role={"type": "null"})))},
    "/api/auth": {"get": op("Who this request is signed in as", ok(ref("Auth")))},
    "/api/events": {"get": op("Live status, result and alert events of the streams (SSE)", ok(media=EVENTS))},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "deepfake-streamer", "version": "1",
                 "description": "Real-time deepfake analysis: live webcam (WebRTC), RTSP monitoring, file and "
                                "photo scans. When the server has an API token, every /api/ request, media file and "
                                "/metrics need `Authorization: Bearer TOKEN` (or the pages' sign-in cookie); the "
                                "viewer token reads only (403 on changes); changing requests are rate-limited per "
                                "client (429)."},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def openapi_json(_request: web.Request) -> web.Response:
    return web.json_response(document())


def add_openapi_route(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
