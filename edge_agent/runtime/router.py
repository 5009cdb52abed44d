"""The one command path: the CLI and MQTT both come through `Router.execute`."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from drivers.sdk import DriverError, InvalidArgument, Reason, Unsupported, build_command

from ..commands import CommandError, CommandErrorCode, CommandRequest, CommandResult
from ..store import Store, StoreError, StoreErrorReason
from .device import DeviceOffline
from .supervisor import Supervisor

log = structlog.get_logger("edge_agent.commands")

UNRECORDED_MAX = 1000  # answers kept in memory while the audit cannot be written (a full disk)
#: Store errors that pass: a command's audit row waits in memory for them.
_WRITE_LATER = frozenset({StoreErrorReason.DISK_FULL, StoreErrorReason.IO_ERROR})

AGENT = "_agent"
AgentAction = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class Router:
    """Checks expiry, the remote allow-list and arguments; replays stored results; audits."""

    def __init__(
        self,
        supervisor: Supervisor,
        store: Store,
        *,
        agent_actions: Mapping[str, AgentAction],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._supervisor = supervisor
        self._store = store
        self._agent_actions = dict(agent_actions)
        self._clock = clock
        self._inflight: dict[str, asyncio.Future[CommandResult]] = {}
        self._unrecorded: OrderedDict[str, tuple[CommandRequest, CommandResult]] = OrderedDict()
        self._catch_up: asyncio.Task[None] | None = None

    def add_agent_action(self, name: str, action: AgentAction) -> None:
        self._agent_actions[name] = action

    async def execute(self, request: CommandRequest) -> CommandResult:
        """Idempotent by `request.id`: a repeat gets the stored result and never acts twice.

        The in-flight future is registered before the first await, so a second copy arriving
        while the first is still being checked or run waits for it instead of acting again.
        """
        running = self._inflight.get(request.id)
        if running is not None:
            return (await asyncio.shield(running)).model_copy(update={"replayed": True})
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._inflight[request.id] = future
        try:
            stored = await self._stored(request.id)
            if stored is not None:
                result = stored.model_copy(update={"replayed": True})
                future.set_result(result)
                return result
            result = await self._run(request)
            await self._record(request, result)
            future.set_result(result)
            log.info(
                "command_done",
                id=request.id,
                device=request.device,
                action=request.action,
                source=request.source,
                ok=result.ok,
                error=result.error.code.value if result.error else None,
            )
            return result
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(request.id, None)

    async def _stored(self, command_id: str) -> CommandResult | None:
        kept = self._unrecorded.get(command_id)
        if kept is not None:
            return kept[1]
        stored = await self._store.command_get(command_id)
        return None if stored is None else CommandResult.model_validate(stored["result"])

    async def _record(self, request: CommandRequest, result: CommandResult) -> None:
        """Audit a command that has run. When the store cannot write now (a full disk), the
        device has still acted: the answer is kept in memory, so a repeat of the id is answered
        from there and does not act twice, and the caller gets the real result. Once a write
        works again, the kept ones are written in the background, so the audit catches up."""
        if not await self._write_audit(request, result):
            self._unrecorded[request.id] = (request, result)
            while len(self._unrecorded) > UNRECORDED_MAX:
                lost, _ = self._unrecorded.popitem(last=False)
                log.error("command_audit_lost", id=lost, held=UNRECORDED_MAX)
        elif self._unrecorded and (self._catch_up is None or self._catch_up.done()):
            self._catch_up = asyncio.create_task(self._write_held(), name="router.audit_catch_up")

    async def _write_held(self) -> None:
        for command_id, (request, result) in list(self._unrecorded.items()):
            if not await self._write_audit(request, result):
                return  # still failing: the next audited command tries again
            self._unrecorded.pop(command_id, None)

    async def _write_audit(self, request: CommandRequest, result: CommandResult) -> bool:
        """True once the row is written, or can never be (logged and dropped); False while the
        store cannot write for now (a full disk, an I/O error): keep it and try again later."""
        try:
            await self._store.command_record(
                request.model_dump(mode="json"), result.model_dump(mode="json")
            )
        except StoreError as exc:
            if exc.reason in _WRITE_LATER:
                log.error(  # noqa: TRY400 - the store already said why; no traceback
                    "command_audit_failed", id=request.id, device=request.device, error=str(exc)
                )
                return False
            log.error("command_audit_refused", id=request.id, error=str(exc))  # noqa: TRY400
        except ValueError as exc:  # a result no JSON can hold: it can never be written
            log.error("command_audit_refused", id=request.id, error=str(exc))  # noqa: TRY400
        return True

    def _fail(
        self,
        request: CommandRequest,
        code: CommandErrorCode,
        message: str,
        reason: str | None = None,
    ) -> CommandResult:
        return CommandResult(
            id=request.id,
            ok=False,
            ts=self._clock(),
            error=CommandError(code=code, message=message, reason=reason),
        )

    async def _run(self, request: CommandRequest) -> CommandResult:
        now = self._clock()
        if request.expires_at is not None and request.expires_at < now:
            return self._fail(
                request, CommandErrorCode.EXPIRED, f"expired {now - request.expires_at:.1f} s ago"
            )
        if request.device == AGENT:
            return await self._run_agent(request)
        runner = self._supervisor.get(request.device)
        if runner is None:
            return self._fail(
                request,
                CommandErrorCode.UNKNOWN_DEVICE,
                f"no device {request.device!r} in the config",
            )
        allowed = runner.config.allowed_actions
        if request.source != "cli" and allowed is not None and request.action not in allowed:
            return self._fail(
                request,
                CommandErrorCode.FORBIDDEN,
                f"action {request.action!r} is not in allowed_actions of {request.device}",
            )
        try:
            command = build_command(runner.actions, request.action, request.args)
        except Unsupported as exc:
            return self._fail(request, CommandErrorCode.UNKNOWN_ACTION, exc.message)
        except InvalidArgument as exc:
            return self._fail(request, CommandErrorCode.INVALID_ARGUMENT, exc.message)
        try:
            result = await runner.execute(command)
        except DeviceOffline as exc:
            return self._fail(
                request, CommandErrorCode.DEVICE_OFFLINE, str(exc), runner.status.reason.value
            )
        except DriverError as exc:
            code = {
                Reason.TIMEOUT: CommandErrorCode.TIMEOUT,
                Reason.INVALID_ARGUMENT: CommandErrorCode.INVALID_ARGUMENT,
                Reason.UNSUPPORTED: CommandErrorCode.UNKNOWN_ACTION,
            }.get(exc.reason, CommandErrorCode.DEVICE_ERROR)
            return self._fail(request, code, exc.message, exc.reason.value)
        except Exception as exc:  # a driver bug answers as an error; the daemon keeps running
            log.exception("command_crashed", device=request.device, action=request.action)
            return self._fail(
                request,
                CommandErrorCode.INTERNAL,
                f"{type(exc).__name__}: {exc}",
                Reason.CRASHED.value,
            )
        return CommandResult(id=request.id, ok=True, result=dict(result), ts=self._clock())

    async def _run_agent(self, request: CommandRequest) -> CommandResult:
        action = self._agent_actions.get(request.action)
        if action is None:
            known = ", ".join(sorted(self._agent_actions))
            return self._fail(request, CommandErrorCode.UNKNOWN_ACTION, f"agent actions: {known}")
        try:
            result = await action(request.args)
        except Exception as exc:  # noqa: BLE001 - `rebirth` with no broker: an answer, not a crash
            log.warning(
                "agent_action_failed",
                action=request.action,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            return self._fail(request, CommandErrorCode.DEVICE_ERROR, f"{request.action}: {exc}")
        return CommandResult(id=request.id, ok=True, result=result, ts=self._clock())
