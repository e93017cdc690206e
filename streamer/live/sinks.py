"""Sinks of the live pipeline: results and alerts out to events, storage, webhooks and thumbnails."""
from __future__ import annotations

from collections.abc import Callable

from ..media.video import Frame
from .alerts import Alert, AlertRule
from .pipeline import Analysed, Sink
from .status import AlertEvent, Event, ResultEvent

EventSink = Callable[[Event], None]
FrameHook = Callable[[str, Frame], object]  # (stream name, analysed frame), on the analysis thread


class ResultEvents(Sink):
    """Every analysed frame as a ``result`` event."""

    def __init__(self, stream: str, kind: str, emit: EventSink):
        self.stream, self.kind, self.emit = stream, kind, emit

    def on_result(self, out: Analysed) -> None:
        self.emit(ResultEvent(self.stream, self.kind, out.result, out.latency_ms))


class Alerts(Sink):
    """Applies an alert rule; ``store`` runs on the worker thread (it may touch SQLite), ``notify`` and the
    ``alert`` event on the loop."""

    def __init__(self, rule: AlertRule, kind: str, emit: EventSink,
                 store: Callable[[Alert], None] | None = None, notify: Callable[[Alert], None] | None = None):
        self.rule, self.kind, self.emit, self.store, self.notify = rule, kind, emit, store, notify

    def on_frame(self, out: Analysed) -> None:
        out.alerts.extend(self.rule.check(out.result, out.frame))
        if self.store:
            for alert in out.alerts:
                self.store(alert)

    def on_result(self, out: Analysed) -> None:
        for alert in out.alerts:
            if self.notify:
                self.notify(alert)
            self.emit(AlertEvent(alert, self.kind))

    def reset(self) -> None:
        self.rule.reset()


def stream_sinks(name: str, kind: str, emit: EventSink, threshold: float, alert_seconds: float,
                 store_alert: Callable[[Alert], None] | None = None, notify: Callable[[Alert], None] | None = None,
                 on_frame: FrameHook | None = None) -> list[Sink]:
    """What a monitored stream (pulled or pushed) does with each result: events, alerts, thumbnails."""
    sinks: list[Sink] = [ResultEvents(name, kind, emit),
                         Alerts(AlertRule(name, threshold, alert_seconds), kind, emit, store_alert, notify)]
    if on_frame:
        sinks.append(FrameTap(name, on_frame))
    return sinks


class FrameTap(Sink):
    """Hands each analysed RGB frame to ``hook`` (the dashboard's thumbnails), on the worker thread."""

    def __init__(self, stream: str, hook: FrameHook):
        self.stream, self.hook = stream, hook

    def on_frame(self, out: Analysed) -> None:
        self.hook(self.stream, out.frame)
