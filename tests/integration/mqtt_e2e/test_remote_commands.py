"""HQ commands a screen through the broker: `mosquitto_pub` in, the daemon's real router and
driver act, the result and the retained device state come back; a repeated id never acts twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.mqtt_e2e.site import ROOT, ctl, database, pub, retained, write_config
from tests.integration.uplink.hq import HQ, Received
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

SCREEN = "  - {id: screen, driver: simulated_display, poll_interval_s: 0.3}\n"
STATE = f"{ROOT}/devices/screen/state"
RESULT = f"{ROOT}/cmd/screen/result"
POWER_ON = {"id": "hq-4711", "action": "power", "args": {"state": "on"}}


def results(hq: HQ, command_id: str, count: int) -> list[dict[str, Any]]:
    def enough(ms: list[Received]) -> bool:
        hits = [m for m in ms if m.topic == RESULT and m.json()["id"] == command_id]
        return len(hits) >= count

    msgs = wait_for(lambda: enough(hq.snapshot()) and hq.snapshot(), timeout=15)
    return [m.json() for m in msgs if m.topic == RESULT and m.json()["id"] == command_id]


def retained_power(broker: Mosquitto) -> object:
    state = retained(broker.port, STATE)
    return None if state is None else state["state"].get("power")


def local(daemon: Daemon, *words: str) -> dict[str, Any]:
    """`edge-agent devices cmd screen ...` from the branch's own console."""
    out = ctl(daemon, "devices", "cmd", "screen", *words, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    return dict(json.loads(out.stdout))


def test_mqtt_power_command_turns_the_screen_on_once_and_a_repeat_gets_the_stored_result(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, broker.port, SCREEN)
    daemon = Daemon(cfg).start()
    try:
        before = wait_for(lambda: retained(broker.port, STATE), timeout=15)
        assert before["online"] is True and before["state"]["power"] == "off"

        pub(broker.port, f"{ROOT}/cmd/screen", POWER_ON)
        [first] = results(hq, "hq-4711", 1)
        assert first["ok"] is True and first["replayed"] is False
        assert first["result"]["power"] == "on"
        wait_for(lambda: retained_power(broker) == "on")

        local(daemon, "power", "off")  # someone at the branch switches it off again
        pub(broker.port, f"{ROOT}/cmd/screen", POWER_ON)  # HQ's retry of the same command
        _, replay = results(hq, "hq-4711", 2)
        after_replay = local(daemon, "mute", "off")["result"]
    finally:
        daemon.stop()
    assert replay["replayed"] is True and replay["result"] == first["result"]
    assert after_replay["power"] == "off"  # the repeat did not act
    with database(cfg) as db:
        rows = db.execute("SELECT source, outcome FROM commands WHERE id = 'hq-4711'").fetchall()
    assert len(rows) == 1 and rows[0][0] == "mqtt"  # audited once, as a remote command


def test_a_retained_command_is_answered_on_every_reconnect_but_acts_only_once(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """HQ published `power on` retained (docs/mqtt.md says not to): the broker hands it over again
    on each connect. A screen an engineer switched off must stay off through three broker
    restarts; each delivery is answered as a replay."""
    command = {"id": "hq-retained-1", "action": "power", "args": {"state": "on"}}
    # a durable session, so HQ misses no answer while the broker restarts under both clients
    hq = HQ(broker.port, topic=RESULT, client_id="hq-durable", clean=False)
    cfg = write_config(tmp_path, broker.port, SCREEN)
    daemon = Daemon(cfg).start()
    try:
        wait_for(lambda: retained_power(broker) == "off", timeout=15)
        pub(broker.port, f"{ROOT}/cmd/screen", command, retain=True)
        [first] = results(hq, "hq-retained-1", 1)
        assert first["ok"] is True and first["replayed"] is False
        local(daemon, "power", "off")

        for restart in range(1, 4):
            broker.stop()
            broker.start()
            answers = results(hq, "hq-retained-1", 1 + restart)
        power = local(daemon, "mute", "off")["result"]["power"]
        pub(broker.port, f"{ROOT}/cmd/screen", None, retain=True)  # HQ clears it
    finally:
        daemon.stop()
        hq.close()
    assert [a["replayed"] for a in answers] == [False, True, True, True]
    assert all(a["result"] == first["result"] for a in answers)
    assert power == "off", "a redelivered retained command switched the screen back on"
    with database(cfg) as db:
        rows = db.execute("SELECT count(*) FROM commands WHERE id = 'hq-retained-1'").fetchone()
    assert rows[0] == 1
