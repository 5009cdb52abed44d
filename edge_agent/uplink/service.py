"""The Uplink: what the runtime holds. It wires the parts and answers for them.

The parts, each in its own module: the reconnect loop and goodbye (session.py), the retained
status and health (presence.py), the outbox drain (sender.py), device states (states.py) and
remote commands (commands.py). Here: the runtime's callbacks, the uplink's own `_agent`
commands (`rebirth`, `sync_now`), and the figures for `edge-agent status` and `sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

import structlog

from drivers.sdk import Logger
from edge_agent.settings.root import Settings

from . import takeover
from .commands import CommandService
from .counters import Counters
from .errors import LinkDown
from .health import HostProbe
from .link import Connector, MqttConnector, client_id_for
from .ports import AgentRouter, UplinkStore
from .presence import Presence
from .sender import Sender
from .session import SessionLoop
from .states import DeviceStates
from .takeover import Takeover, config_keys
from .topics import Topics


def _default_log() -> Logger:
    log: Logger = structlog.get_logger("edge_agent.uplink")
    return log


class Uplink:
    def __init__(
        self,
        settings: Settings,
        store: UplinkStore,
        router: AgentRouter,
        *,
        health: Callable[[], dict[str, Any]],
        config_hash: str,
        version: str,
        clock: Callable[[], float] = time.time,
        log: Logger | None = None,
        connector: Connector | None = None,
    ) -> None:
        self._settings, self._store = settings, store
        self._log = log or _default_log()
        agent, up = settings.agent, settings.uplink
        self.topics = Topics.for_agent(up.mqtt.topic_prefix, agent.branch_id, agent.agent_id)
        client_id = client_id_for(up.mqtt, agent.branch_id, agent.agent_id)
        mqtt = MqttConnector(up.mqtt, client_id, self._log)
        self.takeover = Takeover(
            client_id,
            config_keys(bool(up.mqtt.client_id)),
            self._log,
            # A twin's session lasts until our backoff (held at its cap while suspected) runs
            # out: "cut short" must outlast that, or a raised cap would clear and raise it by turns.
            short_s=max(takeover.SHORT_SESSION_S, 2 * up.mqtt.reconnect_max_s),
            clock=clock,
        )
        self.counters = Counters(store, clock)
        self.sender = Sender(store, self.topics, up.sync, self.counters, self._log, clock=clock)
        self.commands = CommandService(
            self.topics,
            router=router,
            agent_actions={"rebirth": self._rebirth, "sync_now": self._sync_now_cmd},
            log=self._log,
            clock=clock,
        )
        self.states = DeviceStates(self.topics, store, self._log)
        self.presence = Presence(
            self.topics,
            store,
            states=self.states,
            counters=self.counters,
            refusals=self.sender.refusals,
            takeover=self.takeover,
            report=health,
            host=HostProbe(agent.data_dir),
            interval_s=up.health_interval_s,
            config_hash=config_hash,
            version=version,
            clock=clock,
            log=self._log,
        )
        self._sessions = SessionLoop(
            up,
            store,
            connector or mqtt,
            broker=mqtt.broker,
            topics=self.topics,
            presence=self.presence,
            commands=self.commands,
            sender=self.sender,
            states=self.states,
            counters=self.counters,
            takeover=self.takeover,
            clock=clock,
            log=self._log,
        )
        self._background: set[asyncio.Task[None]] = set()

    # --- lifecycle (session.py) --------------------------------------------------------------

    async def run(self) -> None:
        """Connect, and reconnect with jittered backoff, until cancelled or stopped."""
        await self._sessions.run()

    async def stop(self, budget_s: float | None = None) -> None:
        """Say goodbye (retained `stopping`, `offline`) and leave within `budget_s` (default
        `uplink.stop_timeout_s`); see SessionLoop.stop for what happens when the broker is slow."""
        await self._sessions.stop(budget_s)

    # --- callbacks from the runtime ------------------------------------------------------------

    def device_state_changed(self, device_id: str, payload: dict[str, Any]) -> None:
        """Publish a device's retained state (now, or at the next connect).

        The runtime persists it in the store; the birth republishes from there.
        """
        self.states.changed(device_id, payload)

    def device_removed(self, device_id: str) -> None:
        """Clear the device's retained state with an empty retained message."""
        self.states.removed(device_id)

    def config_changed(self, config_hash: str) -> None:
        """A reload changed the running config: the retained status says so now (or at the next
        connect), so HQ sees which config runs."""
        self.presence.config_hash = config_hash
        link = self._sessions.link
        if link is None:
            return
        self._spawn(self.presence.republish_status(link, self._sessions.session), "uplink.status")

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        """A task that outlives the call (kept referenced until it ends)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- _agent commands -------------------------------------------------------------------

    async def _rebirth(self, args: dict[str, Any]) -> dict[str, Any]:
        link = self._sessions.link
        if link is None:
            raise LinkDown(
                f"{self._not_connected()}; it republishes every retained topic when it connects"
            )
        await self.presence.birth(link, self._sessions.session)
        return {"republished": True, "session": self._sessions.session}

    async def _sync_now_cmd(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._sessions.link is None:  # nothing can be sent: say so, as `rebirth` does
            raise LinkDown(
                f"{self._not_connected()}; the backlog drains by itself once it connects"
            )
        remaining = (await self._store.stats()).depth
        self._spawn(self._drain_quietly(), "uplink.sync_now")
        return {"started": True, "remaining": remaining}

    def _not_connected(self) -> str:
        """Why an `_agent` action that needs the broker did nothing, in the words of `status`."""
        why = self._sessions.last_error or "not connected yet"
        return f"not connected to the broker {self._sessions.broker} ({why}), so nothing was sent"

    async def _drain_quietly(self) -> None:
        async for _ in self.sync_now():
            pass

    # --- for the control socket --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Connection and drain figures for `edge-agent status` and `edge-agent sync status`."""
        sessions, stats = self._sessions, self.presence.stats
        connected = sessions.link is not None
        outage = sessions.outage
        return {
            "connected": connected,
            # buffering: not connected and retrying; accepted items wait in the store.
            "state": "connected" if connected else "buffering" if outage.active else "connecting",
            "reconnect_attempts": outage.attempts,
            "disconnected_for_s": round(outage.down_for_s(), 1) if outage.active else None,
            "broker": sessions.broker,
            "client_id": self.takeover.client_id,
            # set while another client seems to use our client id (takeover.py)
            "client_id_in_use": self.takeover.report(),
            "since": sessions.connected_since,
            "session": sessions.session,
            "last_error": sessions.last_error,
            "last_error_detail": sessions.last_error_detail,
            # set when TLS failed on a certificate's dates: which one, its dates, the PC's clock
            "certificate": sessions.certificate,
            "last_puback_at": self.counters.last_puback_at,
            "sent_per_s": self.counters.sent_per_s(),
            "items_sent": self.counters.items_sent,
            "bytes_sent_today": self.counters.bytes_today,
            "refused": self.sender.refusals.report(),
            "backlog": None
            if stats is None
            else {
                "depth": stats.depth,
                "oldest_age_s": stats.oldest_age_s,
                "dropped": sum(stats.dropped_by_class.values()),
                "as_of": self.presence.stats_at,
            },
            "rate_limit": {
                "msgs_per_s": self._settings.uplink.sync.backlog_rate_msgs,
                "bytes_per_s": self._settings.uplink.sync.backlog_rate_bytes,
            },
        }

    async def sync_now(self) -> AsyncGenerator[dict[str, Any], None]:
        """Drain the backlog ignoring the rate limit; yield {sent, remaining} until it is empty
        (see Sender.drain_now)."""
        drain = self.sender.drain_now(lambda: self._sessions.link is not None)
        async with contextlib.aclosing(drain):  # a caller that stops early lifts the unlimit now
            async for stats, progress in drain:
                self.presence.keep_stats(stats)
                yield progress
