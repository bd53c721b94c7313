"""Prometheus' alerts over its HTTP API (`GET /api/v1/alerts`), for apply's alert gate
(`engine.apply.ports.AlertSource`)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

JSON = dict[str, Any]


class PrometheusError(Exception):
    """Prometheus could not be asked, or did not answer as its API does."""


class PrometheusAlerts:
    """Reads the alerts a Prometheus server holds; `transport` is a seam for tests."""

    def __init__(self, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)

    def close(self) -> None:
        self._client.close()

    def alerts(self, prometheus_url: str) -> list[JSON]:
        url = prometheus_url.rstrip("/") + "/api/v1/alerts"
        try:
            response = self._client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            raise PrometheusError(f"Prometheus at {prometheus_url} is unreachable: {err}") from None
        if response.status_code != 200:
            raise PrometheusError(f"Prometheus at {url} answered HTTP {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PrometheusError(f"Prometheus at {url} did not answer JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(data, dict):
            raise PrometheusError(f"Prometheus at {url} did not answer with alerts: {str(body)[:200]}")
        alerts = data.get("alerts")
        if not isinstance(alerts, list):
            raise PrometheusError(f"Prometheus at {url} did not answer with a list of alerts")
        return [a for a in alerts if isinstance(a, dict)]
