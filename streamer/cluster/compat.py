"""Everything this project touches of Ray, in one place (``tests/cluster/test_compat.py`` pins the version).

Ray is imported only here and only when a cluster feature is used, so nothing changes without the extra.
"""
from __future__ import annotations

import logging
import os
from types import ModuleType

from . import INSTALL, ClusterError

RAY_VERSION = "2.60.0"
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray resolves every local address to 127.0.0.1


def ray() -> ModuleType:
    """The ``ray`` module, or ClusterError with the command that installs it."""
    try:
        import ray as module  # the optional cluster extra: imported only when a cluster feature is used
    except ImportError as exc:
        raise ClusterError(f"Ray is not installed; the cluster features need the cluster extra: {INSTALL}") from exc
    return module


def connect(address: str) -> ModuleType:
    """Join the cluster at ``address`` ('auto' or HOST:PORT) as a driver; idempotent."""
    module = ray()
    if module.is_initialized():
        return module
    try:
        module.init(address=address, log_to_driver=False, logging_level=logging.WARNING, ignore_reinit_error=True,
                    include_dashboard=False, _node_ip_address=_local_ip())
    except (ConnectionError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc} (start one with `ray start --head`)") from exc
    return module


def _local_ip() -> str | None:
    return "127.0.0.1" if os.environ.get(LOOPBACK_ENV) == "0" else None


def disconnect() -> None:
    module = ray()
    if module.is_initialized():
        module.shutdown()


def cpus() -> int:
    return max(1, int(ray().cluster_resources().get("CPU", 1)))


def node_id() -> str:
    """The id of the node the calling task or actor runs on."""
    return ray().get_runtime_context().get_node_id()


def on_node(node: str):
    """The scheduling strategy that keeps an actor on one node (no fallback elsewhere)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node, soft=False)


class LocalCluster:
    """A cluster of ``nodes`` Ray nodes on this machine, loopback only (tests and benches)."""

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1):
        os.environ[LOOPBACK_ENV] = "0"  # must precede Ray's import: its constants are read then
        from ray.cluster_utils import Cluster

        args = {"num_cpus": cpus_per_node, "node_ip_address": "127.0.0.1", "include_dashboard": False}
        self._cluster = Cluster(initialize_head=True, head_node_args=args)
        self.workers = [self._cluster.add_node(**args) for _ in range(nodes - 1)]
        self.address = self._cluster.address

    def kill(self, node) -> None:
        """Kill every process of one worker node at once (a machine lost)."""
        self._cluster.remove_node(node, allow_graceful=False)
        self.workers.remove(node)

    @staticmethod
    def node_id(node) -> str:
        return node.node_id

    def shutdown(self) -> None:
        disconnect()
        self._cluster.shutdown()
