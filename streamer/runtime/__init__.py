"""Process-wide plumbing: pinned assets, native log filtering, metrics, memory, outbound network policy."""
