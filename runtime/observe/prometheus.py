"""The Prometheus exposition endpoint: the latest metric windows, by the blueprint's names.

Scrapes arrive on prometheus_client's HTTP threads while the runtime lives on
the asyncio loop, so the HTTP side never touches the database: an asyncio task
measures the windows every few seconds and hands the collector one immutable
snapshot, which each scrape reads as it is.

Every metric is a gauge over a window (named in its help text), as the
blueprint's alerts read them (`actor_restarts_total{type="..."} > 5`): the
`_total` figures count what happened in the window, not since the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from runtime.actors.actor import ActorType
from runtime.errors import EngineError
from runtime.observe.metrics import RestartLog, measure
from runtime.observe.thresholds import load_thresholds
from runtime.observe.windows import MetricWindow, Percentiles, Thresholds

if TYPE_CHECKING:
    from runtime.facade import Runtime

log = logging.getLogger("eva.metrics")

_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))


class MetricsPortError(EngineError):
    """The metrics endpoint cannot listen where it was asked to."""

    def __init__(self, host: str, port: int, detail: str) -> None:
        self.host = host
        self.port = port
        super().__init__(detail)

    @classmethod
    def from_os_error(cls, host: str, port: int, exc: OSError) -> MetricsPortError:
        if exc.errno == errno.EADDRINUSE:
            return cls(host, port, f"port {port} is in use; choose another with --serve PORT")
        return cls(
            host,
            port,
            f"cannot serve metrics on {host} port {port} ({exc.strerror or exc}); "
            "choose another port with --serve PORT",
        )


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What one scrape shows: the latest windows and the thresholds in force.

    Attributes:
        reliability: over `success_window`: success rate, compensations, dead letters.
        performance: over `latency_window`: latencies and throughput.
        restarts: over `restart_window`: actor restarts and escalations.
        restarts_counted: whether actor restarts were counted (see `MetricsExporter`).
    """

    reliability: MetricWindow
    performance: MetricWindow
    restarts: MetricWindow
    thresholds: Thresholds
    restarts_counted: bool = True


class MetricsCollector:
    """A prometheus_client collector over the latest `MetricsSnapshot`.

    `collect()` reads memory only, so any thread may call it.
    """

    def __init__(self) -> None:
        self.snapshot: MetricsSnapshot | None = None
        """Replaced whole by the refresher (one assignment: scrapes see old or new)."""

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield from _reliability(snapshot.reliability)
        yield from _performance(snapshot.performance)
        yield from _restarts(snapshot.restarts, snapshot.restarts_counted)
        thresholds = GaugeMetricFamily(
            "saga_threshold",
            f"Thresholds in force ({snapshot.thresholds.environment} profile and overrides)",
            labels=["name"],
        )
        for name, value in snapshot.thresholds.model_dump().items():
            if isinstance(value, int | float):
                thresholds.add_metric([name], float(value))
        yield thresholds


def _over(window: MetricWindow) -> str:
    return f"over the last {window.seconds:g} s"


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _reliability(w: MetricWindow) -> Iterator[Metric]:
    if w.success_rate is not None:
        yield _gauge(
            "saga_transaction_success_rate",
            f"Completed sagas over ended sagas {_over(w)}",
            w.success_rate,
        )
    yield _gauge(
        "saga_consecutive_compensations",
        "Sagas that ended compensated in a row, most recent first",
        w.consecutive_compensations,
    )
    yield _gauge(
        "saga_compensations_total", f"Compensations that finished {_over(w)}", w.compensations
    )
    yield _gauge(
        "saga_compensation_failures_total",
        f"Compensations dead-lettered after their retries {_over(w)}",
        w.compensation_failures,
    )
    yield _gauge("saga_dead_letters", "Compensation dead letters not resolved", w.dead_letters)
    if w.consistency_score is not None:
        yield _gauge(
            "saga_consistency_score", "Score of the last consistency check", w.consistency_score
        )


def _performance(w: MetricWindow) -> Iterator[Metric]:
    sagas = GaugeMetricFamily(
        "saga_latency_ms",
        f"Completed sagas' duration in milliseconds {_over(w)}",
        labels=["saga_type", "quantile"],
    )
    for saga_type, p in sorted(w.saga_latency.items()):
        _add_quantiles(sagas, [saga_type], p)
    yield sagas
    steps = GaugeMetricFamily(
        "saga_step_latency_ms",
        f"Completed steps' duration in milliseconds {_over(w)}",
        labels=["saga_type", "step", "quantile"],
    )
    for (saga_type, step), p in sorted(w.step_latency.items()):
        _add_quantiles(steps, [saga_type, step], p)
    yield steps
    yield _gauge("saga_throughput_per_second", f"Sagas ended a second {_over(w)}", w.throughput)


def _add_quantiles(family: GaugeMetricFamily, labels: list[str], p: Percentiles) -> None:
    for quantile, attribute in _QUANTILES:
        family.add_metric([*labels, quantile], getattr(p, attribute))


def _restarts(w: MetricWindow, counted: bool) -> Iterator[Metric]:
    if counted:
        restarts = GaugeMetricFamily(
            "actor_restarts_total", f"Actor restarts per actor type {_over(w)}", labels=["type"]
        )
        # Every known type, zero included: an alert on a type must not see it vanish.
        counts = {t.value: 0 for t in ActorType} | w.actor_restarts
        for actor_type, count in sorted(counts.items()):
            restarts.add_metric([actor_type], count)
        yield restarts
    yield _gauge(
        "actor_escalations_to_root_total",
        f"Failures that escalated past the root supervisor {_over(w)}",
        w.escalations_to_root,
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would flood the log."""


class _Server4(ThreadingWSGIServer):
    address_family = socket.AF_INET


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class MetricsExporter:
    """Serves the runtime's metrics for Prometheus at `http://HOST:PORT/metrics`.

    Usage::

        exporter = MetricsExporter(runtime, load_thresholds())
        await exporter.start(9464)
        ...
        await exporter.close()

    Args:
        runtime: an open runtime.
        thresholds: the thresholds in force (default: `load_thresholds()`); they
            choose the windows' lengths and are exposed as `saga_threshold`.
        interval: seconds between measurements (wall-clock time, as scrapes are).
        consistency: returns the last consistency score, or None when unknown.
        restarts: count actor restarts. Only the process running the actors sees
            them; elsewhere pass False, and `actor_restarts_total` is left out
            rather than shown as zeros.
    """

    def __init__(
        self,
        runtime: Runtime,
        thresholds: Thresholds | None = None,
        *,
        interval: float = 5.0,
        consistency: Callable[[], float | None] | None = None,
        restarts: bool = True,
    ) -> None:
        self.runtime = runtime
        self.restarts = restarts
        self.thresholds = thresholds if thresholds is not None else load_thresholds()
        self.interval = interval
        self.collector = MetricsCollector()
        self._consistency = consistency
        self._restart_log = RestartLog(
            runtime,
            keep=max(
                self.thresholds.success_window,
                self.thresholds.latency_window,
                self.thresholds.restart_window,
            ),
        )
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self.collector)
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one chosen when started on port 0)."""
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        return int(self._server.server_address[1])

    async def start(self, port: int, host: str = "127.0.0.1") -> None:
        """Measure once, then listen and refresh every `interval` seconds.

        Raises:
            MetricsPortError: the port is in use, or cannot be listened on.
            StoreError: the database cannot be read.
        """
        if self._server is not None:
            raise RuntimeError("the exporter is already started; close it first")
        self._restart_log.start()
        try:
            await self.refresh()
            server_class = _Server6 if ":" in host else _Server4
            app = make_wsgi_app(self._registry)
            try:
                self._server = make_server(
                    host, port, app, server_class, handler_class=_QuietHandler
                )
            except OSError as exc:
                raise MetricsPortError.from_os_error(host, port, exc) from None
        except BaseException:
            await self._restart_log.close()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="eva-metrics-http",
            daemon=True,
        )
        self._thread.start()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="eva-metrics")

    async def refresh(self) -> MetricsSnapshot:
        """Measure the windows now and show them to the next scrape."""
        t = self.thresholds
        now = self.runtime.clock.now()
        score = self._consistency() if self._consistency is not None else None
        windows: dict[float, MetricWindow] = {}
        for seconds in (t.success_window, t.latency_window, t.restart_window):
            if seconds not in windows:
                windows[seconds] = await measure(
                    self.runtime,
                    window=seconds,
                    now=now,
                    consistency=score,
                    restarts=self._restart_log if self.restarts else None,
                )
        snapshot = MetricsSnapshot(
            reliability=windows[t.success_window],
            performance=windows[t.latency_window],
            restarts=windows[t.restart_window],
            thresholds=t,
            restarts_counted=self.restarts,
        )
        self.collector.snapshot = snapshot
        return snapshot

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except EngineError as exc:  # a busy database: scrapes keep the last figures
                log.warning("metrics not refreshed: %s", exc)

    async def close(self) -> None:
        """Stop listening and measuring."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await self._restart_log.close()
