"""``python -m streamer.cli``: the same as the ``deepfake-streamer`` command."""
import sys

from .entry import main

sys.exit(main())
