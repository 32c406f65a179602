"""The metrics: in a registry of the app's own (two apps never add to each other's counts),
named mde_bot_*, with labels of a few known values, and served in Prometheus's text format by
an aiohttp handler."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics, endpoint_family, metrics_handler, status_label


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_app_counts_in_its_own_registry() -> None:
    one, other = Metrics(), Metrics()
    one.acks.labels(kind="command").inc()
    assert _value(one, "mde_bot_acks_total", kind="command") == 1
    assert _value(other, "mde_bot_acks_total", kind="command") is None
    assert REGISTRY.get_sample_value("mde_bot_acks_total", {"kind": "command"}) is None


def test_every_metric_is_named_for_the_bot_and_documented() -> None:
    metrics = Metrics()
    families = list(text_string_to_metric_families(metrics.text().decode()))
    assert families
    for family in families:
        assert family.name.startswith("mde_bot_")
        assert family.documentation


def test_the_metrics_the_issue_asks_for_are_there() -> None:
    metrics = Metrics()
    metrics.acks.labels(kind="event").inc()
    metrics.ack_seconds.labels(kind="event").observe(0.012)
    metrics.replies.labels(outcome="answered").inc()
    metrics.mde_calls.labels(family="machines", status=status_label(200)).inc()
    metrics.mde_throttled.labels(family="machines").inc()
    metrics.budget_queue.labels(budget="api").set(7)
    metrics.budget_wait_seconds.labels(budget="api").observe(3.5)
    metrics.cache_lookups.labels(result="hit").inc()
    metrics.duplicates.labels(kind="event").inc()
    metrics.actions.labels(action="isolate", stage="submitted").inc()
    metrics.redis_error()
    metrics.database_error()
    assert _value(metrics, "mde_bot_ack_seconds_bucket", kind="event", le="0.025") == 1
    assert _value(metrics, "mde_bot_mde_calls_total", family="machines", status="200") == 1
    assert _value(metrics, "mde_bot_budget_queue", budget="api") == 7
    assert _value(metrics, "mde_bot_budget_wait_seconds_sum", budget="api") == 3.5
    assert _value(metrics, "mde_bot_state_errors_total", backend="redis") == 1
    assert _value(metrics, "mde_bot_state_errors_total", backend="database") == 1


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/api/machines/abc/alerts", "machines"),
        ("/api/files/44d88612fea8a8f36de82e1278abb02f/stats", "files"),
        ("/api/ips/203.0.113.7/stats?lookBackHours=720", "ips"),
        ("/api/advancedqueries/run", "hunting"),
        ("/api/machineactions/1234", "machineactions"),
        ("/api/evil.example.com", "other"),
        ("/4f1c2a0e-6b1d-4c1e-9a57-0c7d3f1e2a10/oauth2/v2.0/token", "token"),
        ("", "other"),
    ],
)
def test_endpoint_families_never_carry_a_value(path: str, family: str) -> None:
    assert endpoint_family(path) == family


def test_statuses_are_few() -> None:
    assert [status_label(c) for c in (200, 404, 429, 500, 503, None)] == [
        "200",
        "404",
        "429",
        "5xx",
        "5xx",
        "error",
    ]


async def test_the_handler_serves_the_text_format() -> None:
    metrics = Metrics()
    metrics.replies.labels(outcome="answered").inc(3)
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics.registry))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            body = await response.text()
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    finally:
        await runner.cleanup()
    assert 'mde_bot_replies_total{outcome="answered"} 3.0' in body
