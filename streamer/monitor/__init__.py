"""Watching live streams (RTSP): supervisors with reconnects, alerts, webhooks."""
