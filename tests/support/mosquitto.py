"""A real Debian mosquitto for tests: own config, users, ACL, TLS and mTLS listeners, restartable.

    broker = Mosquitto(tmp_path)
    broker.start()          # plain listener on broker.port, TLS on tls_port, mTLS on mtls_port
    broker.stop(); broker.start()   # same ports, retained messages and sessions kept
    broker.close()

Users: `agent` (password AGENT_PASSWORD) may use `edge/#`; `hq` (HQ_PASSWORD) too. Certificates
come from the `openssl` CLI: `ca.crt`, `server.crt` (CN/SAN 127.0.0.1, localhost), `client.crt`
and `client.key`, plus `wrong-ca.crt` that signed nothing here. `make_dated_leaf` makes one with
chosen dates; `serve_certificate` puts it on the TLS listeners at the next start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.net import free_port

MOSQUITTO = "/usr/sbin/mosquitto"
AGENT_USER, AGENT_PASSWORD = "agent", "s3cret-Agent-pw-7f1c"
HQ_USER, HQ_PASSWORD = "hq", "hq-pw-2b9d"


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_ca(d: Path, name: str) -> None:
    _run(
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
        "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d,
    )  # fmt: skip


def _leaf_request(d: Path, name: str, *, server: bool) -> Path:
    """`name.key`, `name.csr` and the extensions file a leaf certificate is signed with."""
    _run(
        "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d,
    )  # fmt: skip
    ext = d / f"{name}.ext"
    usage = "serverAuth" if server else "clientAuth"
    lines = [f"extendedKeyUsage={usage}", "basicConstraints=CA:FALSE"]
    if server:
        lines.append("subjectAltName=IP:127.0.0.1,DNS:localhost")
    ext.write_text("\n".join(lines) + "\n")
    return ext


def _make_leaf(d: Path, name: str, ca: str, *, server: bool) -> None:
    ext = _leaf_request(d, name, server=server)
    _run(
        "openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=d,
    )  # fmt: skip


def make_dated_leaf(
    d: Path, name: str, *, not_before: datetime, not_after: datetime, server: bool = True
) -> Path:
    """`name.crt`, signed by `d/ca`, valid from `not_before` to `not_after` (UTC): a certificate
    not yet valid, or expired, by this PC's clock. `openssl ca`, because `openssl x509 -req` in
    OpenSSL 3.0 cannot set the start date."""
    ext = _leaf_request(d, name, server=server)
    db = d / f"{name}.ca"
    db.mkdir(exist_ok=True)
    (db / "index.txt").write_text("")
    (db / "serial").write_text(f"{int(time.time() * 1000) & 0xFFFFFFFF:08X}\n")
    (db / "ca.cnf").write_text(
        f"[ca]\ndefault_ca = edge\n[edge]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\n"
        f"serial = {db}/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
        "[any]\ncommonName = supplied\n"
    )
    stamp = "%Y%m%d%H%M%SZ"
    _run(
        "openssl", "ca", "-batch", "-notext", "-config", str(db / "ca.cnf"), "-cert", "ca.crt",
        "-keyfile", "ca.key", "-in", f"{name}.csr", "-out", f"{name}.crt", "-extfile", ext.name,
        "-startdate", not_before.astimezone(UTC).strftime(stamp),
        "-enddate", not_after.astimezone(UTC).strftime(stamp), cwd=d,
    )  # fmt: skip
    return d / f"{name}.crt"


class Mosquitto:
    """One broker process with its config, users, ACL and certificates under `root`."""

    def __init__(self, root: Path, *, tls: bool = True) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.mtls_port = free_port() if tls else None
        self.log_file = root / "mosquitto.log"
        self.server_cert = "server"  # serve_certificate() changes it
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_users()
        if tls:
            self._write_certs()
        self._write_config()

    # -- files -------------------------------------------------------------------------------

    def _write_users(self) -> None:
        passwd = self.root / "passwd"
        passwd.touch()
        for user, pw in ((AGENT_USER, AGENT_PASSWORD), (HQ_USER, HQ_PASSWORD)):
            _run("mosquitto_passwd", "-b", str(passwd), user, pw, cwd=self.root)
        (self.root / "acl").write_text(
            f"user {AGENT_USER}\ntopic readwrite edge/#\n\nuser {HQ_USER}\ntopic readwrite edge/#\n"
        )

    def _write_certs(self) -> None:
        _make_ca(self.root, "ca")
        _make_ca(self.root, "wrong-ca")
        _make_leaf(self.root, "server", "ca", server=True)
        _make_leaf(self.root, "client", "ca", server=False)

    def _write_config(self) -> None:
        r = self.root
        lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {r / 'passwd'}",
            f"acl_file {r / 'acl'}",
            "persistence true",
            f"persistence_location {r}/",
            "autosave_interval 1",
            "max_queued_messages 0",
            "max_inflight_messages 100",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"listener {self.port} 127.0.0.1",
        ]
        if os.geteuid() == 0:
            lines.insert(0, "user root")  # else mosquitto drops to a user that cannot read tmp
        if self.tls_port is not None and self.mtls_port is not None:
            for port, require in ((self.tls_port, "false"), (self.mtls_port, "true")):
                lines += [
                    f"listener {port} 127.0.0.1",
                    f"cafile {r / 'ca.crt'}",
                    f"certfile {r / (self.server_cert + '.crt')}",
                    f"keyfile {r / (self.server_cert + '.key')}",
                    f"require_certificate {require}",
                ]
        self.config = r / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def serve_certificate(self, name: str) -> None:
        """Serve `name.crt` / `name.key` (under root) on the TLS listeners from the next start."""
        self.server_cert = name
        self._write_config()

    # -- process -----------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start (or restart) on the same ports; returns once the plain port accepts."""
        assert self._proc is None, "already running"
        log = self.log_file.open("ab")
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        ports = [p for p in (self.port, self.tls_port, self.mtls_port) if p is not None]
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log_file.read_text()[-2000:]}")
            if all(self._accepts(p) for p in ports):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mosquitto did not start listening")
            time.sleep(0.05)

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM): mosquitto saves retained messages and queued sessions."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


def tools_available() -> bool:
    return (
        all(shutil.which(t) for t in ("mosquitto_passwd", "mosquitto_sub", "openssl"))
        and Path(MOSQUITTO).exists()
    )
