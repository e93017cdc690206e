"""Decoding and probing media: video files and URLs (PyAV) and photos."""
