"""One device's life: start, poll on schedule under a watchdog, restart with backoff, run commands.

Every device runs in its own task (`device[{id}]`). A driver that raises, hangs or crashes only
takes itself offline; the reason code says which, and `restarts` counts how often it came back.
A driver that blocks the event loop synchronously cannot be caught here; drivers must not do that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from drivers.registry import BUILTIN
from drivers.sdk import Command, DeviceConfig, Driver, DriverError, Reason, supported_actions
from drivers.sdk.events import Reading, event_kind_problem, python_data
from drivers.sdk.messages import validation_text
from drivers.sdk.secret_file import read_secret_file

from ..aio import wait_event
from ..backoff import Backoff
from ..logging import register_secret
from ..store.errors import StoreError, StoreErrorReason
from ..store.items import ItemClass, NewItem
from ..store.records import dumps as strict_json

#: A state change is reported at once when online/reason change; otherwise at most this often.
STATE_MIN_INTERVAL_S = 1.0
#: A change only in a driver's `volatile_state` keys (readings), at most this often.
VOLATILE_MIN_INTERVAL_S = 60.0
#: How long a driver's stop (closing its socket or port) may take before it is left behind.
DRIVER_STOP_S = 2.0
PROBE_RETRY_S = 15.0  # `devices probe` waits at most this for an offline device's fresh attempt


class DeviceOffline(Exception):
    """A command arrived while the device is not connected."""


@dataclass
class DeviceStatus:
    """What `devices show` and the retained MQTT state report."""

    id: str
    driver: str
    online: bool = False
    reason: Reason = Reason.STARTING
    detail: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    last_seen: float | None = None
    restarts: int = 0
    since: float = field(default_factory=time.time)
    next_retry_at: float | None = None

    def payload(self, now: float) -> dict[str, Any]:
        """The `devices/{id}/state` payload of the MQTT contract, and the `state` event's `data`
        (uplink.payloads.DeviceStatePayload; a plain dict so a daemon without an uplink never
        imports it)."""
        return {
            "online": self.online,
            "reason": self.reason.value,
            "detail": self.detail,
            "state": self.state,
            "last_seen": self.last_seen,
            "ts": now,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "driver": self.driver,
            "online": self.online,
            "reason": self.reason.value,
            "detail": self.detail,
            "state": self.state,
            "last_seen": self.last_seen,
            "restarts": self.restarts,
            "since": self.since,
            "next_retry_at": self.next_retry_at,
        }


class DeviceContext:
    """The `DriverContext` a driver gets: emits go to the store, never to disk or network directly."""

    def __init__(
        self,
        device_id: str,
        submit: Callable[[NewItem], None],
        clock: Callable[[], float],
        memory: dict[str, Any] | None = None,
        taken_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self.device_id = device_id
        self._taken_kinds = taken_kinds  # other drivers' event kinds (built-ins', for a plugin)
        self.memory: dict[str, Any] = {} if memory is None else memory
        self.log = structlog.get_logger("drivers").bind(device=device_id)
        self._submit = submit
        self._clock = clock
        self._refused: set[str] = set()  # reading names and `event:KIND`s logged as refused

    def now(self) -> float:
        return self._clock()

    def emit_reading(
        self, name: str, value: float | int | bool | str, unit: str | None = None
    ) -> None:
        """One reading; one whose value JSON cannot carry (NaN, an overflow to inf, None) is
        dropped and logged once per name: one bad sample must not take the device offline."""
        try:
            data = Reading(name=name, value=value, unit=unit).data()
        except ValidationError as exc:
            self._refuse_once(name, "reading_refused", name=name, error=validation_text(exc))
            return
        self._submit(NewItem(ItemClass.READING, "reading", self.device_id, self._clock(), data))

    def emit_event(self, kind: str, data: Mapping[str, Any]) -> None:
        """One event; one whose `data` is not plain JSON (a NaN, a set) is dropped by the store's
        check and logged once per kind, like a bad reading. So is one whose kind cannot name an
        event (`drivers.sdk.events.event_kind_problem`: the daemon's own `state` or `reading`,
        a topic level it would have to rewrite) or is a built-in driver's, for a plugin: HQ
        reads `events/{kind}` with that kind's schema."""
        problem = event_kind_problem(kind)
        if problem is None and kind in self._taken_kinds:
            problem = (
                f"event kind {kind!r} belongs to a built-in driver (docs/schemas/); "
                "name your events after your driver (`acme_overheat`)"
            )
        if problem is None:
            try:
                plain = python_data(dict(data))  # numpy values as the Python values they hold
                item = NewItem(ItemClass.EVENT, kind, self.device_id, self._clock(), plain)
                self._submit(item)
            except StoreError as exc:
                if exc.reason is not StoreErrorReason.INVALID_ITEM:
                    raise
                problem = exc.message
        if problem is not None:
            self._refuse_once(f"event:{kind}", "event_refused", kind=kind, error=problem)

    def _refuse_once(self, key: str, event: str, **fields: Any) -> None:
        """Say that something emitted was dropped, once per reading name or event kind."""
        if key not in self._refused:
            self._refused.add(key)
            self.log.warning(event, **fields)

    def read_secret(self, path: Path) -> str:
        value = read_secret_file(path)
        register_secret(value)
        return value


class DeviceRunner:
    """Owns one driver instance at a time and the loop that keeps it alive."""

    def __init__(
        self,
        config: DeviceConfig,
        driver_cls: type[Driver],
        *,
        submit: Callable[[NewItem], None],
        on_state: Callable[[DeviceStatus], None],
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.driver_cls = driver_cls
        self.status = DeviceStatus(id=config.id, driver=str(getattr(config, "driver", "?")))
        self.actions: dict[str, type[BaseModel]] = supported_actions(
            driver_cls.capabilities, driver_cls.extra_actions
        )
        self._submit = submit
        self._on_state = on_state
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._driver: Driver | None = None
        self._memory: dict[str, Any] = {}  # the drivers' own, across sessions (ctx.memory)
        # A plugin may not send under a built-in driver's event kind (their schemas are HQ's).
        self._taken_kinds: frozenset[str] = frozenset()
        if self.status.driver not in BUILTIN:
            from drivers.events import builtin_kinds  # the built-in drivers' event models

            self._taken_kinds = builtin_kinds()
        self._wake = asyncio.Event()  # poll now (after a command)
        self._retry_now = asyncio.Event()  # reconnect now (after an offline action)
        self._last_emit = 0.0
        self._dirty = False  # a state change not yet sent (held back by STATE_MIN_INTERVAL_S)
        self._drifted = False  # only volatile keys changed since the last state event
        self._held: asyncio.TimerHandle | None = None  # sends a held-back change when it is due
        self.log = structlog.get_logger("edge_agent.device").bind(device=config.id)

    def _context(self) -> DeviceContext:
        return DeviceContext(
            self.config.id, self._submit, self._clock, self._memory, self._taken_kinds
        )

    @property
    def watchdog_s(self) -> float:
        """How long start/poll may take before the device counts as hung."""
        c = self.config
        return max(5.0, 4 * c.timeout_s * (c.retries + 1))

    def _poll_limit(self, driver: Driver) -> float:
        """The watchdog, or longer for a driver whose poll may take longer when every request
        in it times out (`poll_budget_s`: a Modbus bus of many units). The budget sums the
        timeouts alone; half as much again covers the work between them on a busy PC."""
        budget = getattr(driver, "poll_budget_s", None)
        if not isinstance(budget, int | float):
            return self.watchdog_s
        return max(self.watchdog_s, 1.5 * float(budget) + 2 * self.config.timeout_s + 1.0)

    def _report(
        self,
        *,
        online: bool,
        reason: Reason,
        detail: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        st, now = self.status, self._clock()
        headline = online != st.online or reason != st.reason or detail != st.detail
        new_state = dict(state) if state is not None else st.state
        if state is not None:
            try:
                strict_json(new_state, "device state")
            except StoreError as exc:
                # A driver handed over a state no store or HQ can keep (NaN, bytes): keep the last
                # good one, so this report and every later one still go out.
                self.log.error("device_state_rejected", error=exc.message)  # noqa: TRY400 - bad data, no traceback
                new_state = st.state
        volatile: frozenset[str] = getattr(
            self._driver or self.driver_cls, "volatile_state", frozenset()
        )
        changed = headline or _settled(new_state, volatile) != _settled(st.state, volatile)
        drifted = new_state != st.state  # only readings such as an RSSI or an age moved
        if headline:
            st.since = now
        st.online, st.reason, st.detail, st.state = online, reason, detail, new_state
        if online:
            st.last_seen = now
            st.next_retry_at = None
        self._dirty = self._dirty or changed
        self._drifted = self._drifted or drifted
        since = now - self._last_emit
        due = headline or (
            since >= STATE_MIN_INTERVAL_S
            if self._dirty
            else self._drifted and since >= VOLATILE_MIN_INTERVAL_S
        )
        if due:
            self._emit(now)
        elif self._dirty and self._held is None:
            # Held back: sent once STATE_MIN_INTERVAL_S has passed, not at the next poll (which
            # may be minutes away), so HQ sees the second of two quick commands in about 1 s.
            with contextlib.suppress(RuntimeError):  # no running loop: the next report sends it
                self._held = asyncio.get_running_loop().call_later(
                    max(0.0, STATE_MIN_INTERVAL_S - since), self._send_held
                )

    def _send_held(self) -> None:
        self._held = None
        if self._dirty:
            self._emit(self._clock())

    def _emit(self, now: float) -> None:
        if self._held is not None:
            self._held.cancel()
            self._held = None
        st = self.status
        self._last_emit, self._dirty, self._drifted = now, False, False
        self._submit(NewItem(ItemClass.EVENT, "state", st.id, now, st.payload(now)))
        self._on_state(st)

    async def run(self) -> None:
        """Until cancelled: start, poll, and on any failure stop, back off and start again."""
        if not self.config.enabled:
            self._report(online=False, reason=Reason.DISABLED, detail="enabled: false in config")
            return
        try:
            attempt = 0
            while True:
                reason, detail = await self._session()
                if self.status.online:
                    attempt = 0  # it worked for a while: retry quickly
                self.status.restarts += 1
                delay = self._backoff.delay(attempt)
                attempt += 1
                self.status.next_retry_at = self._clock() + delay
                self._report(online=False, reason=reason, detail=detail)
                # A warning when the device goes down, then one info line a retry while it stays
                # down: a dead projector does not fill the journal's warnings all night.
                level = self.log.warning if attempt == 1 else self.log.info
                level(
                    "device_restarting",
                    reason=reason.value,
                    detail=detail,
                    restarts=self.status.restarts,
                    retry_in_s=round(delay, 2),
                )
                self._retry_now.clear()
                # Woken on purpose (e.g. after Wake-on-LAN): start the backoff afresh.
                if await wait_event(self._retry_now, delay):
                    attempt = 0
        finally:
            if self._dirty:  # a change still held back: it goes before the device stops
                with contextlib.suppress(StoreError):  # the store already closed: nothing to do
                    self._emit(self._clock())

    async def _session(self) -> tuple[Reason, str]:
        driver = self.driver_cls(self.config, self._context())
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancel of a stop or a
        # reload that lands as the driver answers, and the supervisor then waits out its 3 s.
        try:
            async with asyncio.timeout(self.watchdog_s):
                await driver.start()
            self._driver = driver
            self.log.info("device_started")
            poll_limit = self._poll_limit(driver)
            while True:
                async with asyncio.timeout(poll_limit):
                    state = await driver.poll()
                self._report(online=True, reason=Reason.OK, state=state)
                self._wake.clear()
                await wait_event(self._wake, self.config.poll_interval_s)
        except DriverError as exc:
            return exc.reason, exc.message
        except TimeoutError:
            limit = self._poll_limit(driver) if self._driver is driver else self.watchdog_s
            return Reason.HUNG, f"no answer from the driver within {limit:g} s"
        except Exception as exc:  # a driver bug: isolate it, keep the daemon running
            self.log.exception("device_crashed")
            return Reason.CRASHED, f"{type(exc).__name__}: {exc}"
        finally:
            self._driver = None
            await self._stop_driver(driver)

    async def _stop_driver(self, driver: Driver) -> None:
        try:
            await asyncio.shield(asyncio.wait_for(driver.stop(), DRIVER_STOP_S))
        except Exception as exc:  # noqa: BLE001 - stop must not raise; note it and move on
            self.log.warning("device_stop_failed", error=f"{type(exc).__name__}: {exc}")

    async def execute(self, command: Command) -> Mapping[str, Any]:
        """Run a validated command on the live driver, then poll soon so state reflects it.

        A driver may name `offline_actions` (class attribute) that work without a session, such
        as Wake-on-LAN: those run on a short-lived instance while the device is down, and the
        supervisor then retries the connection at once instead of waiting out its backoff.
        """
        driver = self._driver
        if driver is not None:
            try:
                result = await self._execute_on(driver, command)
            finally:
                if self._driver is not driver:
                    # The session ended while the command waited for the driver: the command
                    # may have reconnected it (a socket, a heartbeat task). Close that again.
                    await self._stop_driver(driver)
            self._wake.set()
            return result
        if command.action not in getattr(self.driver_cls, "offline_actions", frozenset()):
            raise DeviceOffline(f"{self.config.id} is offline ({self.status.reason.value})")
        temporary = self.driver_cls(self.config, self._context())
        try:
            result = await self._execute_on(temporary, command)
        finally:
            await self._stop_driver(temporary)
        self._retry_now.set()
        return result

    async def _execute_on(self, driver: Driver, command: Command) -> Mapping[str, Any]:
        # Each request in a command has its own timeout in the driver, which fails it with a
        # DeviceTimeout; this is the safety net for the whole command, which may be several
        # round trips (a PJLink set and its read-backs), so it is the watchdog, not one request.
        try:
            return await asyncio.wait_for(driver.execute(command), self.watchdog_s)
        except TimeoutError:
            raise DriverError(
                f"the command took longer than {self.watchdog_s:g} s", reason=Reason.TIMEOUT
            ) from None

    async def probe(self) -> Mapping[str, Any]:
        """Identify the device. One that is offline is tried again now, not after its backoff:
        `devices probe` is what an engineer runs after fixing a cable or a setting."""
        if self._driver is None and self.config.enabled:
            tries = self.status.restarts
            self._retry_now.set()
            deadline = time.monotonic() + min(self.watchdog_s + 1.0, PROBE_RETRY_S)
            while self._driver is None and self.status.restarts == tries:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
        driver = self._driver
        if driver is None:
            st = self.status
            why = f"{st.reason.value}: {st.detail}" if st.detail else st.reason.value
            raise DeviceOffline(f"{self.config.id} is offline ({why})")
        return await asyncio.wait_for(driver.probe(), self.watchdog_s)


def _settled(state: Mapping[str, Any], volatile: frozenset[str]) -> dict[str, Any]:
    """The state without the keys the driver calls volatile: what a change is judged by."""
    return {k: v for k, v in state.items() if k not in volatile}
