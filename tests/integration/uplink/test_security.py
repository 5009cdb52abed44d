"""TLS verification, mTLS, credentials and secrets kept out of the logs; MQTT 3.1.1 too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.uplink.hq import HQ
from tests.integration.uplink.wiring import ROOT, make_settings, running_uplink
from tests.support.mosquitto import AGENT_PASSWORD, Mosquitto, make_dated_leaf


async def settle_error(run: Any, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        while run.uplink.status()["last_error"] is None:
            await asyncio.sleep(0.02)
    return str(run.uplink.status()["last_error"])


def tls(
    broker: Mosquitto, ca: str, *, port: int | None, client_cert: bool = False
) -> dict[str, Any]:
    t: dict[str, Any] = {"ca_file": str(broker.root / ca)}
    if client_cert:
        t |= {
            "cert_file": str(broker.root / "client.crt"),
            "key_file": str(broker.root / "client.key"),
        }
    return {"mqtt": {"port": port, "tls": t}}


async def test_tls_with_the_right_ca_connects(broker: Mosquitto, hq: HQ, tmp_path: Path) -> None:
    async with running_uplink(
        make_settings(broker, tmp_path, **tls(broker, "ca.crt", port=broker.tls_port))
    ) as run:
        await run.wait_connected()
        assert run.uplink.status()["broker"].startswith("mqtts://")
        await hq.wait_for(lambda ms: any(m.topic == f"{ROOT}/status" for m in ms))


async def test_tls_with_a_wrong_ca_is_refused(broker: Mosquitto, tmp_path: Path) -> None:
    async with running_uplink(
        make_settings(broker, tmp_path, **tls(broker, "wrong-ca.crt", port=broker.tls_port))
    ) as run:
        assert await settle_error(run) == "tls_failed"
        assert not run.uplink.status()["connected"]


async def test_mtls_listener_accepts_our_client_certificate(
    broker: Mosquitto, tmp_path: Path
) -> None:
    settings = make_settings(
        broker, tmp_path, **tls(broker, "ca.crt", port=broker.mtls_port, client_cert=True)
    )
    async with running_uplink(settings) as run:
        await run.wait_connected()


async def test_mtls_listener_refuses_a_client_without_certificate(
    broker: Mosquitto, tmp_path: Path
) -> None:
    opts = tls(broker, "ca.crt", port=broker.mtls_port)
    opts["mqtt"]["connect_timeout_s"] = (
        2  # TLS 1.3 reports the missing certificate after the handshake
    )
    async with running_uplink(make_settings(broker, tmp_path, **opts)) as run:
        assert await settle_error(run) in {"tls_failed", "timeout", "disconnected"}
        assert not run.uplink.status()["connected"]


async def test_our_own_expired_client_certificate_is_named_with_its_date(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """mosquitto's TLS 1.3 alert says only `certificate expired`, after the handshake: the agent
    reads its own certificate's dates to say which one to renew, and when."""
    ended = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    make_dated_leaf(
        broker.root, "client-old", not_before=ended - timedelta(days=365), not_after=ended,
        server=False,
    )  # fmt: skip
    opts = tls(broker, "ca.crt", port=broker.mtls_port)
    cert = broker.root / "client-old.crt"
    opts["mqtt"]["tls"] |= {"cert_file": str(cert), "key_file": str(cert.with_suffix(".key"))}
    opts["mqtt"]["connect_timeout_s"] = 2
    async with running_uplink(make_settings(broker, tmp_path, **opts)) as run:
        assert await settle_error(run) == "tls_failed"
        shown = run.uplink.status()
    assert not shown["connected"] and shown["certificate"]["certificate"] == "client"
    assert shown["last_error_detail"].startswith(
        f"this gateway's own certificate ({cert}) expired on {ended:%Y-%m-%d %H:%M} UTC and this "
        "PC's clock says "
    )
    assert shown["last_error_detail"].endswith(": renew it, or check the clock")


async def test_wrong_password_reports_auth_failed_and_no_password_is_logged(
    broker: Mosquitto, tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    settings = make_settings(broker, tmp_path)
    assert settings.uplink.mqtt.password_file is not None
    settings.uplink.mqtt.password_file.write_text("not-the-password\n")
    async with running_uplink(settings) as run:
        assert await settle_error(run) == "auth_failed"
    (tmp_path / "good").mkdir()
    good = make_settings(broker, tmp_path / "good")
    async with running_uplink(good) as run:
        await run.wait_connected()
    text = json.dumps(logs, default=str)
    assert logs and "uplink_connected" in text
    assert AGENT_PASSWORD not in text and "not-the-password" not in text


async def test_mqtt_3_1_1_is_selectable(broker: Mosquitto, hq: HQ, tmp_path: Path) -> None:
    async with running_uplink(make_settings(broker, tmp_path, mqtt={"protocol": "3.1.1"})) as run:
        await run.wait_connected()
        msgs = await hq.wait_for(lambda ms: any(m.topic == f"{ROOT}/status" for m in ms))
    assert next(m for m in msgs if m.topic == f"{ROOT}/status").json()["state"] == "online"
