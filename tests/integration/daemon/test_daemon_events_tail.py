"""`edge-agent events tail`: the newest items that pass the filter, however rare they are."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.daemon import Daemon, cli, wait_for


def tail(cfg: Path, *args: str) -> list[dict[str, object]]:
    out = cli("events", "tail", "--json", "--config", str(cfg), *args)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_tail_filters_before_it_counts_and_is_not_capped_at_one_page(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text("""\
agent: {branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/c.sock}
uplink: {enabled: false}
devices:
  - {id: firehose, driver: simulated_sensor, poll_interval_s: 0.05, readings_per_poll: 50}
  - {id: screen, driver: simulated_display, poll_interval_s: 5}
""")
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.status()["store"]["accepted_total"] > 1500, timeout=30)
        screen = tail(cfg, "-n", "3", "--device", "screen")
        nothing = tail(cfg, "-n", "3", "--device", "no-such-device")
        plain = cli("events", "tail", "-n", "3", "--kind", "no-such-kind", "--config", str(cfg))
        last_seq = d.status()["store"]["last_seq"]
        many = tail(cfg, "-n", "1200")
    finally:
        assert d.stop() == 0
    # the screen's few items sit far behind thousands of readings, and are still found
    assert screen and all(i["device"] == "screen" for i in screen)
    assert nothing == []
    assert plain.returncode == 0 and plain.stdout == "" and "Traceback" not in plain.stderr
    seqs = [int(str(i["seq"])) for i in many]
    assert len(seqs) == 1200 and seqs == sorted(seqs)
    assert seqs[-1] >= last_seq, "the newest items, not the oldest page"
