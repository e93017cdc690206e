"""deepfake-streamer: real-time deepfake analysis for live video."""

__version__ = "0.1.0"
