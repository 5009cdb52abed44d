"""The one command path: the CLI and MQTT both come through `Router.execute`."""

from __future__ import annotations

import asyncio
import json
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
        self._inflight: dict[str, tuple[CommandRequest, asyncio.Future[CommandResult]]] = {}
        self._unrecorded: OrderedDict[str, tuple[CommandRequest, CommandResult]] = OrderedDict()
        self._catch_up: asyncio.Task[None] | None = None

    def add_agent_action(self, name: str, action: AgentAction) -> None:
        self._agent_actions[name] = action

    async def execute(self, request: CommandRequest) -> CommandResult:
        """Idempotent by `request.id`: a repeat gets the stored result and never acts twice.

        Ids are agent-wide. A repeat must be the same command (device, action and args; a new
        `expires_at` is a retry of it): an id reused for another command is refused as
        `malformed` and does not act, rather than answered with the first command's result.
        The in-flight future is registered before the first await, so a second copy arriving
        while the first is still being checked or run waits for it instead of acting again.
        """
        running = self._inflight.get(request.id)
        if running is not None:
            first, pending = running
            if not _same_command(first.model_dump(mode="json"), request):
                return self._reused(request, first.model_dump(mode="json"))
            return (await asyncio.shield(pending)).model_copy(update={"replayed": True})
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._inflight[request.id] = (request, future)
        try:
            stored = await self._stored(request.id)
            if stored is not None:
                first_request, first_result = stored
                if first_request is not None and not _same_command(first_request, request):
                    result = self._reused(request, first_request)
                else:
                    result = first_result.model_copy(update={"replayed": True})
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

    def _reused(self, request: CommandRequest, first: Mapping[str, Any]) -> CommandResult:
        """The answer to an id that already named another command: refused, not run, not
        audited (the id stays with its first command)."""
        log.warning(
            "command_id_reused",
            id=request.id,
            device=request.device,
            action=request.action,
            first_device=first.get("device"),
            first_action=first.get("action"),
        )
        args = json.dumps(first.get("args") or {})
        if len(args) > 200:
            args = args[:200] + "…"
        return self._fail(
            request,
            CommandErrorCode.MALFORMED,
            f"id {request.id!r} was already used for another command "
            f"({first.get('device')} {first.get('action')} {args}); "
            "a repeat must be the same device, action and args: use a new id",
        )

    async def _stored(
        self, command_id: str
    ) -> tuple[Mapping[str, Any] | None, CommandResult] | None:
        """The first request under this id (None if the audit row has none) and its result."""
        kept = self._unrecorded.get(command_id)
        if kept is not None:
            return kept[0].model_dump(mode="json"), kept[1]
        stored = await self._store.command_get(command_id)
        if stored is None:
            return None
        request = stored.get("request")
        return (
            request if isinstance(request, Mapping) else None,
            CommandResult.model_validate(stored["result"]),
        )

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
                request,
                CommandErrorCode.EXPIRED,
                f"expired {now - request.expires_at:.1f} s ago by the gateway's clock",
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


def _same_command(first: Mapping[str, Any], request: CommandRequest) -> bool:
    """Whether `request` repeats the command first audited under its id. `expires_at` and the
    source do not count: a retry may carry a new deadline."""
    return (
        first.get("device") == request.device
        and first.get("action") == request.action
        and (first.get("args") or {}) == request.model_dump(mode="json")["args"]
    )
