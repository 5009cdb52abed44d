"""Remote commands from `cmd/{device}`: parse, route, answer on `cmd/{device}/result`.

Every well-formed request goes to the shared router (expiry, allow-list, args, idempotency,
audit), `_agent` ones included: the uplink registers its own actions (`rebirth`, `sync_now`)
with it, next to the runtime's (`ping`, `reload`). Whatever arrives, the answer is a typed
result and the daemon keeps running.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from drivers.sdk import Logger
from drivers.sdk.messages import validation_text
from edge_agent.commands import (
    MAX_COMMAND_BYTES,
    CommandError,
    CommandErrorCode,
    CommandRequest,
    CommandResult,
)

from .codec import CONTENT_TYPE_JSON, dump, parse_command
from .errors import PayloadError, PublishRefused
from .link import Incoming, Link, Outgoing
from .payloads import CommandResultPayload
from .ports import AgentAction, AgentRouter
from .topics import Topics

_MAX_CONCURRENT = 16


def _error(command_id: str, code: CommandErrorCode, message: str, ts: float) -> CommandResult:
    return CommandResult(
        id=command_id, ok=False, error=CommandError(code=code, message=message), ts=ts
    )


_HEAD_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*"([^"\\]{1,128})"')


def _best_effort_id(payload: bytes) -> str:
    """The request id of a payload that failed validation, so HQ can still match the answer.
    Of a payload too large to parse, only a leading `{"id": "..."` is read."""
    if len(payload) > MAX_COMMAND_BYTES:
        head = _HEAD_ID.match(payload[:256])
        return head.group(1).decode(errors="replace") if head else ""
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError):
        return ""
    value = raw.get("id") if isinstance(raw, dict) else None
    return value[:128] if isinstance(value, str) else ""


class CommandService:
    def __init__(
        self,
        topics: Topics,
        *,
        router: AgentRouter,
        agent_actions: Mapping[str, AgentAction],
        log: Logger,
        clock: Callable[[], float],
    ) -> None:
        self._topics, self._router, self._log, self._clock = topics, router, log, clock
        for name, action in agent_actions.items():
            router.add_agent_action(name, action)
        self.handled = 0

    async def serve(self, link: Link) -> None:
        """Answer commands until the link drops; each in its own task so a slow device does not
        hold up the others."""
        limit = asyncio.Semaphore(_MAX_CONCURRENT)
        async with asyncio.TaskGroup() as tg:
            async for message in link.incoming():
                target = self._topics.command_target(message.topic)
                if target is None:
                    continue
                await limit.acquire()
                tg.create_task(
                    self._one(link, target, message, limit), name=f"uplink.cmd[{target}]"
                )

    async def _one(
        self, link: Link, target: str, message: Incoming, limit: asyncio.Semaphore
    ) -> None:
        try:
            result = await self.answer(target, message.payload)
            payload = CommandResultPayload.model_validate(result.model_dump())
            body = dump(payload, exclude_none=True)
            topic = self._topics.command_result(target)
            answers = [Outgoing(topic, body, content_type=CONTENT_TYPE_JSON)]
            if message.response_topic:
                answers.append(
                    Outgoing(
                        message.response_topic,
                        body,
                        content_type=CONTENT_TYPE_JSON,
                        correlation_data=message.correlation_data,
                    )
                )
            for answer in answers:
                await self._publish(link, answer, result.id)
            self.handled += 1
        finally:
            limit.release()

    async def _publish(self, link: Link, answer: Outgoing, command_id: str) -> None:
        """Publish one answer. A refused or unusable topic (an ACL deny, a wildcard in an MQTT 5
        response topic) loses that answer only: the session and the other commands go on.
        A lost link still raises, and the session reconnects."""
        try:
            await link.publish(answer)
        except (PublishRefused, ValueError) as exc:
            self._log.warning(
                "command_answer_refused", id=command_id, topic=answer.topic[:200], error=str(exc)
            )

    async def answer(self, target: str, payload: bytes) -> CommandResult:
        """The result for one raw `cmd/{target}` payload. Never raises."""
        now = self._clock()
        if not target:  # `cmd/` itself: answered on `cmd/_/result` (and any response topic)
            message = "the topic names no device: publish to cmd/{device_id}"
            self._log.warning("command_malformed", device="", error=message)
            return _error(_best_effort_id(payload), CommandErrorCode.MALFORMED, message, now)
        try:
            parsed = parse_command(payload)
        except PayloadError as exc:
            self._log.warning("command_malformed", device=target, error=str(exc))
            return _error(_best_effort_id(payload), CommandErrorCode.MALFORMED, str(exc), now)
        try:
            request = CommandRequest(
                id=parsed.id,
                device=target,
                action=parsed.action,
                args=parsed.args,
                expires_at=parsed.expires_at,
                source="mqtt",
            )
        except ValidationError as exc:  # the topic's device id: too long for any device
            message = validation_text(exc)
            self._log.warning("command_malformed", device=target[:80], error=message)
            return _error(parsed.id, CommandErrorCode.MALFORMED, message, now)
        self._log.info("command_received", id=request.id, device=target, action=request.action)
        try:
            result = await self._router.execute(request)
        except Exception as exc:  # noqa: BLE001 - a router bug must not end the command loop
            self._log.error("command_failed", id=request.id, device=target, error=repr(exc))
            message = "the agent failed to run the command"
            result = _error(request.id, CommandErrorCode.INTERNAL, message, now)
        code = result.error.code.value if result.error else None
        self._log.info("command_answered", id=request.id, device=target, ok=result.ok, code=code)
        return result
