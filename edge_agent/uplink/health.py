"""The retained `health` payload: the runtime's report plus backlog, host and uplink figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from pydantic import ValidationError

from drivers.sdk import Logger
from edge_agent.store.clock import ClockSteps, kernel_synced
from edge_agent.store.items import BacklogStats

from .counters import Counters
from .payloads import (
    BacklogHealth,
    ClientIdInUse,
    ClockHealth,
    HealthPayload,
    HostHealth,
    RefusedTopic,
    SubsystemHealth,
    UplinkHealth,
)
from .takeover import REASON as REASON_CLIENT_ID_IN_USE


class HostProbe:
    """CPU, RSS and free disk of the data dir; psutil is imported once, on first use."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._process: Any = None

    def sample(self, steps: ClockSteps | None = None) -> HostHealth:
        if self._process is None:
            self._process = psutil.Process()
            self._process.cpu_percent(None)  # the first call only primes the counter
        try:
            cpu: float | None = float(self._process.cpu_percent(None))
            rss: int | None = int(self._process.memory_info().rss)
        except psutil.Error:
            cpu, rss = None, None
        try:
            disk: int | None = int(psutil.disk_usage(str(self._data_dir)).free)
        except OSError:
            disk = None
        steps = steps or ClockSteps()
        clock = ClockHealth(
            synced=kernel_synced(),
            steps=steps.steps,
            last_step_s=steps.last_step_s,
            last_step_at=steps.last_step_at,
        )
        return HostHealth(cpu_percent=cpu, rss_bytes=rss, disk_free_bytes=disk, clock=clock)


def build_health(
    *,
    report: Callable[[], dict[str, Any]],
    stats: BacklogStats,
    counters: Counters,
    refused: list[dict[str, Any]],
    client_id_in_use: dict[str, Any] | None,
    host: HostProbe,
    session: int,
    ts: float,
    log: Logger,
) -> HealthPayload:
    """Assemble one health message. A malformed runtime report is flagged, not fatal."""
    backlog = BacklogHealth(
        depth=stats.depth,
        depth_by_class=dict(stats.depth_by_class),
        oldest_age_s=stats.oldest_age_s,
        dropped=sum(stats.dropped_by_class.values()),
        dropped_by_class=dict(stats.dropped_by_class),
    )
    uplink = UplinkHealth(
        bytes_sent_today=counters.bytes_today,
        sent_per_s=counters.sent_per_s(),
        last_puback_at=counters.last_puback_at,
        refused=[RefusedTopic.model_validate(r) for r in refused],
        reason="ok" if client_id_in_use is None else REASON_CLIENT_ID_IN_USE,
        client_id_in_use=None
        if client_id_in_use is None
        else ClientIdInUse.model_validate(client_id_in_use),
    )
    base: dict[str, Any] = {
        "session": session,
        "ts": ts,
        "backlog": backlog,
        "host": host.sample(stats.clock_steps),
        "uplink": uplink,
    }
    # The link itself, next to the runtime's subsystems, for dashboards that key on those.
    link = SubsystemHealth(
        state="ok" if client_id_in_use is None else "degraded", reason=uplink.reason
    )
    try:
        raw = report()
        parts = {k: raw.get(k, {}) for k in ("subsystems", "devices", "cameras")}
        parts["subsystems"] = {**parts["subsystems"], "uplink": link}
        return HealthPayload.model_validate({**base, **parts})
    except (ValidationError, AttributeError, TypeError) as exc:
        log.warning("health_report_invalid", error=str(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - the runtime's callback must not stop health reporting
        log.error("health_report_failed", error=repr(exc))  # noqa: TRY400 - no traceback in health
    flagged = {
        "runtime": SubsystemHealth(state="degraded", reason="health_report_invalid"),
        "uplink": link,
    }
    return HealthPayload.model_validate({**base, "subsystems": flagged})
