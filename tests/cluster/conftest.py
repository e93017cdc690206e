from __future__ import annotations

import os

import pytest

# A local cluster on loopback only: Ray must not resolve 127.0.0.1 to this machine's network address
# (read when Ray is imported, so before any test module imports it).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="the cluster extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each on this machine (loopback only), joined by this process as driver."""
    from streamer.cluster import compat

    local = compat.LocalCluster(nodes=2, cpus_per_node=1)
    compat.connect(local.address)
    yield local
    local.shutdown()
