"""A local Kannel with its fake SMSC: bearerbox, smsbox and ``fakesmsc`` (Debian
``kannel`` and ``kannel-extras``) on loopback ports picked free, in a folder of its own.

It stands in for the operator's SMS gateway and SMSC where there is none: in the tests
and in ``bench.notify``. ``Kannel.received()`` reads what reached the fake SMSC (its log
line per message), so a caller counts messages where the operator's SMSC would have them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$")


def installed() -> bool:
    return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass(frozen=True)
class Received:
    sender: str
    to: str
    kind: str
    """``text`` for GSM text; ``ucs-2`` for UCS-2 and ``udh`` for a part of a
    concatenated message, both url-encoded."""
    text: str

    @property
    def decoded(self) -> str:
        if self.kind == "ucs-2":
            raw = urllib.parse.unquote_to_bytes(self.text.replace("+", "%20"))
            return raw.decode("utf-16-be")
        if self.kind == "udh":  # "<header> data <text>", both url-encoded
            return urllib.parse.unquote_plus(self.text.split(" data ", 1)[1])
        return self.text


class Kannel:
    USERNAME = "breachclock"
    PASSWORD = "kannel-test-password"

    def __init__(self, folder: Path, dlr_allow: str = "127.0.0.1") -> None:
        self.folder = folder
        self.admin, self.box, self.smsc, self.sendsms = (free_port() for _ in range(4))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.smsc_log = folder / "fakesmsc.log"
        (folder / "kannel.conf").write_text(self._conf())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms"

    def _conf(self) -> str:
        f = self.folder
        return f"""group = core
admin-port = {self.admin}
admin-password = {self.PASSWORD}
admin-interface = 127.0.0.1
smsbox-port = {self.box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{f}/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = {self.smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box}
sendsms-port = {self.sendsms}
sendsms-interface = 127.0.0.1
log-file = "{f}/smsbox.log"
log-level = 2

group = sendsms-user
username = {self.USERNAME}
password = {self.PASSWORD}
user-allow-ip = 127.0.0.1
concatenation = true
max-messages = 2

group = sms-service
keyword = default
catch-all = true
max-messages = 0
text = ""
"""

    def _start(self, *argv: str, out: Path) -> None:
        with out.open("wb") as sink:
            self.processes.append(
                subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=self.folder)
            )

    def start(self) -> Kannel:
        conf = str(self.folder / "kannel.conf")
        # -v 2: warnings and worse on the console output too, as in the log files; its
        # default (debug) wrote 90 MB a minute at a few hundred messages a second.
        self._start(BEARERBOX, "-v", "2", conf, out=self.folder / "bearerbox.out")
        wait_port(self.smsc)
        # -m 0: send no messages of its own; log every one it receives.
        self._start(
            FAKESMSC,
            "-H",
            "127.0.0.1",
            "-r",
            str(self.smsc),
            "-m",
            "0",
            "1 2 text x",
            out=self.smsc_log,
        )
        self._start(SMSBOX, "-v", "2", conf, out=self.folder / "smsbox.out")
        wait_port(self.sendsms)
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def received(self) -> list[Received]:
        """Every message the fake SMSC has received, in order (a concatenated message's
        parts each count)."""
        found = []
        for line in self.smsc_log.read_text(errors="replace").splitlines():
            match = GOT.search(line)
            if match:
                found.append(Received(*match.groups()))
        return found

    def wait_received(self, count: int, seconds: float = 30) -> list[Received]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.1)
        return self.received()
