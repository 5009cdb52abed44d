"""A broker certificate out of date by this PC's clock (a stale RTC, or a certificate nobody
renewed), against a real mosquitto over TLS: `edge-agent status` and `sync status` say which
certificate, its date and the PC's clock, and what to do, instead of only OpenSSL's words; the
daemon keeps accepting readings meanwhile and sends every one once the broker serves a good
certificate."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.mqtt_e2e.site import ROOT, database, sync_status, write_config
from tests.integration.uplink.hq import HQ
from tests.support.daemon import Daemon, cli, wait_for
from tests.support.mosquitto import Mosquitto, make_dated_leaf

SENSOR = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.2, readings_per_poll: 5}\n"
WIDE = {"COLUMNS": "400"}  # one panel line per sentence, so the test reads what a person reads
DAY = timedelta(days=1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A TLS broker, not started: each test chooses the certificate it serves first."""
    b = Mosquitto(tmp_path / "broker")
    try:
        yield b
    finally:
        b.close()


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def depth(daemon: Daemon) -> int:
    return int(sync_status(daemon)["backlog"]["depth"])


def minute(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


@pytest.mark.parametrize("case", ["not_yet_valid", "expired"])
def test_status_says_the_broker_certificate_is_out_of_date_by_the_pc_clock_and_nothing_is_lost(
    broker: Mosquitto, tmp_path: Path, case: str
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if case == "not_yet_valid":  # the PC's clock is behind (flat RTC battery, no NTP yet)
        begins, ends = now + 37 * DAY, now + 400 * DAY
        said = (
            f"the broker's certificate is not valid until {minute(begins)} and this PC's clock says"
        )
        advice, openssl = "set the clock (or NTP) right", "certificate is not yet valid"
    else:  # nobody renewed it (or the PC's clock is far ahead)
        begins, ends = now - 400 * DAY, now - 3 * DAY
        said = f"the broker's certificate expired on {minute(ends)} and this PC's clock says"
        advice, openssl = "renew it, or check the clock", "certificate has expired"
    make_dated_leaf(broker.root, "server-dated", not_before=begins, not_after=ends)
    broker.serve_certificate("server-dated")
    broker.start()
    hq = HQ(broker.port, topic=f"{ROOT}/events/#", client_id="hq-durable", clean=False)
    cfg = write_config(tmp_path, broker.tls_port, SENSOR, ca_file=broker.root / "ca.crt")
    daemon = Daemon(cfg).start()
    try:
        up = wait_for(lambda: (u := sync_status(daemon)["uplink"])["certificate"] and u)
        assert up["last_error"] == "tls_failed" and up["connected"] is False  # the contract code
        assert up["certificate"]["certificate"] == "broker"
        assert up["certificate"]["problem"] == case
        assert openssl in up["certificate"]["error"]  # OpenSSL's own words are kept
        buffered = wait_for(lambda: (n := depth(daemon)) >= 50 and n)  # still accepting

        status = cli("status", "--socket", daemon.socket, env=WIDE)
        sync = cli("sync", "status", "--socket", daemon.socket, env=WIDE)
        synced = json.loads(cli("status", "--json", "--socket", daemon.socket).stdout)["agent"][
            "clock"
        ]["synced"]
        for out in (status, sync):
            assert out.returncode == 0, out.stdout + out.stderr
            text = flat(out.stdout)
            assert said in text, out.stdout
            assert re.search(r"this PC's clock says \d{4}-\d\d-\d\d \d\d:\d\d UTC: ", text)
            assert advice in text and "OpenSSL" in text and openssl in text
            unsynced_note = "this PC's clock is not synchronised (no NTP yet?)"
            assert (unsynced_note in text) is (synced is False), text

        broker.stop()  # HQ renews the certificate
        broker.serve_certificate("server")
        broker.start()
        wait_for(lambda: sync_status(daemon)["uplink"]["connected"], timeout=20)
        assert sync_status(daemon)["uplink"]["certificate"] is None
        assert "certificate" not in flat(cli("status", "--socket", daemon.socket, env=WIDE).stdout)
        with database(cfg) as db:  # everything accepted so far, the outage's backlog included
            stored = {row[0] for row in db.execute("SELECT id FROM outbox WHERE kind = 'reading'")}
        assert len(stored) >= buffered
        wait_for(lambda: stored <= set(hq.event_ids()), timeout=60)  # every one reached HQ
    finally:
        daemon.stop()
        hq.close()
