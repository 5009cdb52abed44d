"""Retained `devices/{id}/state`: publish changes as they come, republish all on every connect.

The runtime persists each device's state in the store, so the birth republishes from there. A
removed device stays in the store as a tombstone (`{"removed": true}`) until its empty retained
message has been published, so a removal survives both a dropped link and a restart.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from drivers.sdk import Logger

from ..store.items import DEVICE_TOMBSTONE
from .codec import CONTENT_TYPE_JSON, dump
from .link import Link, Outgoing
from .payloads import DeviceStatePayload
from .ports import UplinkStore
from .topics import Topics

#: Keys of contract v1 (plus the optional `detail`); anything else the runtime adds is dropped.
_CONTRACT_KEYS = frozenset(DeviceStatePayload.model_fields)


class DeviceStates:
    def __init__(self, topics: Topics, store: UplinkStore, log: Logger) -> None:
        self._topics, self._store, self._log = topics, store, log
        self._dirty: dict[str, dict[str, Any] | None] = {}
        self._event = asyncio.Event()

    def changed(self, device_id: str, payload: dict[str, Any]) -> None:
        self._dirty[device_id] = payload
        self._event.set()

    def removed(self, device_id: str) -> None:
        self._dirty[device_id] = None
        self._event.set()

    def body(self, device_id: str, state: dict[str, Any]) -> bytes | None:
        """The contract payload, or None (logged) when the state does not fit it."""
        fields = {k: v for k, v in state.items() if k in _CONTRACT_KEYS}
        try:
            return dump(DeviceStatePayload.model_validate(fields))
        except ValidationError as exc:
            self._log.warning("device_state_invalid", device=device_id, error=str(exc)[:300])
            return None

    async def birth(self, link: Link) -> None:
        """Every stored device state, then the changes not yet published (the store may not
        have saved the newest yet), including removals made while the link was down."""
        changes, self._dirty = self._dirty, {}  # later changes stay dirty for the loop
        try:
            for device_id, state in sorted((await self._store.device_states()).items()):
                if device_id in changes:
                    continue
                if state == DEVICE_TOMBSTONE:
                    await self._publish(link, device_id, b"")
                    continue
                body = self.body(device_id, state)
                if body is not None:
                    await self._publish(link, device_id, body)
            for device_id, change in list(changes.items()):
                body = b"" if change is None else self.body(device_id, change)
                if body is not None:
                    await self._publish(link, device_id, body)
                changes.pop(device_id)
        finally:
            self._requeue(changes)

    async def run(self, link: Link) -> None:
        """Publish changes until the link drops; an unpublished change waits for the next link."""
        while True:
            await self._event.wait()
            self._event.clear()
            while self._dirty:
                device_id = next(iter(self._dirty))
                change = self._dirty.pop(device_id)
                body = b"" if change is None else self.body(device_id, change)
                if body is None:
                    continue
                try:
                    await self._publish(link, device_id, body)
                except BaseException:
                    self._requeue({device_id: change})
                    raise

    def _requeue(self, changes: dict[str, dict[str, Any] | None]) -> None:
        for device_id, change in changes.items():
            self._dirty.setdefault(device_id, change)  # a newer change wins
        if self._dirty:
            self._event.set()

    async def _publish(self, link: Link, device_id: str, body: bytes) -> None:
        # The empty retained message that clears a removed device is not JSON: no content type.
        kind = CONTENT_TYPE_JSON if body else None
        await link.publish(
            Outgoing(self._topics.device_state(device_id), body, retain=True, content_type=kind)
        )
        if not body:  # the broker has the removal: the tombstone has done its job
            await self._store.delete_device_state(device_id)
