"""`config check` refuses a host or a serial port no driver can use: a DNS label over 63
characters, a NUL in a serial path, a port glued to a host, a mistyped IPv4 address. Each is named
at FILE:LINE:COL with its key path, the reason and what to write; before, the config passed and
the driver failed at run time, in the journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains
from pydantic import ValidationError

from drivers.kiosk.config import KioskConfig
from drivers.mdc.config import SerialSettings
from drivers.pjlink.config import PJLinkConfig
from drivers.sdk.addresses import host_problem, serial_port_problem

AGENT = "agent: {branch_id: b-1, agent_id: a-1, data_dir: ./var}\n"
UNIT = "units: [{name: m, unit_id: 1, profile: env_sensor}]"
LONG = "a" * 64 + ".example"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`edge-agent ARGS`; `env` adds to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def check(tmp_path: Path, text: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """`edge-agent config check` on a file holding `text`."""
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    return run_cli("config", "check", *flags, str(path))


BAD = f"""\
{AGENT}uplink:
  mqtt: {{host: "broker.hq.example:8883"}}
devices:
  - {{id: p1, driver: pjlink, host: {LONG}}}
  - {{id: s1, driver: samsung_mdc, serial: {{port: "/dev/ttyUSB\\0"}}}}
  - {{id: s2, driver: samsung_mdc, host: 192.168.010.41}}
  - {{id: m1, driver: modbus, host: "meter!1.branch", {UNIT}}}
  - {{id: m2, driver: modbus, transport: rtu, serial_port: "tcp://10.0.0.9:4001", {UNIT}}}
  - {{id: k1, driver: kiosk, base_url: "http://kiosk-:8081", wol_broadcast: "ff02::1"}}
  - {{id: p2, driver: pjlink, host: "[fd00::51]", notify_bind: 300.1.1.1}}
"""


def test_config_check_names_each_unusable_host_and_serial_port_where_it_is_written(
    tmp_path: Path,
) -> None:
    ran = check(tmp_path, BAD)
    path = tmp_path / "edge.yaml"
    assert ran.returncode == 3, ran.stdout + ran.stderr  # before: 0, "ok"
    assert "Traceback" not in ran.stderr
    lines = ran.stderr.splitlines()
    expected = [
        f"{path}:3:10: uplink.mqtt.host: 'broker.hq.example:8883' ends in a port (:8883); "
        "write the host alone and the port in `port`",
        f"{path}:5:30: devices.0.host: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... "
        "(72 characters) has a label of 64 characters; a DNS label is at most 63 "
        "(write an IP address, e.g. 192.168.10.51, or a DNS name, e.g. display-3.branch.example)",
        f"{path}:6:44: devices.1.serial.port: '/dev/ttyUSB\\x00' holds a NUL character, which "
        "no file name can (write the port's path, e.g. /dev/ttyUSB0, or socket://HOST:PORT "
        "for a serial server)",
        f"{path}:7:35: devices.2.host: '192.168.010.41' is not an IPv4 address: 010 has a "
        "leading zero, which some programs read as octal; write 10",
        f"{path}:8:30: devices.3.host: 'meter!1.branch' holds '!'; a host name has only "
        "letters, digits, '-', '_' and dots",
        f"{path}:9:46: devices.4.serial_port: 'tcp://10.0.0.9:4001' is a tcp:// URL, which no "
        "serial library opens",
        f"{path}:10:29: devices.5.base_url: its host 'kiosk-' has a label 'kiosk-' that starts "
        "or ends with '-'",
        f"{path}:10:61: devices.5.wol_broadcast: 'ff02::1' is an IPv6 address; Wake-on-LAN is "
        "an IPv4 broadcast (write the kiosk LAN's IPv4 broadcast address, e.g. 192.168.10.255)",
        f"{path}:11:30: devices.6.host: '[fd00::51]' is in brackets; write an IPv6 address "
        "without them",
        f"{path}:11:50: devices.6.notify_bind: '300.1.1.1' is not an IPv4 address: 300 is over 255",
    ]
    assert len(lines) == len(expected) + 1, ran.stderr  # and the count line
    for line, start in zip(lines, expected, strict=False):
        assert line.startswith(start), f"{line}\n  does not start with\n{start}"
    assert lines[-1] == f"{len(expected)} problem(s) in {path}"


def test_config_check_json_gives_the_fix_as_the_hint(tmp_path: Path) -> None:
    ran = check(
        tmp_path, f"{AGENT}devices:\n  - {{id: p1, driver: pjlink, host: {LONG}}}\n", "--json"
    )
    assert ran.returncode == 3, ran.stdout + ran.stderr
    (error,) = json.loads(ran.stdout)["errors"]
    assert (error["line"], error["col"]) == (3, 30)
    assert error["message"].startswith("devices.0.host: 'aaaa")
    assert error["hint"] == (
        "write an IP address, e.g. 192.168.10.51, or a DNS name, e.g. display-3.branch.example"
    )


def test_a_password_in_a_kiosk_url_is_refused_without_being_repeated(tmp_path: Path) -> None:
    """aiohttp would send `user:password@` as Basic auth, and the URL shows in the journal, in
    `devices probe` and in errors that reach HQ: the secret belongs in a file."""
    text = f'{AGENT}devices:\n  - {{id: k1, driver: kiosk, base_url: "http://admin:S3cr3t@10.0.0.7:81"}}\n'
    ran = check(tmp_path, text)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "'http://***@10.0.0.7:81' holds a user name or password" in ran.stderr
    assert "(put the kiosk's bearer token in token_file; " in ran.stderr
    as_json = check(tmp_path, text, "--json")
    assert as_json.returncode == 3 and json.loads(as_json.stdout)["errors"][0]["line"] == 3
    for out in (ran.stdout, ran.stderr, as_json.stdout, as_json.stderr):
        assert "S3cr3t" not in out and "admin" not in out


@settings(max_examples=60, deadline=None)
@given(
    password=st.text(
        alphabet=st.sampled_from("aZ09/#?[]@:%.-_ !$&'()*+,;=~"), min_size=1, max_size=16
    ).filter(lambda p: p.strip(" '\\") == p and "S3" not in p),
    user=st.sampled_from(["admin", "", "op"]),
)
def test_no_password_in_a_kiosk_url_is_ever_repeated_by_the_loader(
    password: str, user: str
) -> None:
    """Whatever the password holds (`/`, `#`, `?`, `[` move URL parsing's idea of where the host
    is), the loader's messages, which reach the journal and HQ (a refused `_agent reload`),
    show it masked."""
    import tempfile

    from edge_agent.settings.errors import ConfigError
    from edge_agent.settings.loader import load

    secret = f"S3{password}"
    url = f"http://{user}:{secret}@kiosk.branch:8081"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "edge.yaml"
        yaml_url = url.replace("'", "''")
        path.write_text(f"{AGENT}devices:\n  - {{id: k1, driver: kiosk, base_url: '{yaml_url}'}}\n")
        try:
            load(path)
        except ConfigError as exc:
            said = str(exc)  # each issue with its hint, as the journal and HQ get them
        else:
            raise AssertionError(f"{url!r} was accepted")
    assert secret not in said and "S3" not in said, said
    assert "holds a user name or password" in said


GOOD = f"""\
{AGENT}uplink:
  mqtt: {{host: mqtt.hq.example.net.}}
devices:
  - {{id: p1, driver: pjlink, host: "fe80::51%eth0", notify_bind: "::"}}
  - {{id: s1, driver: samsung_mdc, serial: {{port: "socket://10.0.0.9:4001"}}}}
  - {{id: s2, driver: samsung_mdc, host: 10.0.0.41}}
  - {{id: s3, driver: samsung_mdc, serial: {{port: ./ttyUSB0}}}}
  - {{id: m1, driver: modbus, host: meter-1.branch, {UNIT}}}
  - {{id: m3, driver: modbus, host: METER_3, {UNIT}}}
  - {{id: m2, driver: modbus, transport: rtu, serial_port: "rfc2217://moxa-1:4001", {UNIT}}}
  - {{id: k1, driver: kiosk, base_url: "http://[fd00::70]:8081", wol_broadcast: 10.0.0.255}}
  - {{id: k2, driver: kiosk, base_url: "https://kiosk-2.bücher.example"}}
"""


def test_config_check_accepts_addresses_a_driver_can_use(tmp_path: Path) -> None:
    # An IPv6 literal with its zone, a rooted name, a serial server's URL, a relative serial
    # path (looked up from the working folder: a warning, as before), an internationalised name,
    # a name with '_' (Windows DNS and /etc/hosts serve them, and glibc resolves them).
    ran = check(tmp_path, GOOD)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "ok" in ran.stdout and "9 devices" in ran.stdout


# --- the validators themselves ----------------------------------------------------------------

HOSTISH = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="ab0-9.:[]%_ ", max_size=70),
    st.lists(st.text(alphabet="a0-", min_size=0, max_size=66), min_size=1, max_size=5).map(
        ".".join
    ),
    st.lists(st.integers(0, 400).map(str), min_size=1, max_size=5).map(".".join),
)


@settings(max_examples=400)
@given(HOSTISH)
def test_any_host_text_is_accepted_or_refused_with_a_reason_never_an_exception(text: str) -> None:
    problem = host_problem(text)
    if problem is not None:
        assert isinstance(problem, str) and problem
        return
    # what the socket layer does to a name before any lookup: no UnicodeError at run time
    text.encode("idna")
    assert PJLinkConfig(id="p", driver="pjlink", host=text).host == text  # as written


@settings(max_examples=200)
@given(st.one_of(st.ip_addresses().map(str), domains()))
def test_every_ip_address_and_dns_name_is_accepted_and_kept_as_written(host: str) -> None:
    assert host_problem(host) is None
    config = PJLinkConfig(id="p", driver="pjlink", host=host)
    again = PJLinkConfig.model_validate(config.model_dump())
    assert again.host == config.host == host


@given(st.text(alphabet="abc-", min_size=64, max_size=80))
def test_a_label_longer_than_63_characters_is_refused(label: str) -> None:
    assert host_problem(f"{label}.example") is not None


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["socket://", "rfc2217://", "loop://", "tcp://", "/dev/"]).flatmap(
            lambda head: st.text(alphabet="ab1:[]./\0", max_size=20).map(lambda t: head + t)
        ),
    )
)
def test_any_serial_port_text_is_accepted_or_refused_with_a_reason(text: str) -> None:
    problem = serial_port_problem(text)
    if problem is not None:
        assert isinstance(problem, str) and problem
        return
    assert text and "\0" not in text
    assert SerialSettings(port=text).port == text


@settings(max_examples=300)
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=HOSTISH.filter(lambda h: "/" not in h),
    port=st.sampled_from(["", ":80", ":0", ":65535", ":65536", ":x", ":"]),
)
def test_an_accepted_kiosk_base_url_always_gives_a_host_and_port(
    scheme: str, host: str, port: str
) -> None:
    entry: dict[str, Any] = {"id": "k", "driver": "kiosk", "base_url": f"{scheme}://{host}{port}"}
    try:
        config = KioskConfig.model_validate(entry)
    except ValidationError:
        return
    where, number = config.host_port
    assert host_problem(where) is None
    assert 1 <= number <= 65535


def test_config_check_takes_the_file_as_config_too_as_every_other_command(tmp_path: Path) -> None:
    bad = f"{AGENT}devices:\n  - {{id: p1, driver: pjlink, host: {LONG}}}\n"
    by_arg = check(tmp_path, bad)
    path = tmp_path / "edge.yaml"
    by_option = run_cli("config", "check", "-c", str(path))
    assert by_option.returncode == by_arg.returncode == 3
    assert by_option.stderr == by_arg.stderr and "devices.0.host" in by_option.stderr
    # Without either, the default config: $EDGE_AGENT_CONFIG here.
    by_env = run_cli("config", "check", env={"EDGE_AGENT_CONFIG": str(path)})
    assert by_env.returncode == 3 and by_env.stderr == by_arg.stderr
    other = tmp_path / "other.yaml"
    both = run_cli("config", "check", str(path), "--config", str(other))
    assert both.returncode == 2 and "two files given" in both.stderr
    shown = run_cli("config", "show", "--config", str(path))
    assert shown.returncode == 3 and "devices.0.host" in shown.stderr
