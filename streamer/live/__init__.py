"""Live streams: the one pipeline, its sinks, status/events, alerts, stream registry; RTSP, WebRTC, WHIP sources."""
