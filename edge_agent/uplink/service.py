"""The Uplink: one reconnect loop around a broker session that births, drains, answers and reports.

Each session runs its work as named tasks in a TaskGroup; when any of them sees the link drop,
the whole session ends and the loop reconnects after a jittered backoff capped at
`reconnect_max_s`, so a returning broker is reached again within about two seconds. The outage
is logged once, then as one `uplink_buffering` line a minute (outage.py), not once per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import structlog

from drivers.sdk import Logger
from edge_agent.settings.root import Settings
from edge_agent.store.errors import StoreError
from edge_agent.store.items import BacklogStats, StoredItem

from ..aio import wait_event
from ..backoff import Backoff
from .codec import CONTENT_TYPE_JSON, dump
from .commands import CommandService
from .counters import Counters
from .errors import LinkDown, UplinkError
from .health import HostProbe, build_health
from .link import Connector, Link, MqttConnector, Outgoing, classify, client_id_for
from .outage import Outage, Say
from .payloads import AgentState, StatusPayload
from .ports import AgentRouter, UplinkStore
from .sender import Sender
from .states import DeviceStates
from .topics import Topics

_META_SESSION = "uplink.session"


class _Stopped(Exception):
    """Raised inside the session to end it on purpose."""


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (nested) TaskGroup exception groups, in order."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


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
        self._settings, self._store, self._clock = settings, store, clock
        self._health_report = health
        self._config_hash, self._version = config_hash, version
        self._log = log or _default_log()
        agent, up = settings.agent, settings.uplink
        self.topics = Topics.for_agent(up.mqtt.topic_prefix, agent.branch_id, agent.agent_id)
        self._mqtt = MqttConnector(
            up.mqtt, client_id_for(up.mqtt, agent.branch_id, agent.agent_id), self._log
        )
        self._connector: Connector = connector or self._mqtt
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
        self._host = HostProbe(agent.data_dir)
        self._started_at = clock()
        self._session = 0
        self._link: Link | None = None
        self._connected_since: float | None = None
        self._last_error: str | None = None
        self._outage = Outage()
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._work: list[asyncio.Task[None]] = []  # the session's publishers, halted on stop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._stats: BacklogStats | None = None
        self._stats_at: float | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, and reconnect with jittered backoff, until cancelled or stopped."""
        self._loop = asyncio.get_running_loop()
        self._store.add_commit_listener(self._on_commit)
        await self.counters.load()
        mqtt = self._settings.uplink.mqtt
        backoff = Backoff(base_s=mqtt.reconnect_min_s, cap_s=mqtt.reconnect_max_s)
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                try:
                    await self._one_session(backoff)
                except _Stopped:
                    break
                except Exception as exc:  # noqa: BLE001 - the loop must survive anything a session throws
                    if await self._session_ended(exc):
                        break
                if self._stop.is_set():
                    break
                delay = backoff.next_delay()
                self._log.debug(
                    "uplink_reconnect_wait", delay_s=round(delay, 3), reason=self._last_error
                )
                await wait_event(self._stop, delay)
        finally:
            self._link, self._connected_since = None, None
            self._store.remove_commit_listener(self._on_commit)
            self._stopped.set()
            with contextlib.suppress(Exception):  # a closed store must not mask the real exit
                await self.counters.persist()

    async def _session_ended(self, exc: BaseException) -> bool:
        """Note a failed attempt; True when it was a deliberate stop. Logs sparingly (outage.py)."""
        leaves = _leaves(exc)
        if any(isinstance(e, _Stopped) for e in leaves):
            return True
        reason = classify(leaves[0]) if leaves else "disconnected"
        self._last_error = reason
        error = str(leaves[0]) if leaves else ""
        say = self._outage.failed()
        if say is Say.FIRST:
            if all(isinstance(e, LinkDown) for e in leaves):
                self._log.warning(
                    "uplink_disconnected", reason=reason, error=error, broker=self._mqtt.broker
                )
            else:
                self._log.error("uplink_session_crashed", reason=reason, error=repr(leaves[0]))
        elif say is Say.BUFFERING:
            depth = await self._backlog_depth()
            self._log.warning(
                "uplink_buffering",
                reason=reason,
                broker=self._mqtt.broker,
                attempts=self._outage.attempts,
                down_for_s=round(self._outage.down_for_s(), 1),
                backlog=depth,
            )
        else:
            self._log.debug("uplink_attempt_failed", reason=reason, error=error)
        return False

    async def _backlog_depth(self) -> int | None:
        try:
            self._stats, self._stats_at = await self._store.stats(), self._clock()
        except Exception as exc:  # noqa: BLE001 - a log line must not end the reconnect loop
            self._log.debug("uplink_backlog_unknown", error=repr(exc))
            return None
        return self._stats.depth

    async def _one_session(self, backoff: Backoff) -> None:
        session = await self._next_session()
        will = self._status_message(AgentState.OFFLINE, session)
        try:
            async with self._connector.connect(will) as link:
                await self._serve(link, session, backoff)
        finally:
            self._link, self._connected_since = None, None

    async def _serve(self, link: Link, session: int, backoff: Backoff) -> None:
        """Birth, then the session tasks; any of them failing ends the session."""
        try:
            await self._store.meta_set(_META_SESSION, str(session))
        except StoreError as exc:  # e.g. a full disk: draining matters most right now
            self._log.warning("uplink_session_not_saved", session=session, reason=exc.reason.value)
        self._session, self._link, self._connected_since = session, link, self._clock()
        self._last_error = None
        backoff.reset()
        ended = self._outage.recovered()
        if ended is None:
            self._log.info("uplink_connected", broker=self._mqtt.broker, session=session)
        else:
            self._log.info(
                "uplink_connected",
                broker=self._mqtt.broker,
                session=session,
                down_for_s=ended.down_for_s,
                failed_attempts=ended.attempts,
            )
        await link.subscribe(self.topics.commands)
        await self._birth(link)
        async with asyncio.TaskGroup() as tg:
            self._work = [
                tg.create_task(self.commands.serve(link), name="uplink.commands"),
                tg.create_task(self.sender.run(link), name="uplink.sender"),
                tg.create_task(self._health_loop(link), name="uplink.health"),
                tg.create_task(self.states.run(link), name="uplink.states"),
            ]
            tg.create_task(self._watch_stop(), name="uplink.stop")

    async def stop(self, budget_s: float | None = None) -> None:
        """Say `stopping` then `offline` (retained) and leave, within `budget_s` (default
        `uplink.stop_timeout_s`) whatever the broker does.

        The session's publishers are halted first so nothing new queues ahead of the goodbye.
        When the broker does not acknowledge `offline` in time (or this call is cancelled), the
        connection is dropped without a normal DISCONNECT, so the broker publishes the Will
        (`offline`) instead: a retained `online` must not outlive the agent.
        """
        budget = self._settings.uplink.stop_timeout_s if budget_s is None else budget_s
        deadline = asyncio.get_running_loop().time() + budget
        link, announced = self._link, False
        try:
            if link is not None:
                for task in self._work:
                    task.cancel()
                announced = await self._announce_offline(link, 0.6 * budget)
                if announced:
                    link.leave_cleanly()
            self._stop.set()
            if self._loop is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await self._stopped.wait()
        finally:
            self._stop.set()
            if link is not None and not self._stopped.is_set():
                link.abort()  # out of time (or cancelled): let the broker publish the Will
        self._log.info("uplink_stopped", session=self._session, announced=announced)

    async def _announce_offline(self, link: Link, timeout: float) -> bool:
        """Publish `stopping` then `offline`; True once the broker acknowledged both."""
        try:
            async with asyncio.timeout(timeout):
                await link.publish(self._status_message(AgentState.STOPPING, self._session))
                await link.publish(self._status_message(AgentState.OFFLINE, self._session))
        except (UplinkError, TimeoutError) as exc:
            error = str(exc) or "no PUBACK in time"
            self._log.warning("uplink_stop_unannounced", error=error, fallback="will")
            return False
        return True

    async def _watch_stop(self) -> None:
        await self._stop.wait()
        raise _Stopped

    async def _next_session(self) -> int:
        """The number this connect would get; it is kept only once the broker accepts us, so
        an hour of refused attempts does not use up an hour of session numbers."""
        raw = await self._store.meta_get(_META_SESSION)
        return (int(raw) if raw and raw.isdigit() else 0) + 1

    def _on_commit(self, items: Sequence[StoredItem]) -> None:
        """Store commit listener (runs in the loop): new items may be live, look now."""
        self.sender.wake()

    # --- retained topics ---------------------------------------------------------------------

    def _status_message(self, state: AgentState, session: int) -> Outgoing:
        payload = StatusPayload(
            state=state,
            session=max(1, session),
            version=self._version,
            config_hash=self._config_hash,
            started_at=self._started_at,
            ts=self._clock(),
        )
        return Outgoing(
            self.topics.status, dump(payload), retain=True, content_type=CONTENT_TYPE_JSON
        )

    async def _birth(self, link: Link) -> None:
        """Status online, every known device state, pending removals, then health."""
        await link.publish(self._status_message(AgentState.ONLINE, self._session))
        await self.states.birth(link)
        await self._publish_health(link)

    def device_state_changed(self, device_id: str, payload: dict[str, Any]) -> None:
        """Publish a device's retained state (now, or at the next connect).

        The runtime persists it in the store; the birth republishes from there.
        """
        self.states.changed(device_id, payload)

    def config_changed(self, config_hash: str) -> None:
        """A reload changed the running config: the retained status says so now (or at the next
        connect), so HQ sees which config runs."""
        self._config_hash = config_hash
        link = self._link
        if link is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._republish_status(link), name="uplink.status"
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _republish_status(self, link: Link) -> None:
        try:
            await link.publish(self._status_message(AgentState.ONLINE, self._session))
        except UplinkError as exc:  # the link went down: the next birth carries the new hash
            self._log.info("status_republish_skipped", error=str(exc))

    def device_removed(self, device_id: str) -> None:
        """Clear the device's retained state with an empty retained message."""
        self.states.removed(device_id)

    async def _health_loop(self, link: Link) -> None:
        while True:
            await asyncio.sleep(self._settings.uplink.health_interval_s)
            await self._publish_health(link)

    async def _publish_health(self, link: Link) -> None:
        self._stats, self._stats_at = await self._store.stats(), self._clock()
        payload = build_health(
            report=self._health_report,
            stats=self._stats,
            counters=self.counters,
            refused=self.sender.refusals.report(),
            host=self._host,
            session=self._session,
            ts=self._clock(),
            log=self._log,
        )
        body = dump(payload)
        await link.publish(
            Outgoing(self.topics.health, body, retain=True, content_type=CONTENT_TYPE_JSON)
        )
        await self.counters.persist()

    # --- _agent commands -------------------------------------------------------------------

    async def _rebirth(self, args: dict[str, Any]) -> dict[str, Any]:
        link = self._link
        if link is None:
            raise LinkDown("not connected")
        await self._birth(link)
        return {"republished": True, "session": self._session}

    async def _sync_now_cmd(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._link is None:  # nothing can be sent: say so, as `rebirth` and `sync now` do
            raise LinkDown("not connected")
        remaining = (await self._store.stats()).depth
        task = asyncio.get_running_loop().create_task(self._drain_quietly(), name="uplink.sync_now")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return {"started": True, "remaining": remaining}

    async def _drain_quietly(self) -> None:
        async for _ in self.sync_now():
            pass

    # --- for the control socket --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Connection and drain figures for `edge-agent status` and `edge-agent sync status`."""
        stats = self._stats
        connected = self._link is not None
        outage = self._outage
        return {
            "connected": connected,
            # buffering: not connected and retrying; accepted items wait in the store.
            "state": "connected" if connected else "buffering" if outage.active else "connecting",
            "reconnect_attempts": outage.attempts,
            "disconnected_for_s": round(outage.down_for_s(), 1) if outage.active else None,
            "broker": self._mqtt.broker,
            "since": self._connected_since,
            "session": self._session,
            "last_error": self._last_error,
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
                "as_of": self._stats_at,
            },
            "rate_limit": {
                "msgs_per_s": self._settings.uplink.sync.backlog_rate_msgs,
                "bytes_per_s": self._settings.uplink.sync.backlog_rate_bytes,
            },
        }

    async def sync_now(self) -> AsyncGenerator[dict[str, Any], None]:
        """Drain the backlog ignoring the rate limit; yield {sent, remaining} until it is empty
        (see Sender.drain_now)."""
        drain = self.sender.drain_now(lambda: self._link is not None)
        async with contextlib.aclosing(drain):  # a caller that stops early lifts the unlimit now
            async for stats, progress in drain:
                self._stats = stats
                yield progress
