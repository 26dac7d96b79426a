"""The test Redis Cluster (started by `.ci/redis-cluster`), read node by node."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from connectors.store.redis_client import cluster_seeds

CLUSTER_ENV = "FORECALL_TEST_REDIS_CLUSTER_URL"


def cluster_url_or_fail() -> str:
    url = os.environ.get(CLUSTER_ENV)
    if not url:
        pytest.fail(
            f"a Redis Cluster is required: run .ci/redis-cluster and export {CLUSTER_ENV} "
            "to the URL it prints",
            pytrace=False,
        )
    try:
        info = admin(url).cluster_info()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis Cluster at {CLUSTER_ENV}={url} ({exc})", pytrace=False)
    if info.get("cluster_state") != "ok":
        pytest.fail(f"the Redis Cluster at {url} is {info.get('cluster_state')}", pytrace=False)
    return url


def admin(url: str) -> RedisCluster:
    nodes = [ClusterNode(h, p) for h, p in cluster_seeds(url)]  # type: ignore[no-untyped-call]
    return RedisCluster(startup_nodes=nodes, socket_connect_timeout=2)


def masters(url: str) -> Iterator[Any]:
    """A plain client per master: to flush, or to read every key past the store's API."""
    cluster = admin(url)
    try:
        for node in cluster.get_primaries():  # type: ignore[no-untyped-call]
            client = redis.Redis(host=node.host, port=node.port)
            try:
                yield client
            finally:
                client.close()
    finally:
        cluster.close()


def flush(url: str) -> None:
    for client in masters(url):
        client.flushall()  # the test cluster holds nothing else


def raw_clients(store_url: str) -> Iterator[Any]:
    """Plain clients that together see every key of a Redis store: the server itself, or
    each master of a cluster."""
    if store_url.startswith("redis+cluster://"):
        yield from masters(store_url)
        return
    client = redis.Redis.from_url(store_url)  # replies are bytes (no decoding)
    try:
        yield client
    finally:
        client.close()
