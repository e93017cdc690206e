"""Live streams: the one pipeline, its sinks, status and events, alerts and their notifiers, the stream registry, and the RTSP, WebRTC and WHIP sources."""
