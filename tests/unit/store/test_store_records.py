"""Device state for retained republish, the command audit trail, and meta values."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.store import StoreError, StoreErrorReason
from tests.unit.store.store_helpers import FakeClock, StoreFactory


async def test_device_state_survives_a_restart_so_retained_state_can_be_republished(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = await make_store()
    await store.save_device_state("lobby-projector", {"power": "on", "input": "hdmi1"})
    await store.save_device_state("lobby-projector", {"power": "off"})
    await store.save_device_state("wall", {"scene": 3})
    await store.close()

    again = await make_store()
    assert await again.device_states() == {
        "lobby-projector": {"power": "off"},
        "wall": {"scene": 3},
    }


async def test_a_removed_device_has_no_state_left(make_store: StoreFactory) -> None:
    store = await make_store()
    await store.save_device_state("kiosk-1", {"online": True})
    await store.delete_device_state("kiosk-1")
    await store.delete_device_state("never-existed")
    assert await store.device_states() == {}


async def test_device_state_that_is_not_json_is_rejected(make_store: StoreFactory) -> None:
    store = await make_store()
    with pytest.raises(StoreError) as err:
        await store.save_device_state("x", {"bad": object()})
    assert err.value.reason == StoreErrorReason.INVALID_ITEM


async def test_a_recorded_command_is_found_by_id_for_replay(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store()
    request = {
        "id": "c-1",
        "device": "wall",
        "action": "power",
        "args": {"on": True},
        "source": "mqtt",
    }
    result = {"id": "c-1", "ok": True, "result": {"power": "on"}, "ts": clock.now + 1}
    await store.command_record(request, result, received_at=clock.now)

    row = await store.command_get("c-1")
    assert row == {
        "id": "c-1",
        "request": request,
        "source": "mqtt",
        "received_at": clock.now,
        "outcome": "ok",
        "result": result,
        "finished_at": clock.now + 1,
    }
    assert await store.command_get("c-2") is None


async def test_a_repeated_command_id_keeps_the_first_outcome(make_store: StoreFactory) -> None:
    store = await make_store()
    request = {"id": "c-1", "source": "cli"}
    await store.command_record(request, {"id": "c-1", "ok": True, "ts": 1.0})
    await store.command_record(
        request, {"id": "c-1", "ok": False, "error": {"code": "timeout"}, "ts": 2.0}
    )
    row = await store.command_get("c-1")
    assert row is not None
    assert (row["outcome"], row["finished_at"]) == ("ok", 1.0)


async def test_audit_lists_newest_first_with_error_codes_as_outcome(
    make_store: StoreFactory,
) -> None:
    store = await make_store()
    for n, outcome in enumerate(["ok", "forbidden", "device_error"]):
        result = {"id": f"c-{n}", "ok": outcome == "ok", "ts": 10.0 + n}
        if outcome != "ok":
            result["error"] = {"code": outcome, "message": "no"}
        await store.command_record({"id": f"c-{n}", "source": "mqtt"}, result)
    await store.command_record({"id": "c-x"}, {"ok": False, "ts": 5.0})

    audit = await store.audit()
    assert [(a["id"], a["outcome"]) for a in audit] == [
        ("c-2", "device_error"),
        ("c-1", "forbidden"),
        ("c-0", "ok"),
        ("c-x", "failed"),
    ]
    assert audit[-1]["source"] == "unknown"
    assert [a["id"] for a in await store.audit(limit=2)] == ["c-2", "c-1"]


@pytest.mark.parametrize(
    ("request_", "result"),
    [({"device": "x"}, {"ok": True}), ({"id": ""}, {"ok": True}), ({"id": "c"}, {"ts": "soon"})],
    ids=["no-id", "empty-id", "text-ts"],
)
async def test_a_malformed_command_record_is_rejected(
    make_store: StoreFactory, request_: dict[str, object], result: dict[str, object]
) -> None:
    store = await make_store()
    with pytest.raises(StoreError) as err:
        await store.command_record(request_, result)
    assert err.value.reason == StoreErrorReason.INVALID_ITEM
    assert await store.audit() == []


async def test_commands_older_than_max_age_leave_the_audit(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store(max_age_days=1)
    await store.command_record({"id": "old"}, {"ok": True, "ts": clock.now})
    clock.now += 2 * 86400
    await store.command_record({"id": "new"}, {"ok": True, "ts": clock.now})
    await store.prune()
    assert [a["id"] for a in await store.audit()] == ["new"]


async def test_meta_values_persist_and_can_be_overwritten(make_store: StoreFactory) -> None:
    store = await make_store()
    assert await store.meta_get("uplink.session") is None
    await store.meta_set("uplink.session", "1")
    await store.meta_set("uplink.session", "2")
    await store.close()
    again = await make_store()
    assert await again.meta_get("uplink.session") == "2"
