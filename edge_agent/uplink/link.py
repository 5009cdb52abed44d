"""The broker link behind a small interface: connect with a Will, publish QoS 1, receive commands.

`MqttConnector` is the aiomqtt implementation. aiomqtt 2.x neither reconnects nor looks at the
PUBACK reason code, so reconnecting lives in `Uplink.run`, and this module turns a PUBACK with a
failure reason code (MQTT 5, >= 0x80) into `PublishRefused` for that one publish: its items stay
unsent, and the session goes on.

A session ends with a normal DISCONNECT only after `leave_cleanly()` (the retained `offline` was
acknowledged). Every other ending, including a cancelled task, drops the connection so that the
broker publishes the Will: a retained `online` must never outlive the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from drivers.sdk import AuthFailed, Logger
from drivers.sdk.secret_file import read_secret_file
from edge_agent.logging import register_secret
from edge_agent.settings.uplink import MQTTSettings, TLSSettings

from .connack import ClientLog, fail_before_connack
from .errors import CertificateOutOfDate, CredentialsUnusable, LinkDown, PublishRefused
from .tls_dates import TLSDiagnosis

#: MQTT 5 DISCONNECT reason 0x04: the broker publishes the Will although we said goodbye.
_DISCONNECT_WITH_WILL = 0x04
#: How long a goodbye (DISCONNECT) may take before the socket is simply dropped.
_GOODBYE_S = 0.5
#: The mid of the publish the current task just handed to paho (see `_track_mids`).
_MID: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("mqtt_mid", default=None)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A retained-or-not QoS 1 message with the few MQTT 5 properties we use."""

    topic: str
    payload: bytes
    retain: bool = False
    content_type: str | None = None
    correlation_data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    response_topic: str | None = None
    correlation_data: bytes | None = None


class Link(Protocol):
    """One live broker session."""

    @property
    def disconnect_reason(self) -> int | None:
        """The reason code of the DISCONNECT the broker sent (MQTT 5), e.g. 0x8E *Session taken
        over*; None while the session is up, or when the connection just dropped."""
        ...

    async def publish(self, message: Outgoing) -> None:
        """Return once the broker acknowledged (PUBACK). Raise PublishRefused when the broker
        refused this message, LinkDown when the session is gone."""
        ...

    def leave_cleanly(self) -> None:
        """The retained `offline` is acknowledged: end with a normal DISCONNECT (no Will)."""
        ...

    def abort(self) -> None:
        """Drop the connection now, without DISCONNECT, so the broker publishes the Will."""
        ...

    async def subscribe(self, topic_filter: str) -> None: ...

    def incoming(self) -> AsyncIterator[Incoming]:
        """Messages on subscribed topics; raises LinkDown when the session ends."""
        ...


class Connector(Protocol):
    def connect(self, will: Outgoing) -> AbstractAsyncContextManager[Link]:
        """Open a session whose Will is `will`; raise LinkDown when that fails."""
        ...


def classify(exc: BaseException) -> str:
    """A stable reason code for a failed connect or a dropped session."""
    if isinstance(exc, CertificateOutOfDate):  # also our own mTLS certificate, seen as a timeout
        return "tls_failed"
    if isinstance(exc, CredentialsUnusable):
        return "auth_failed"
    text = str(exc).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "tls_failed"
    if (
        "not authorized" in text
        or "bad user name" in text
        or "code:134" in text
        or "code:135" in text
    ):
        return "auth_failed"
    if "timed out" in text or isinstance(exc, TimeoutError):
        return "timeout"
    if "refused" in text or "unreachable" in text or "name or service" in text:
        return "unreachable"
    return "disconnected"


def tls_context(tls: TLSSettings) -> ssl.SSLContext:
    """Verification on unless explicitly skipped; client certificate when configured (mTLS)."""
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file and tls.key_file:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def read_password(path: Path) -> str:
    """The broker password, read as every `*_file` secret is (drivers.sdk: UTF-8, surrounding
    whitespace stripped), and registered so no log line shows it. CredentialsUnusable (a
    LinkDown) names the file, never its content, when it is unusable."""
    try:
        password = read_secret_file(path)
    except AuthFailed as exc:  # raised outside: no exception chain that could hold the bytes
        problem = exc.message
    else:
        register_secret(password)
        return password
    raise CredentialsUnusable(problem)


class _AiomqttLink:
    def __init__(
        self,
        client: Any,
        refused: dict[int, ReasonCode],
        disconnects: list[int],
        log: Logger,
        *,
        v5: bool,
        publish_timeout_s: float,
    ) -> None:
        self._client, self._refused, self._log = client, refused, log
        self._disconnects = disconnects
        self._v5 = v5
        self._timeout = publish_timeout_s
        self.clean = False

    async def publish(self, message: Outgoing) -> None:
        mids: list[int] = []
        token = _MID.set(mids)
        try:
            await self._client.publish(
                message.topic,
                message.payload,
                qos=1,
                retain=message.retain,
                properties=self._properties(message),
                timeout=self._timeout,
            )
        except aiomqtt.MqttError as exc:
            raise LinkDown(f"publish to {message.topic} failed: {exc}") from exc
        finally:
            _MID.reset(token)
            refusal = self._refused.pop(mids[0], None) if mids else None
        if refusal is not None:
            raise PublishRefused(message.topic, int(refusal.value), refusal.getName())

    @property
    def disconnect_reason(self) -> int | None:
        return self._disconnects[0] if self._disconnects else None

    def leave_cleanly(self) -> None:
        self.clean = True

    def abort(self) -> None:
        sock = self._client._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # paho sees EOF and closes it; no DISCONNECT

    async def close(self) -> None:
        """Leave as `leave_cleanly` said, bounded in time; a stuck goodbye becomes a drop."""
        paho = self._client._client
        if self.clean:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(_GOODBYE_S):
                    await self._client.__aexit__(None, None, None)
                    return
        self._log.debug("mqtt_leaving_with_will", v5=self._v5)
        if self._v5 and paho.socket() is not None:
            paho.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=_DISCONNECT_WITH_WILL)
            )
            for _ in range(int(_GOODBYE_S / 0.01)):  # bounded: paho closes once it is written
                if paho.socket() is None:
                    break
                await asyncio.sleep(0.01)
        self.abort()
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(_GOODBYE_S):
                await self._client.__aexit__(None, None, None)

    def _properties(self, message: Outgoing) -> Any:
        if not self._v5 or (message.content_type is None and message.correlation_data is None):
            return None
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if message.content_type is not None:
            props.ContentType = message.content_type
        if message.correlation_data is not None:
            props.CorrelationData = message.correlation_data
        return props

    async def subscribe(self, topic_filter: str) -> None:
        try:
            await self._client.subscribe(topic_filter, qos=1, timeout=self._timeout)
        except aiomqtt.MqttError as exc:
            raise LinkDown(f"subscribe {topic_filter} failed: {exc}") from exc

    async def incoming(self) -> AsyncIterator[Incoming]:
        try:
            async for message in self._client.messages:
                payload = message.payload
                if isinstance(payload, str):
                    payload = payload.encode()
                elif not isinstance(payload, bytes | bytearray):
                    payload = b"" if payload is None else str(payload).encode()
                props = message.properties
                response = getattr(props, "ResponseTopic", None) if props else None
                corr = getattr(props, "CorrelationData", None) if props else None
                yield Incoming(message.topic.value, bytes(payload), response, corr)
        except aiomqtt.MqttError as exc:
            raise LinkDown(f"session ended: {exc}") from exc


class MqttConnector:
    """Builds an aiomqtt client from the `uplink.mqtt` settings for every (re)connect."""

    def __init__(self, settings: MQTTSettings, client_id: str, log: Logger) -> None:
        self._settings = settings
        self._client_id = client_id
        self._log = log
        self._tls_dates = TLSDiagnosis(settings)

    @property
    def broker(self) -> str:
        scheme = "mqtts" if self._settings.tls is not None else "mqtt"
        return f"{scheme}://{self._settings.host}:{self._settings.port}"

    def connect(self, will: Outgoing) -> AbstractAsyncContextManager[Link]:
        return self._session(will)

    @asynccontextmanager
    async def _session(self, will: Outgoing) -> AsyncIterator[Link]:
        s = self._settings
        v5 = s.protocol == "5"
        password = read_password(s.password_file) if s.password_file else None
        try:
            ctx = tls_context(s.tls) if s.tls is not None else None
        except (OSError, ssl.SSLError) as exc:
            raise LinkDown(f"TLS files unusable: {exc}") from None
        words = ClientLog(self._log)
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=password,
            identifier=self._client_id,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            will=aiomqtt.Will(will.topic, will.payload, qos=1, retain=will.retain),
            clean_session=None if v5 else True,
            keepalive=s.keepalive_s,
            timeout=s.connect_timeout_s,
            tls_context=ctx,
            # Small command results must not wait for Nagle + delayed ACK (~40 ms per hop).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            logger=words.logger,
        )
        client.pending_calls_threshold = 1_000_000  # pipelining is intended, not a leak
        refused: dict[int, ReasonCode] = {}
        disconnects: list[int] = []
        _track_mids(client._client)
        _note_refusals(client._client, refused)
        _note_disconnects(client._client, disconnects)
        fail_before_connack(client, words)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            dates = None
            if ctx is not None and classify(exc) not in {"unreachable", "auth_failed"}:
                dates = await self._tls_dates.explain(exc, ctx)  # TLS failed on a date?
            raise dates or LinkDown(str(exc)) from exc
        link = _AiomqttLink(
            client, refused, disconnects, self._log, v5=v5, publish_timeout_s=s.publish_timeout_s
        )
        try:
            yield link
        finally:
            await asyncio.shield(link.close())  # a cancelled stop still ends with the Will


def _track_mids(paho: Any) -> None:
    """Let `_AiomqttLink.publish` learn the mid of its message (aiomqtt does not return it)."""
    publish = paho.publish

    def tracked(*args: Any, **kwargs: Any) -> Any:
        info = publish(*args, **kwargs)
        box = _MID.get()
        if box is not None:
            box.append(info.mid)
        return info

    paho.publish = tracked


def _note_refusals(paho: Any, refused: dict[int, ReasonCode]) -> None:
    """Remember a failure reason code by mid, then confirm as usual so the publish returns now
    (and raises PublishRefused) instead of timing out and tearing down the session."""
    confirm = paho.on_publish

    def on_publish(c: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            refused[mid] = reason_code
        confirm(c, userdata, mid, reason_code, properties)

    paho.on_publish = on_publish


def _note_disconnects(paho: Any, reasons: list[int]) -> None:
    """Keep the reason code of a DISCONNECT the broker sends (MQTT 5): aiomqtt only words it in
    an exception, and a dropped socket (no DISCONNECT) maps to the same "Unspecified error"."""
    on_disconnect = paho.on_disconnect

    def noted(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any = None) -> None:
        if getattr(flags, "is_disconnect_packet_from_server", False) and hasattr(
            reason_code, "value"
        ):
            reasons.append(int(reason_code.value))
        on_disconnect(c, userdata, flags, reason_code, properties)

    paho.on_disconnect = noted


def client_id_for(settings: MQTTSettings, branch_id: str, agent_id: str) -> str:
    return settings.client_id or f"edge-agent-{branch_id}-{agent_id}"


__all__ = [
    "Connector",
    "Incoming",
    "Link",
    "MqttConnector",
    "Outgoing",
    "classify",
    "client_id_for",
]
