"""PJLink class 2 over UDP: the `%2SRCH` search and the status-notification listener.

Both are optional extras on top of the TCP session: search finds projectors on site (for the
engineer filling in the config), notifications let a projector tell us about a lamp failure or a
power change between polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..sdk.contract import Logger
from ..sdk.errors import PortInUse, ProtocolError, Unreachable
from .codec import DEFAULT_PORT, SEARCH_REQUEST
from .values import Notification, parse_ackn, parse_notification


@dataclass(frozen=True)
class SearchHit:
    """One projector that answered the search: where it answered from and its MAC."""

    host: str
    mac: str


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._on_datagram(data, (str(addr[0]), int(addr[1])))


async def search(
    address: str = "255.255.255.255",
    port: int = DEFAULT_PORT,
    timeout_s: float = 3.0,
    bind: str = "0.0.0.0",  # noqa: S104 - notifications arrive from the LAN; the source is checked
) -> list[SearchHit]:
    """Send one `%2SRCH` to `address` and collect `%2ACKN` answers for `timeout_s` seconds.

    Only class 2 projectors answer. Non-PJLink datagrams are ignored, so a noisy LAN cannot make
    the search fail. Raises Unreachable when the datagram cannot be sent at all.
    """
    hits: dict[str, SearchHit] = {}

    def on_datagram(data: bytes, addr: tuple[str, int]) -> None:
        try:
            mac = parse_ackn(data)
        except ProtocolError:
            return
        hits.setdefault(mac, SearchHit(host=addr[0], mac=mac))

    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Collector(on_datagram), local_addr=(bind, 0), allow_broadcast=True
        )
    except OSError as exc:
        raise Unreachable(
            f"cannot open a UDP socket for the PJLink search: {exc.strerror or exc}"
        ) from None
    try:
        try:
            transport.sendto(SEARCH_REQUEST, (address, port))
        except OSError as exc:
            raise Unreachable(
                f"cannot send the PJLink search to {address}:{port}: {exc.strerror or exc}"
            ) from None
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    return sorted(hits.values(), key=lambda hit: (hit.host, hit.mac))


class NotificationListener:
    """Receives class 2 status notifications on a UDP port and hands them to a callback.

    Datagrams from hosts other than `allowed_hosts` are dropped: anyone on the LAN can send UDP,
    and a spoofed `%2POWR=0` must not change what HQ sees.
    """

    def __init__(
        self,
        bind: str,
        port: int,
        allowed_hosts: Collection[str],
        on_notification: Callable[[Notification], None],
        log: Logger,
    ) -> None:
        self._bind, self._port = bind, port
        self._allowed = set(allowed_hosts)
        self._callback = on_notification
        self._log = log
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for)."""
        if self._transport is None:
            return self._port
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Collector(self._on_datagram), local_addr=(self._bind, self._port)
            )
        except OSError as exc:
            raise PortInUse(
                f"cannot listen for PJLink notifications on udp {self._bind}:{self._port}: "
                f"{exc.strerror or exc} (another program on that port? set notify_port: null)"
            ) from None
        self._transport = transport
        self._log.info("pjlink_notify_listening", bind=self._bind, port=self.port)

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr[0] not in self._allowed:
            self._log.warning("pjlink_notify_foreign_source", source=addr[0])
            return
        try:
            notification = parse_notification(data)
        except ProtocolError as exc:
            self._log.warning("pjlink_notify_invalid", source=addr[0], error=exc.message)
            return
        self._callback(notification)
