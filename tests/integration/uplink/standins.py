"""Stand-ins for the store and the command router, used until the real Store lands.

They keep to the interfaces the uplink is written against (edge_agent.uplink.ports.UplinkStore
and edge_agent.commands.CommandRouter) and are deliberately small.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from drivers.sdk import DriverError, InvalidArgument, Unsupported, build_command, supported_actions
from drivers.sdk.testing import RecordingContext
from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig
from edge_agent.commands import CommandError, CommandErrorCode, CommandRequest, CommandResult
from edge_agent.store.items import BacklogStats, ItemClass, NewItem, StoredItem


class MemoryStore:
    """An in-memory outbox with the async surface of edge_agent.store.Store."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._unsent: dict[ItemClass, dict[str, StoredItem]] = {c: {} for c in ItemClass}
        self.sent: dict[str, float] = {}
        self._seq = 0
        self._listeners: list[Callable[[Sequence[StoredItem]], None]] = []
        self.meta: dict[str, str] = {}
        self.states: dict[str, dict[str, Any]] = {}

    def add(
        self, items: Iterable[NewItem], *, accepted_at: float | None = None
    ) -> list[StoredItem]:
        now = self._clock() if accepted_at is None else accepted_at
        out = []
        for new in items:
            self._seq += 1
            item = StoredItem(
                id=uuid.uuid4().hex, seq=self._seq, cls=new.cls, kind=new.kind, device=new.device,
                ts=new.ts, accepted_at=now, data=dict(new.data),
            )  # fmt: skip
            self._unsent[item.cls][item.id] = item
            out.append(item)
        for fn in self._listeners:
            fn(out)
        return out

    async def pending(
        self,
        limit: int,
        *,
        accepted_after: float | None = None,
        accepted_before: float | None = None,
    ) -> list[StoredItem]:
        out: list[StoredItem] = []
        for cls in ItemClass:
            for item in self._unsent[cls].values():
                if len(out) >= limit:
                    return out
                if accepted_after is not None and item.accepted_at < accepted_after:
                    continue
                if accepted_before is not None and item.accepted_at >= accepted_before:
                    continue
                out.append(item)
        return out

    async def mark_sent(self, ids: Sequence[str]) -> int:
        now, n = self._clock(), 0
        for i in ids:
            for bucket in self._unsent.values():
                if bucket.pop(i, None) is not None:
                    self.sent[i] = now
                    n += 1
                    break
        return n

    def depth(self) -> int:
        return sum(len(b) for b in self._unsent.values())

    async def stats(self) -> BacklogStats:
        oldest = min(
            (next(iter(b.values())).accepted_at for b in self._unsent.values() if b), default=None
        )
        return BacklogStats(
            depth=self.depth(),
            depth_by_class={c.label: len(b) for c, b in self._unsent.items()},
            oldest_age_s=None if oldest is None else max(0.0, self._clock() - oldest),
            dropped_by_class={c.label: 0 for c in ItemClass},
            accepted_total=self._seq, last_seq=self._seq, db_size_bytes=0,
        )  # fmt: skip

    def add_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> None:
        self._listeners.append(fn)

    def remove_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    async def device_states(self) -> dict[str, dict[str, Any]]:
        return dict(self.states)

    async def meta_get(self, key: str) -> str | None:
        return self.meta.get(key)

    async def meta_set(self, key: str, value: str) -> None:
        self.meta[key] = value


class DisplayRouter:
    """Routes to SimulatedDisplay instances: expiry, allow-list, args, idempotency by id."""

    def __init__(
        self, allowed: dict[str, list[str] | None], clock: Callable[[], float] = time.time
    ) -> None:
        self.ctx = RecordingContext()
        self.displays = {
            dev: (
                SimulatedDisplay(
                    SimulatedDisplayConfig(id=dev, driver="simulated_display"), self.ctx
                ),
                acl,
            )
            for dev, acl in allowed.items()
        }
        self._clock = clock
        self._done: dict[str, CommandResult] = {}
        self.executions = 0

    def _fail(self, req: CommandRequest, code: CommandErrorCode, msg: str) -> CommandResult:
        return CommandResult(
            id=req.id, ok=False, error=CommandError(code=code, message=msg), ts=self._clock()
        )

    async def execute(self, request: CommandRequest) -> CommandResult:
        if request.id in self._done:
            return self._done[request.id].model_copy(update={"replayed": True})
        result = await self._run(request)
        self._done[request.id] = result
        return result

    async def _run(self, req: CommandRequest) -> CommandResult:
        if req.expires_at is not None and req.expires_at < self._clock():
            return self._fail(req, CommandErrorCode.EXPIRED, "expired")
        entry = self.displays.get(req.device)
        if entry is None:
            return self._fail(req, CommandErrorCode.UNKNOWN_DEVICE, f"no device {req.device!r}")
        display, acl = entry
        if acl is not None and req.action not in acl:
            return self._fail(req, CommandErrorCode.FORBIDDEN, f"{req.action!r} not allowed")
        try:
            cmd = build_command(supported_actions(display.capabilities), req.action, req.args)
            self.executions += 1
            state = await display.execute(cmd)
        except Unsupported as exc:
            return self._fail(req, CommandErrorCode.UNKNOWN_ACTION, exc.message)
        except InvalidArgument as exc:
            return self._fail(req, CommandErrorCode.INVALID_ARGUMENT, exc.message)
        except DriverError as exc:
            return self._fail(req, CommandErrorCode.DEVICE_ERROR, exc.message)
        return CommandResult(id=req.id, ok=True, result=dict(state), ts=self._clock())


def events(
    n: int, *, kind: str = "footfall", cls: ItemClass = ItemClass.EVENT, pad: int = 40
) -> list[NewItem]:
    now = time.time()
    return [
        NewItem(cls=cls, kind=kind, device="cam-1", ts=now, data={"n": i, "pad": "x" * pad})
        for i in range(n)
    ]
