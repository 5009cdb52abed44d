"""Control-socket methods: thin adapters from JSON params to the agent's parts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from drivers.sdk import DriverError, InvalidArgument, positional_to_args
from drivers.sdk.messages import validation_text

from ..commands import MAX_COMMAND_BYTES, CommandRequest
from ..control.server import Handler, HandlerError
from ..store.clock import kernel_synced
from ..store.items import StoredItem
from .device import DeviceOffline
from .router import AGENT

if TYPE_CHECKING:
    from .app import Agent

TAIL_MAX = 10_000  # `events tail -n` at most; older items are in the store for `sqlite3`


def item_dict(item: StoredItem) -> dict[str, Any]:
    d = dataclasses.asdict(item)
    d["cls"] = item.cls.label
    return d


def control_handlers(agent: Agent) -> dict[str, Handler]:  # noqa: PLR0915 - one closure per method, one table
    def runner_or_404(params: dict[str, Any]) -> Any:
        device_id = str(params.get("id", ""))
        runner = agent.supervisor.get(device_id)
        if runner is None:
            known = ", ".join(r.config.id for r in agent.supervisor.runners()) or "none"
            raise HandlerError("not_found", f"no device {device_id!r}", f"devices: {known}")
        return runner

    async def status(_p: dict[str, Any]) -> Any:
        return await agent.status()

    async def health(_p: dict[str, Any]) -> Any:
        return agent.health()

    async def devices_list(_p: dict[str, Any]) -> Any:
        return [r.status.as_dict() for r in agent.supervisor.runners()]

    async def devices_show(p: dict[str, Any]) -> Any:
        runner = runner_or_404(p)
        out = runner.status.as_dict()
        out["config"] = runner.config.model_dump(mode="json")
        out["actions"] = sorted(runner.actions)
        out["capabilities"] = sorted(c.value for c in runner.driver_cls.capabilities)
        return out

    async def devices_cmd(p: dict[str, Any]) -> Any:
        action = str(p.get("action", ""))
        device = str(p.get("id", ""))
        args = p.get("args") or {}
        if device == AGENT:  # the agent itself: ping, reload, rebirth, sync_now
            if p.get("words") or args:
                raise HandlerError("invalid_argument", f"{AGENT} actions take no arguments")
        else:
            runner = runner_or_404(p)
            device = runner.config.id
            model = runner.actions.get(action)
            if p.get("words") and model is not None:
                try:
                    args = positional_to_args(model, [str(w) for w in p["words"]])
                except InvalidArgument as exc:
                    raise HandlerError("invalid_argument", exc.message) from None
        size = len(json.dumps(args, default=str))
        if size > MAX_COMMAND_BYTES:  # audited like every command: see MAX_COMMAND_BYTES
            raise HandlerError(
                "invalid_argument",
                f"arguments too large: {size} bytes (a command may have at most "
                f"{MAX_COMMAND_BYTES})",
            )
        try:
            request = CommandRequest(
                id=str(p.get("command_id") or uuid.uuid4()),
                device=device,
                action=action,
                args=args,
                source="cli",
            )
        except ValidationError as exc:  # an action name or id longer than any there is
            raise HandlerError("invalid_argument", validation_text(exc)) from None
        return (await agent.router.execute(request)).model_dump(mode="json")

    async def devices_probe(p: dict[str, Any]) -> Any:
        runner = runner_or_404(p)
        try:
            return dict(await runner.probe())
        except DeviceOffline as exc:
            hint = f"`edge-agent devices show {runner.config.id}` has the details and next retry"
            raise HandlerError("device_offline", str(exc), hint) from None
        except DriverError as exc:
            raise HandlerError(exc.reason.value, exc.message) from None
        except TimeoutError:
            raise HandlerError("timeout", "the device did not answer the probe in time") from None

    async def events_tail(p: dict[str, Any]) -> AsyncIterator[Any]:
        after = int(p.get("after_seq", 0))
        limit = min(int(p.get("limit", 20)), TAIL_MAX)
        kinds = p.get("kinds") or None
        device = p.get("device") or None
        if after <= 0:  # start with the newest `limit` items that pass the filter
            after = (await agent.store.stats()).last_seq
            items = await agent.store.tail(0, limit, kinds=kinds, device=device, newest=True)
            for item in items:
                yield item_dict(item)
            after = max([after, *(item.seq for item in items)])
            if not p.get("follow"):
                return
        while True:
            items = await agent.store.tail(after, limit=500, kinds=kinds, device=device)
            for item in items:
                after = item.seq
                yield item_dict(item)
            if not p.get("follow"):
                return
            if not items:
                await asyncio.sleep(0.5)

    async def reload(_p: dict[str, Any]) -> Any:
        return await agent.reload()

    async def sync_status(_p: dict[str, Any]) -> Any:
        stats = dataclasses.asdict(await agent.store.stats())
        uplink = agent.uplink.status() if agent.uplink is not None else {"state": "disabled"}
        # the clock's sync state goes beside a certificate that is out of date by it
        return {"backlog": stats, "uplink": uplink, "clock": {"synced": kernel_synced()}}

    async def sync_now(_p: dict[str, Any]) -> AsyncIterator[Any]:
        if agent.uplink is None:
            raise HandlerError(
                "uplink_disabled",
                "the uplink is disabled in the config",
                "set uplink.enabled: true",
            )
        if not agent.uplink.status()["connected"]:  # said at once, before any progress
            raise HandlerError(
                "not_connected",
                "the uplink is not connected to the broker; nothing was sent",
                "check `edge-agent sync status` for the broker and the last error",
            )
        progress = agent.uplink.sync_now()
        async with contextlib.aclosing(progress):
            async for line in progress:
                yield line

    return {
        "status": status,
        "health": health,
        "devices.list": devices_list,
        "devices.show": devices_show,
        "devices.cmd": devices_cmd,
        "devices.probe": devices_probe,
        "events.tail": events_tail,
        "reload": reload,
        "sync.status": sync_status,
        "sync.now": sync_now,
    }
