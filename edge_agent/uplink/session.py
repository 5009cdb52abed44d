"""The reconnect loop: one broker session after another, until the uplink is stopped.

Each session runs its work as named tasks in a TaskGroup; when any of them sees the link drop,
the whole session ends and the loop reconnects after a jittered backoff capped at
`reconnect_max_s`, so a returning broker is reached again within about two seconds. The outage
is logged once, then as one `uplink_buffering` line a minute (outage.py), not once per attempt,
and as one `uplink_reason_changed` line when its cause changes (at most one a minute after that).
Sessions the broker keeps ending right after connect mean another client uses our client id
(takeover.py): one warning then, not a connect and a disconnect line per session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from drivers.sdk import Logger
from edge_agent.settings.uplink import UplinkSettings
from edge_agent.store.errors import StoreError
from edge_agent.store.items import StoredItem

from ..aio import wait_event
from ..backoff import Backoff
from .commands import CommandService
from .counters import Counters
from .errors import CertificateOutOfDate, LinkDown, UplinkError
from .link import Connector, Link, classify
from .outage import Outage, Say
from .payloads import AgentState
from .ports import UplinkStore
from .presence import Presence
from .sender import Sender
from .states import DeviceStates
from .takeover import Takeover
from .topics import Topics

_META_SESSION = "uplink.session"


class _Stopped(Exception):
    """Raised inside the session to end it on purpose."""


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (nested) TaskGroup exception groups, in order."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


class SessionLoop:
    """Connects, births, runs the session's tasks, and reconnects; says goodbye on `stop`.

    `link`, `session`, `connected_since`, `last_error` (a reason code), `last_error_detail`,
    `certificate`, `outage` and `takeover` are for reading (status).
    """

    def __init__(
        self,
        settings: UplinkSettings,
        store: UplinkStore,
        connector: Connector,
        *,
        broker: str,
        topics: Topics,
        presence: Presence,
        commands: CommandService,
        sender: Sender,
        states: DeviceStates,
        counters: Counters,
        takeover: Takeover,
        clock: Callable[[], float],
        log: Logger,
    ) -> None:
        self._settings, self._store, self._connector = settings, store, connector
        self.broker, self._topics, self._presence = broker, topics, presence
        self._commands, self._sender, self._states = commands, sender, states
        self._counters, self._clock, self._log = counters, clock, log
        self.session = 0
        self.link: Link | None = None
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self.last_error_detail: str | None = None  # the error's own words, for `status`
        self.certificate: dict[str, str | None] | None = None  # a certificate out of date
        self.outage = Outage()
        self.takeover = takeover
        self._ended: Link | None = None  # the link of the session that just ended, if it connected
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._work: list[asyncio.Task[None]] = []  # the session's publishers, halted on stop
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        """Connect, and reconnect with jittered backoff, until cancelled or stopped."""
        self._loop = asyncio.get_running_loop()
        self._store.add_commit_listener(self._on_commit)
        await self._counters.load()
        mqtt = self._settings.mqtt
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
                    "uplink_reconnect_wait", delay_s=round(delay, 3), reason=self.last_error
                )
                await wait_event(self._stop, delay)
        finally:
            self.link, self.connected_since = None, None
            self._store.remove_commit_listener(self._on_commit)
            self._stopped.set()
            with contextlib.suppress(Exception):  # a closed store must not mask the real exit
                await self._counters.persist()

    async def _session_ended(self, exc: BaseException) -> bool:
        """Note a failed attempt; True when it was a deliberate stop. Logs sparingly (outage.py)."""
        leaves = _leaves(exc)
        if any(isinstance(e, _Stopped) for e in leaves):
            return True
        reason = classify(leaves[0]) if leaves else "disconnected"
        self.last_error = reason
        error = str(leaves[0]) if leaves else ""
        self.last_error_detail = error or None
        dates = next((e for e in leaves if isinstance(e, CertificateOutOfDate)), None)
        self.certificate = dates.as_dict() if dates is not None else None
        down = all(isinstance(e, LinkDown) for e in leaves)  # not our own crash
        ended, self._ended = self._ended, None
        if ended is None:
            self.takeover.connect_failed()
        else:
            self.takeover.ended(by_broker=down, reason_code=ended.disconnect_reason)
        say = self.outage.failed(reason)
        if say in (Say.FIRST, Say.CHANGED) and self.takeover.suspicion is not None:
            say = Say.NOTHING  # its warning said it; not one more line per session taken over
        extra = {"tls_error": dates.error} if dates is not None else {}
        if say is Say.FIRST:
            if down:
                self._log.warning(
                    "uplink_disconnected", reason=reason, error=error, broker=self.broker, **extra
                )
            else:
                self._log.error("uplink_session_crashed", reason=reason, error=repr(leaves[0]))
        elif say is Say.CHANGED:  # e.g. the broker is back, but refuses us now (outage.py)
            self._log.warning(
                "uplink_reason_changed",
                reason=reason,
                was=self.outage.was,
                error=error if down else repr(leaves[0]),
                broker=self.broker,
                **self._outage_figures(await self._backlog_depth()),
                **extra,
            )
        elif say is Say.BUFFERING:
            self._log.warning(
                "uplink_buffering",
                reason=reason,
                broker=self.broker,
                **self._outage_figures(await self._backlog_depth()),
            )
        else:
            self._log.debug("uplink_attempt_failed", reason=reason, error=error)
        return False

    def _outage_figures(self, backlog: int | None) -> dict[str, int | float | None]:
        return {
            "attempts": self.outage.attempts,
            "down_for_s": round(self.outage.down_for_s(), 1),
            "backlog": backlog,
        }

    async def _backlog_depth(self) -> int | None:
        try:
            return (await self._presence.read_stats()).depth
        except Exception as exc:  # noqa: BLE001 - a log line must not end the reconnect loop
            self._log.debug("uplink_backlog_unknown", error=repr(exc))
            return None

    async def _one_session(self, backoff: Backoff) -> None:
        self._ended = None
        session = await self._next_session()
        will = self._presence.status_message(AgentState.OFFLINE, session)
        try:
            async with self._connector.connect(will) as link:
                await self._serve(link, session, backoff)
        finally:
            self.link, self.connected_since = None, None

    async def _serve(self, link: Link, session: int, backoff: Backoff) -> None:
        """Birth, then the session tasks; any of them failing ends the session."""
        try:
            await self._store.meta_set(_META_SESSION, str(session))
        except StoreError as exc:  # e.g. a full disk: draining matters most right now
            self._log.warning("uplink_session_not_saved", session=session, reason=exc.reason.value)
        self.session, self.link, self.connected_since = session, link, self._clock()
        self.last_error = self.last_error_detail = self.certificate = None
        self._ended = link
        self.takeover.connected()
        if self.takeover.suspicion is None:
            backoff.reset()
        # else the twin and we would kick each other off several times a second, each time
        # flipping HQ's retained status: the backoff grows to `reconnect_max_s` instead.
        ended = self.outage.recovered()
        if self.takeover.suspicion is not None:
            self._log.debug("uplink_connected", broker=self.broker, session=session)
        elif ended is None:
            self._log.info("uplink_connected", broker=self.broker, session=session)
        else:
            self._log.info(
                "uplink_connected",
                broker=self.broker,
                session=session,
                down_for_s=ended.down_for_s,
                failed_attempts=ended.attempts,
            )
        await link.subscribe(self._topics.commands)
        await self._presence.birth(link, session)
        async with asyncio.TaskGroup() as tg:
            self._work = [
                tg.create_task(self._commands.serve(link), name="uplink.commands"),
                tg.create_task(self._sender.run(link), name="uplink.sender"),
                tg.create_task(self._presence.health_loop(link, session), name="uplink.health"),
                tg.create_task(self._states.run(link), name="uplink.states"),
                tg.create_task(self._settled(link, session, backoff), name="uplink.settled"),
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
        budget = self._settings.stop_timeout_s if budget_s is None else budget_s
        deadline = asyncio.get_running_loop().time() + budget
        link, announced = self.link, False
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
        self._log.info("uplink_stopped", session=self.session, announced=announced)

    async def _announce_offline(self, link: Link, timeout: float) -> bool:
        """Publish `stopping` then `offline`; True once the broker acknowledged both."""
        try:
            async with asyncio.timeout(timeout):
                await link.publish(self._presence.status_message(AgentState.STOPPING, self.session))
                await link.publish(self._presence.status_message(AgentState.OFFLINE, self.session))
        except (UplinkError, TimeoutError) as exc:
            error = str(exc) or "no PUBACK in time"
            self._log.warning("uplink_stop_unannounced", error=error, fallback="will")
            return False
        return True

    async def _settled(self, link: Link, session: int, backoff: Backoff) -> None:
        """Once this session has lasted, nobody is taking it over: clear a suspicion, reset the
        backoff the suspicion kept growing (the next outage is retried at once again), and
        republish health so HQ's retained copy stops saying so."""
        await asyncio.sleep(self.takeover.short_s)
        if self.takeover.lasted():
            backoff.reset()
            await self._presence.publish_health(link, session)

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
        self._sender.wake()
