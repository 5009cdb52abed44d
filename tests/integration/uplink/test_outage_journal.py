"""What the journal says about an outage, against a real mosquitto: a broker that comes back
refusing us for a new reason is said once (`uplink_reason_changed`, with the TLS date sentence),
and a broker that refuses our expired client certificate is reported at once, in our own line,
not after `connect_timeout_s` and not as paho's bare text on stderr."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_agent.settings.root import Settings
from tests.integration.uplink.wiring import Running, make_settings, running_uplink, wait_until
from tests.support.mosquitto import AGENT_USER, Mosquitto, make_dated_leaf

Logs = list[MutableMapping[str, Any]]
DAY = timedelta(days=1)


def said(logs: Logs, event: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == event]


async def attempts_beyond(run: Running, n: int) -> None:
    """Wait until the reconnect loop has failed `n` more times (about one a second)."""
    start = run.uplink.status()["reconnect_attempts"]
    await wait_until(lambda: run.uplink.status()["reconnect_attempts"] >= start + n, 30)


async def outage_begins(broker: Mosquitto, run: Running, logs: Logs) -> None:
    """Connected, then the broker goes away: the journal says `unreachable` once."""
    await run.wait_connected()
    await asyncio.to_thread(broker.stop)
    await wait_until(lambda: said(logs, "uplink_disconnected"))
    await attempts_beyond(run, 2)  # refused connects, not only the dropped session
    assert run.uplink.status()["last_error"] == "unreachable"


async def test_broker_back_with_an_expired_certificate_is_said_once_with_its_date(
    broker: Mosquitto, tmp_path: Path, logs: Logs
) -> None:
    ended = datetime.now(UTC).replace(second=0, microsecond=0) - 3 * DAY
    make_dated_leaf(broker.root, "server-old", not_before=ended - 400 * DAY, not_after=ended)
    tls = {"port": broker.tls_port, "tls": {"ca_file": str(broker.root / "ca.crt")}}
    async with running_uplink(make_settings(broker, tmp_path, mqtt=tls)) as run:
        await outage_begins(broker, run, logs)
        broker.serve_certificate("server-old")  # back, with a certificate nobody renewed
        await asyncio.to_thread(broker.start)
        await wait_until(lambda: said(logs, "uplink_reason_changed"))
        await attempts_beyond(run, 4)  # more refused handshakes: no line for each
        changed = said(logs, "uplink_reason_changed")
        assert len(changed) == 1, changed
        line = changed[0]
        assert line["log_level"] == "warning"
        assert (line["reason"], line["was"]) == ("tls_failed", "unreachable")
        assert line["error"].startswith(
            f"the broker's certificate expired on {ended:%Y-%m-%d %H:%M} UTC and this PC's clock"
        )
        assert "certificate has expired" in line["tls_error"]  # OpenSSL's own words
        assert line["attempts"] >= 3 and line["backlog"] is not None
        assert run.uplink.status()["last_error"] == "tls_failed"
        assert len(said(logs, "uplink_disconnected")) == 1

        await asyncio.to_thread(broker.stop)  # renewed
        broker.serve_certificate("server")
        await asyncio.to_thread(broker.start)
        await run.wait_connected(20)
    assert said(logs, "uplink_connected")[-1]["failed_attempts"] >= 6


async def test_password_changed_while_the_broker_was_down_is_said_as_auth_failed(
    broker: Mosquitto, tmp_path: Path, logs: Logs
) -> None:
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await outage_begins(broker, run, logs)
        subprocess.run(
            ["mosquitto_passwd", "-b", str(broker.root / "passwd"), AGENT_USER, "changed-at-HQ"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        await asyncio.to_thread(broker.start)
        await wait_until(lambda: said(logs, "uplink_reason_changed"))
        await attempts_beyond(run, 3)
        changed = said(logs, "uplink_reason_changed")
        assert [(c["reason"], c["was"]) for c in changed] == [("auth_failed", "unreachable")]
        assert "tls_error" not in changed[0]
        assert run.uplink.status()["last_error"] == "auth_failed"
    assert "changed-at-HQ" not in str(logs)


async def first_failure(settings: Settings) -> dict[str, Any]:
    """`status` once the first attempt failed, which must be well before `connect_timeout_s`."""
    async with running_uplink(settings) as run:
        started = time.monotonic()
        await wait_until(lambda: run.uplink.status()["last_error"] is not None, 15)
        took = time.monotonic() - started
        status = run.uplink.status()
    assert took < 5.0, f"the first attempt took {took:.1f} s, not less than half the timeout"
    return status


@pytest.fixture
def expired_client_cert(broker: Mosquitto) -> dict[str, Any]:
    """mTLS settings whose client certificate ran out three days ago."""
    ended = datetime.now(UTC).replace(second=0, microsecond=0) - 3 * DAY
    cert = make_dated_leaf(
        broker.root, "client-old", not_before=ended - 365 * DAY, not_after=ended, server=False
    )
    return {
        "port": broker.mtls_port,
        "connect_timeout_s": 10,
        "tls": {
            "ca_file": str(broker.root / "ca.crt"),
            "cert_file": str(cert),
            "key_file": str(cert.with_suffix(".key")),
        },
    }


async def test_an_expired_client_certificate_is_reported_at_once_in_our_own_line(
    broker: Mosquitto,
    tmp_path: Path,
    logs: Logs,
    expired_client_cert: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """mosquitto refuses the certificate after the TLS 1.3 handshake and closes the connection;
    the attempt ends then, not when `connect_timeout_s` (10 s here) runs out."""
    settings = make_settings(broker, tmp_path, mqtt=expired_client_cert)
    status = await first_failure(settings)
    assert status["last_error"] == "tls_failed"
    assert status["certificate"]["certificate"] == "client"
    (line,) = said(logs, "uplink_disconnected")
    assert line["reason"] == "tls_failed"
    cert = expired_client_cert["tls"]["cert_file"]
    assert line["error"].startswith(f"this gateway's own certificate ({cert}) expired on ")
    assert "alert certificate expired" in line["tls_error"]  # what the broker said, not a timeout
    # paho's words come in our line, not as bare text on stderr beside the journal's lines
    assert "failed to receive on socket" not in capfd.readouterr().err


async def test_mtls_without_a_client_certificate_is_refused_at_once_as_tls_failed(
    broker: Mosquitto, tmp_path: Path, expired_client_cert: dict[str, Any]
) -> None:
    mqtt = expired_client_cert
    mqtt["tls"] = {"ca_file": mqtt["tls"]["ca_file"]}  # no certificate at all
    status = await first_failure(make_settings(broker, tmp_path, mqtt=mqtt))
    assert status["last_error"] == "tls_failed"
    assert "alert certificate required" in status["last_error_detail"]
