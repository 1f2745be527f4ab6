"""What the mail tests share: a real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepts and
can refuse addresses, stall, require STARTTLS or TLS and a login; a real store with residents and
parcels; kiosk configs on disk; the German mail texts compiled the way `make qm` compiles them."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import zxingcpp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from kiosk.config import KioskConfig, load_config
from kiosk.core.model import Compartment, DoorPurpose, JournalPhase, PickupNotice, Size
from kiosk.store import SqliteStore
from kiosk.store.residents import ResidentRow

T0 = 1_800_000_000.0
LOCKER_ID = "house-a-lobby"
SENDER = "locker@house-a.example"
LAYOUT = tuple(Compartment(f"{number:02d}", Size.M, 0, number, 100, 1) for number in range(1, 9))
WAIT_S = 15.0
HERE = Path(__file__).resolve().parent
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
_T = TypeVar("_T")


# the store ----------------------------------------------------------------------------------------------

DirectoryStore = SqliteStore  # the store, seen from the resident directory's tests


def open_store(path: Path) -> DirectoryStore:
    store = DirectoryStore.open(path, LAYOUT)
    assert isinstance(store, DirectoryStore)
    return store


def deposit_for(store: DirectoryStore, resident_id: int, parcel_id: str, compartment_id: str,
                code: str = "482913", at: float = T0) -> int:
    store.place_parcel(parcel_id, Size.S, compartment_id, "resident", f"hash-{parcel_id}".encode(), at)
    notice = PickupNotice(resident_id, parcel_id, code, compartment_id, Size.S, LOCKER_ID)
    return store.queue_pickup_notice(notice, at)


def pick_up(store: DirectoryStore, parcel_id: str, at: float = T0 + 60) -> None:
    compartment_id = store.parcel(parcel_id).compartment_id
    assert compartment_id is not None
    entry = store.journal_intent(compartment_id, DoorPurpose.PICKUP, [parcel_id], at)
    store.journal_advance(entry.id, JournalPhase.UNLOCK_SENT, at)
    store.journal_complete_pickup(entry.id, at)


def residents(store: DirectoryStore, *rows: ResidentRow) -> list[int]:
    return [resident.id for resident in store.replace_residents(rows, T0).added]


# configuration ------------------------------------------------------------------------------------------

def write_config(folder: Path, mail: str) -> KioskConfig:
    compartments = "".join(
        f"[[compartments]]\nid = \"{c.id}\"\nsize = \"M\"\nboard = 0\nlock = {c.lock}\nheight_cm = 100\n"
        "column = 1\n\n" for c in LAYOUT)
    path = folder / "kiosk.toml"
    path.write_text(
        f"[locker]\nid = \"{LOCKER_ID}\"\ndefault_language = \"en\"\ndatabase = \"kiosk.sqlite\"\n"
        "secrets_file = \"secrets.toml\"\n\n[bus]\nurl = \"sim://mail\"\nprotocol = \"kerong-cu16\"\n"
        f"hook_closed_bit = 1\n\n[mail]\n{mail}\n\n{compartments}", encoding="utf-8")
    return load_config(path)


def plain_mail_table(port: int, **extra: str) -> str:
    lines = ["host = \"127.0.0.1\"", f"port = {port}", "security = \"none\"", f"from_address = \"{SENDER}\"",
             "timeout_s = 5"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines)


GERMAN_TS = HERE.parents[1] / "translations" / "kiosk_de.ts"


def compile_german(folder: Path) -> Path:
    """translations/kiosk_de.ts built into folder/kiosk_de.qm, as `make qm` builds it."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(VENV_BIN / "pyside6-lrelease"), "-silent", str(GERMAN_TS), "-qm",
                    str(folder / "kiosk_de.qm")], check=True, timeout=60)
    return folder


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the openssl command line); (certificate, key)."""
    certificate, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return certificate, key


# the SMTP server ----------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class RecordingHandler:
    """Accepts every mail and records it; `refuse` maps an address to the reply its RCPT gets; while
    `stall` is set, DATA waits (with `in_data` set) until it is cleared."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    stall: asyncio.Event | None = None
    in_data: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.in_data.set()
        if self.stall is not None:
            await self.stall.wait()
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 accepted"

    def authenticate(self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: object) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: the server answers (235 or 535) itself
        return AuthResult(success=(login, password) == ("locker", "s3cret"), handled=False)

    def to(self, address: str) -> list[Received]:
        return [received for received in self.received if address in received.recipients]


class SmtpServer:
    """A real SMTP server on 127.0.0.1:port in its own thread (aiosmtpd's Controller)."""

    def __init__(self, handler: RecordingHandler, port: int, **options: Any) -> None:
        self.handler = handler
        self.port = port
        self._controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10, **options)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        stall = self.handler.stall
        loop = getattr(self._controller, "loop", None)
        if stall is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stall.set)  # let a stalled DATA finish, so the server stops cleanly
        self._controller.stop()

    def release(self) -> None:
        stall = self.handler.stall
        assert stall is not None
        self._controller.loop.call_soon_threadsafe(stall.set)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(key))
    return context


# reading what arrived -----------------------------------------------------------------------------------

def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def qr_codes_in(message: EmailMessage) -> list[str]:
    """The texts of the QR codes in the message's inline PNG images, read as a camera would."""
    texts: list[str] = []
    for part in message.iter_attachments():
        if part.get_content_type() == "image/png" and part.get_content_disposition() == "inline":
            data = part.get_content()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
            texts += [code.text for code in zxingcpp.read_barcodes(image)]
    return texts


# running a scenario -------------------------------------------------------------------------------------

def run(scenario: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    return asyncio.run(asyncio.wait_for(scenario(), 60))


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Wait for `condition`, giving the loop and the threads their turn, up to a deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
