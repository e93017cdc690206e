"""The command line: every command and shared option; the console entry point ``streamer.cli:main``."""
from .entry import DEFAULT_MODEL_DIR, load_model, main

__all__ = ["DEFAULT_MODEL_DIR", "load_model", "main"]
