"""The agent's retained `status` and `health`: the birth, the health beat, the goodbye pair.

HQ reads these two topics to know which agent runs, with which config, since when, and how its
backlog and link are doing. The backlog figures read for health are kept (`stats`), so
`edge-agent status` can show them between health messages without asking the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from drivers.sdk import Logger
from edge_agent.store.items import BacklogStats

from .codec import CONTENT_TYPE_JSON, dump
from .counters import Counters
from .errors import UplinkError
from .health import HostProbe, build_health
from .link import Link, Outgoing
from .payloads import AgentState, StatusPayload
from .ports import UplinkStore
from .refusals import Refusals
from .states import DeviceStates
from .takeover import Takeover
from .topics import Topics


class Presence:
    def __init__(
        self,
        topics: Topics,
        store: UplinkStore,
        *,
        states: DeviceStates,
        counters: Counters,
        refusals: Refusals,
        takeover: Takeover,
        report: Callable[[], dict[str, Any]],
        host: HostProbe,
        interval_s: float,
        config_hash: str,
        version: str,
        clock: Callable[[], float],
        log: Logger,
    ) -> None:
        self._topics, self._store, self._states = topics, store, states
        self._counters, self._refusals, self._takeover = counters, refusals, takeover
        self._report, self._host, self._interval_s = report, host, interval_s
        self.config_hash, self._version = config_hash, version
        self._clock, self._log = clock, log
        self._started_at = clock()
        #: The backlog as last read (for health, a buffering log line or `sync now`), and when.
        self.stats: BacklogStats | None = None
        self.stats_at: float | None = None

    async def read_stats(self) -> BacklogStats:
        """Ask the store for the backlog now, and keep the answer."""
        return self.keep_stats(await self._store.stats())

    def keep_stats(self, stats: BacklogStats) -> BacklogStats:
        """The backlog as just read elsewhere (a `sync now` drain), and when."""
        self.stats, self.stats_at = stats, self._clock()
        return stats

    def status_message(self, state: AgentState, session: int) -> Outgoing:
        payload = StatusPayload(
            state=state,
            session=max(1, session),
            version=self._version,
            config_hash=self.config_hash,
            started_at=self._started_at,
            ts=self._clock(),
        )
        return Outgoing(
            self._topics.status, dump(payload), retain=True, content_type=CONTENT_TYPE_JSON
        )

    async def birth(self, link: Link, session: int) -> None:
        """Status online, every known device state, pending removals, then health."""
        await link.publish(self.status_message(AgentState.ONLINE, session))
        await self._states.birth(link)
        await self.publish_health(link, session)

    async def republish_status(self, link: Link, session: int) -> None:
        """Status online again, e.g. with the config hash a reload just changed."""
        try:
            await link.publish(self.status_message(AgentState.ONLINE, session))
        except UplinkError as exc:  # the link went down: the next birth carries the new hash
            self._log.info("status_republish_skipped", error=str(exc))

    async def health_loop(self, link: Link, session: int) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.publish_health(link, session)

    async def publish_health(self, link: Link, session: int) -> None:
        payload = build_health(
            report=self._report,
            stats=await self.read_stats(),
            counters=self._counters,
            refused=self._refusals.report(),
            client_id_in_use=self._takeover.report(),
            host=self._host,
            session=session,
            ts=self._clock(),
            log=self._log,
        )
        body = dump(payload)
        await link.publish(
            Outgoing(self._topics.health, body, retain=True, content_type=CONTENT_TYPE_JSON)
        )
        await self._counters.persist()
