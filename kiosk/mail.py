"""Pickup-code e-mails for standalone mode: rendering, and delivery through the configured SMTP server.

Rendering: `render_pickup_mail` makes a plain-text mail in the resident's language (English or German)
with the pickup QR code as an inline PNG image. Its texts are Qt translations in the context "Mail",
written as `texts.translate("Mail", "...")` calls so that pyside6-lupdate extracts them like any
QCoreApplication.translate call; each mail reads them from that language's translator (kiosk_de.qm), not
from the application's installed one, which follows the screen's language rather than the resident's.

Delivery: `MailDelivery` empties the store's mail queue (kiosk.store.residents) while the loop runs, in the
manner of kiosk.backend.delivery.OutboxDelivery. Threads: the store is read and written on the event-loop
thread only; rendering and SMTP run in ONE worker thread that the service owns, starts and joins. A round:

    read the due mails (loop) -> render and send them over one SMTP session (worker) -> record (loop)

Failures:
- the server cannot be reached, TLS or the login fails, the server refuses the sender, drops the
  connection or answers 4xx to the session: nothing of the rest of the round is sent, every mail of it
  gets the error and a retry time; the next round waits an exponential backoff with jitter, unless
  `nudge()` (a new mail was queued) wakes it sooner;
- the server answers 4xx to one mail (recipient or content): that mail is retried after its own backoff;
- the server answers 5xx to one mail (e.g. 550 no such mailbox): that mail is held with its error and
  not retried (`mail_held()` shows it; a corrected address releases it), the others go on.
A mail the server accepted is deleted from the queue at once; a crash between the server's acceptance and
that deletion sends it once more after the restart (at least once, never lost). A mail whose parcel has
left the locker is discarded unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import enum
import io
import logging
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, TypeVar

import segno
from PySide6.QtCore import QTranslator

from kiosk.backend.delivery import Backoff, WorkerThread, on_loop_thread, one_line
from kiosk.config import KioskConfig, MailConfig
from kiosk.core.model import PickupNotice
from kiosk.core.payloads import pickup_payload
from kiosk.core.ports import Clock, TimerHandle
from kiosk.store.residents import QueuedMail, Resident, smtp_address

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
SOURCE_LANGUAGE = "en"
MAIL_LANGUAGES = ("en", "de")
MIN_RETRY_S = 1.0  # never retry sooner, whatever the jitter drew: a refused port answers at once
QR_SCALE = 8  # pixels per module: ~300 px for a pickup code, easy for the locker's camera off a phone
_R = TypeVar("_R")
_PLACEHOLDER = re.compile(r"%([1-9])")

__all__ = ["MailDelivery", "MailQueue", "PickupNotice", "render_pickup_mail"]


class MailQueue(Protocol):
    """What the delivery needs of the store (kiosk.store.residents.ResidentRecords is one)."""

    def mail_batch(self, limit: int, now: float) -> Sequence[QueuedMail]: ...

    def mail_sent(self, mail_id: int, at: float | None = None) -> bool: ...

    def mail_failed(self, mail_id: int, error: str, retry_at: float | None,
                    at: float | None = None) -> bool: ...

    def mail_discard_stale(self, at: float) -> int: ...

    def mail_next_attempt_at(self) -> float | None: ...


# rendering ----------------------------------------------------------------------------------------------

class MailTexts:
    """The mail texts of one language, from its compiled Qt translation (English is the source)."""

    def __init__(self, language: str, directory: Path = TRANSLATIONS_DIR) -> None:
        self.language = language if language in MAIL_LANGUAGES else SOURCE_LANGUAGE
        self._translator: QTranslator | None = None
        self._missing: set[str] = set()
        if self.language != SOURCE_LANGUAGE:
            translator = QTranslator()
            path = directory / f"kiosk_{self.language}.qm"
            if path.is_file() and translator.load(str(path)):
                self._translator = translator
            else:
                log.warning("no translation file %s (build it with `make qm`): mails in %s go out in English",
                            path, self.language)

    def translate(self, context: str, source: str) -> str:
        """Named like QCoreApplication.translate so lupdate extracts every call with literal texts."""
        if self._translator is None:
            return source
        translated = self._translator.translate(context, source)
        if translated:
            return translated
        if source not in self._missing:
            self._missing.add(source)
            log.warning("the %s mail text %r has no translation yet: sent in English", self.language, source)
        return source


_texts_cache: dict[tuple[str, Path], MailTexts] = {}
_texts_lock = threading.Lock()


def mail_texts(language: str, directory: Path = TRANSLATIONS_DIR) -> MailTexts:
    """The texts of `language` (unknown languages: English), loaded once per translations folder."""
    with _texts_lock:
        key = (language, directory)
        if key not in _texts_cache:
            _texts_cache[key] = MailTexts(language, directory)
        return _texts_cache[key]


def render_pickup_mail(notice: PickupNotice, resident: Resident, locker_name: str, language: str, *,
                       sender: str | None = None,
                       translations_dir: Path = TRANSLATIONS_DIR) -> EmailMessage:
    """The pickup mail for `resident`: subject and plain text in `language` ("en" or "de"; anything else
    English), the pickup QR code as an inline PNG. `locker_name` is the locker's id ([locker] id), which
    the QR code carries and the text names. `sender` fills From when given. Raises ValueError when the
    notice cannot make a valid pickup QR code (a code that is not 6-8 digits, a malformed locker id)."""
    texts = mail_texts(language, translations_dir)
    payload = pickup_payload(locker_name, notice.code)
    qr = segno.make_qr(payload, error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=QR_SCALE, border=4)
    paragraphs = [
        _fill(texts.translate("Mail", "Hello %1,"), resident.name),
        _fill(texts.translate("Mail", "a parcel is waiting for you in the parcel locker %1."), locker_name),
        _fill(texts.translate("Mail", "Your pickup code: %1"), notice.code),
        _fill(texts.translate("Mail", "Type the code on the locker's screen, or hold the QR code in this "
                                      "e-mail up to the locker's camera. The door of compartment %1 will "
                                      "open."), notice.compartment_id),
        _fill(texts.translate("Mail", "Parcel: %1 (size %2)"), notice.parcel_id, notice.size.value),
        texts.translate("Mail", "Keep this code to yourself: it opens the compartment with your parcel."),
        texts.translate("Mail", "This e-mail was sent automatically by the parcel locker; replies are not "
                                "read."),
    ]
    message = EmailMessage()
    message["Subject"] = _fill(texts.translate("Mail", "Your parcel is waiting at locker %1"), locker_name)
    message["To"] = Address(display_name=resident.name, addr_spec=smtp_address(resident.email))
    if sender is not None:
        message["From"] = smtp_address(sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a locker
    # quoted-printable keeps the mail 7-bit clean for servers without 8BITMIME.
    message.set_content("\n\n".join(paragraphs) + "\n", cte="quoted-printable")
    message.add_attachment(image.getvalue(), maintype="image", subtype="png", disposition="inline",
                           filename="pickup-code.png", cid=email.utils.make_msgid("pickup-code"))
    message["Content-Language"] = texts.language  # after add_attachment, which moves Content-* headers
    return message


def _fill(template: str, *values: str) -> str:
    """Qt's %1..%9 in one pass, so a value that itself holds "%2" stays as it is."""
    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values[index] if index < len(values) else match.group(0)

    return _PLACEHOLDER.sub(value, template)


# delivery -----------------------------------------------------------------------------------------------

class _Fate(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # this mail failed for now (4xx)
    HOLD = "hold"  # this mail was refused for good (5xx), or cannot be made
    SESSION = "session"  # the session failed before this mail was through: retry with the round's backoff
    ABORTED = "aborted"  # stop() cut the session: nothing to record, it is simply sent next time


@dataclass(frozen=True)
class _Outcome:
    mail_id: int
    fate: _Fate
    error: str | None = None


class MailDelivery:
    """Sends the store's queued pickup mails through [mail] while the loop runs.

    Use from the event-loop thread: `await start()`, `nudge()` after queueing a mail, `await stop()`.
    `config` must have a [mail] table; `password` is the secrets file's smtp_password (kiosk.config.
    mail_password), required when [mail] username is set. `online` is None before the first SMTP session,
    then whether the last one got through; `last_error` is the last session failure's reason.
    """

    def __init__(
        self,
        store: MailQueue,
        config: KioskConfig,
        *,
        clock: Clock,
        password: str | None = None,
        backoff: Backoff | None = None,
        batch_size: int = 20,
        translations_dir: Path = TRANSLATIONS_DIR,
    ) -> None:
        if config.mail is None:
            raise ValueError(f"{config.path} has no [mail] table: there is no SMTP server to send through")
        if config.mail.username is not None and password is None:
            raise ValueError(f"{config.path} sets mail.username but no SMTP password was given "
                             "(smtp_password in the secrets file)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= 500:
            raise ValueError(f"batch_size must be from 1 to 500, not {batch_size!r}")
        self._store = store
        self._mail: MailConfig = config.mail
        self._locker_id = config.locker.id
        self._default_language = config.locker.default_language
        self._clock = clock
        self._password = password
        self._backoff = backoff or Backoff(base_s=5.0, cap_s=900.0)
        self._batch_size = batch_size
        self._translations_dir = translations_dir
        self._online: bool | None = None
        self._last_error: str | None = None
        self._sent = 0
        self._failures = 0  # sessions failed in a row
        self._session = _Session()
        self._worker: WorkerThread | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    @property
    def online(self) -> bool | None:
        return self._online

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def sent(self) -> int:
        """Mails the server accepted since start()."""
        return self._sent

    @property
    def failures_in_a_row(self) -> int:
        return self._failures

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is not None or self._stopping:
            raise RuntimeError("a MailDelivery starts once")
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._worker = WorkerThread("mail-delivery", self._loop)
        self._task = self._loop.create_task(self._run(), name="mail-delivery")

    async def stop(self) -> None:
        """Stop promptly: a session in progress is cut (its socket shut down), what the server had
        accepted is recorded, the rest stays queued for next time; the worker thread is joined."""
        if self._stopping:
            return
        self._stopping = True
        self._session.abort()
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            await asyncio.wait([self._task])
        if self._worker is not None:
            await self._worker.close()  # idle by now: the round awaited its last job

    def nudge(self) -> None:
        """A mail was queued: send now. Safe from any thread."""
        if self._wake is None or self._loop is None or self._stopping:
            return
        if on_loop_thread(self._loop):
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    # the loop -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()  # a nudge from here on, even during the round, starts another round
            next_at: float | None = None
            try:
                retry_in = await self._deliver_due()
                if retry_in is None:
                    next_at = self._store.mail_next_attempt_at()
            except Exception as error:  # the store failed (disk full, ...): keep the service alive
                log.exception("mail delivery failed on the locker's side")
                self._last_error = f"locker-side failure: {one_line(str(error))}"
                self._failures += 1
                retry_in = self._retry_delay(self._failures)
            if self._stopping:
                return
            if retry_in is not None:
                await self._sleep(retry_in)
            elif next_at is None:
                await self._wake.wait()
            elif next_at > self._clock.now():
                await self._sleep(next_at - self._clock.now())

    async def _sleep(self, delay_s: float) -> None:
        assert self._wake is not None
        timer: TimerHandle = self._clock.call_later(delay_s, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()

    async def _deliver_due(self) -> float | None:
        """Send every due mail; the delay before the next round when a session failed, else None."""
        while not self._stopping:
            now = self._clock.now()
            self._store.mail_discard_stale(now)
            batch = list(self._store.mail_batch(self._batch_size, now))
            if not batch:
                return None
            outcomes = await self._in_worker(self._send_batch, batch)
            session_error = self._record(batch, outcomes)
            if session_error is not None:
                return session_error
        return None

    async def _in_worker(self, function: Callable[[list[QueuedMail]], _R], batch: list[QueuedMail]) -> _R:
        assert self._worker is not None
        # Not cancelled by stop(): the session is cut instead, so what the server accepted is still recorded.
        return await asyncio.shield(self._worker.run(function, batch))

    def _record(self, batch: list[QueuedMail], outcomes: list[_Outcome]) -> float | None:
        now = self._clock.now()
        by_id = {mail.id: mail for mail in batch}
        session_error = next((outcome.error for outcome in outcomes if outcome.fate is _Fate.SESSION), None)
        retry_in = None
        if session_error is not None:
            self._failures += 1
            retry_in = self._retry_delay(self._failures)
            if session_error != self._last_error:  # once per reason, not once per retry
                waiting = sum(outcome.fate is _Fate.SESSION for outcome in outcomes)
                log.warning("cannot send mail through %s (%d mails of this round wait; next try in %.0f s): "
                            "%s", self._mail.host, waiting, retry_in, session_error)
            self._online = False
            self._last_error = session_error
        elif any(outcome.fate is not _Fate.ABORTED for outcome in outcomes):
            if self._online is not True:
                log.info("mail goes out through %s", self._mail.host)
            self._failures = 0
            self._online = True
            self._last_error = None
        for outcome in outcomes:
            mail = by_id[outcome.mail_id]
            error = outcome.error or "unknown error"
            if outcome.fate is _Fate.SENT:
                self._store.mail_sent(mail.id, at=now)
                self._sent += 1
            elif outcome.fate is _Fate.RETRY:
                delay = self._retry_delay(mail.attempts + 1)
                self._store.mail_failed(mail.id, error, now + delay, at=now)
                log.warning("mail %d for parcel %s is retried in %.0f s: %s", mail.id, mail.notice.parcel_id,
                            delay, error)
            elif outcome.fate is _Fate.HOLD:
                self._store.mail_failed(mail.id, error, None, at=now)
                log.warning("mail %d for parcel %s is held, not retried: %s", mail.id, mail.notice.parcel_id,
                            error)
            elif outcome.fate is _Fate.SESSION:
                self._store.mail_failed(mail.id, error, now + (retry_in or MIN_RETRY_S), at=now)
        return retry_in

    def _retry_delay(self, failures: int) -> float:
        return max(MIN_RETRY_S, self._backoff.delay(failures))

    # the worker ---------------------------------------------------------------------------------------

    def _send_batch(self, batch: list[QueuedMail]) -> list[_Outcome]:
        """In the worker thread: one SMTP session for the batch; an outcome for every mail."""
        outcomes: list[_Outcome] = []
        try:
            smtp = self._session.open(self._mail, self._password)
        except Exception as error:
            self._session.close()
            fate = _Fate.ABORTED if self._session.aborted else _Fate.SESSION
            return [_Outcome(mail.id, fate, _describe(error, self._mail)) for mail in batch]
        try:
            for mail in batch:
                if self._session.aborted:
                    break
                outcome = self._send_one(smtp, mail)
                outcomes.append(outcome)
                if outcome.fate in (_Fate.SESSION, _Fate.ABORTED):
                    break
        finally:
            self._session.close()
        done = {outcome.mail_id for outcome in outcomes}
        cut = _Fate.ABORTED if self._session.aborted else _Fate.SESSION
        failed = next((outcome for outcome in outcomes if outcome.fate is _Fate.SESSION), None)
        reason = failed.error if failed is not None else "the session ended"
        return outcomes + [_Outcome(mail.id, cut, reason) for mail in batch if mail.id not in done]

    def _send_one(self, smtp: smtplib.SMTP, mail: QueuedMail) -> _Outcome:
        language = mail.resident.language or self._default_language
        try:
            message = render_pickup_mail(mail.notice, mail.resident, self._locker_id, language,
                                         sender=self._mail.from_address,
                                         translations_dir=self._translations_dir)
            message["Date"] = email.utils.formatdate(self._clock.now(), usegmt=True)
            message["Message-ID"] = email.utils.make_msgid("pickup", domain=_domain(self._mail.from_address))
            recipient = smtp_address(mail.resident.email)
        except (ValueError, TypeError) as error:
            return _Outcome(mail.id, _Fate.HOLD, f"cannot make the mail: {one_line(str(error))}")
        try:
            smtp.send_message(message, from_addr=smtp_address(self._mail.from_address), to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            return _Outcome(mail.id, _Fate.HOLD if code >= 500 else _Fate.RETRY,
                            f"the server refused {recipient}: {_reply(code, reply)}")
        except smtplib.SMTPDataError as error:
            if error.smtp_code >= 500:
                return _Outcome(mail.id, _Fate.HOLD,
                                f"the server refused the mail: {_reply(error.smtp_code, error.smtp_error)}")
            return _Outcome(mail.id, _Fate.RETRY, _reply(error.smtp_code, error.smtp_error))
        except Exception as error:  # the sender refused, the connection lost, a timeout: the whole session
            fate = _Fate.ABORTED if self._session.aborted else _Fate.SESSION
            return _Outcome(mail.id, fate, _describe(error, self._mail))
        return _Outcome(mail.id, _Fate.SENT)


class _AbortableSMTP(smtplib.SMTP):
    """smtplib.SMTP whose sockets are registered with a _Session before they connect, so that stop() can cut
    even a connection attempt in progress. Connects in the constructor, like smtplib.SMTP given a host."""

    def __init__(self, session: _Session, config: MailConfig, local_hostname: str) -> None:
        self.session = session  # before connecting: _get_socket needs it
        super().__init__(config.host, config.port, local_hostname=local_hostname, timeout=config.timeout_s)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.session.connect(host, port, timeout)


class _AbortableSMTPSSL(smtplib.SMTP_SSL):
    """SMTP over TLS from the first byte, with the TLS socket registered before its handshake."""

    def __init__(self, session: _Session, config: MailConfig, local_hostname: str) -> None:
        self.session = session
        super().__init__(config.host, config.port, local_hostname=local_hostname, timeout=config.timeout_s,
                         context=_tls_context(config))

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = self.session.connect(host, port, timeout)
        secured = self.context.wrap_socket(plain, server_hostname=host, do_handshake_on_connect=False)
        self.session.register(secured)
        secured.do_handshake()
        return secured


class _Session:
    """The worker's SMTP session, which the loop thread may cut (abort) at any moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []  # of the session in progress
        self._smtp: smtplib.SMTP | None = None
        self._aborted = False

    @property
    def aborted(self) -> bool:
        return self._aborted

    def open(self, config: MailConfig, password: str | None) -> smtplib.SMTP:
        """Connect, secure and log in as configured (worker thread). On failure, close() is still due."""
        local_name = socket.gethostname() or "locker"  # not getfqdn(): that may wait on DNS
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = _AbortableSMTPSSL(self, config, local_name)
        else:
            smtp = _AbortableSMTP(self, config, local_name)
        with self._lock:
            self._smtp = smtp
            if self._aborted:
                raise ConnectionAbortedError("mail delivery is stopping")
        if config.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    f"{config.host} does not offer STARTTLS; set mail.security = \"tls\" if it takes TLS "
                    "from the start")
            smtp.starttls(context=_tls_context(config))
            smtp.ehlo()
        if config.username is not None:
            smtp.login(config.username, password or "")
        return smtp

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """socket.create_connection, with each socket registered before it connects."""
        failure: OSError | None = None
        for family, kind, protocol, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            candidate = socket.socket(family, kind, protocol)
            self.register(candidate)
            try:
                candidate.settimeout(timeout)
                candidate.connect(address)
                return candidate
            except OSError as error:
                failure = error
                candidate.close()
        raise failure or OSError(f"{host} has no address")

    def register(self, new_socket: socket.socket) -> None:
        """A socket of this session: abort() shuts it down, close() closes it."""
        with self._lock:
            self._sockets.append(new_socket)
            if self._aborted:
                raise ConnectionAbortedError("mail delivery is stopping")

    def abort(self) -> None:
        """Cut the session from another thread: whatever the worker waits on fails at once."""
        with self._lock:
            self._aborted = True
            current = self._smtp.sock if self._smtp is not None else None
            for open_socket in [*self._sockets, *([current] if current is not None else [])]:
                # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would drop its state under
                # the worker's feet instead of just waking it. A socket TLS has taken over has no descriptor
                # left, so its shutdown fails harmlessly.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(open_socket, socket.SHUT_RDWR)

    def close(self) -> None:
        """End the session (worker thread): QUIT politely, or just close when the line is gone."""
        with self._lock:
            smtp, self._smtp = self._smtp, None
            sockets, self._sockets = self._sockets, []
        try:
            if smtp is not None and not self._aborted:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            if smtp is not None:
                smtp.close()
            for open_socket in sockets:
                open_socket.close()


def _tls_context(config: MailConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(config.ca_bundle) if config.ca_bundle else None)


def _describe(error: BaseException, config: MailConfig) -> str:
    """A session failure as one line an operator can act on."""
    where = f"{config.host}:{config.port}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply = _reply(error.smtp_code, error.smtp_error)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return f"{where} refused the login of {config.username}: {reply}"
        if isinstance(error, smtplib.SMTPSenderRefused):
            return f"{where} refused the sender {config.from_address}: {reply}"
        return f"{where}: {reply}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"{where}: the server's certificate does not verify: {error.verify_message or error}"
    if isinstance(error, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{where}: no answer within {config.timeout_s:g} s"
    if isinstance(error, socket.gaierror):
        return f"cannot find {config.host}: {error.strerror or error}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection{': ' + str(error) if str(error) else ''}"
    if isinstance(error, OSError):
        return f"{where}: {error.strerror or error}"
    return f"{where}: {one_line(str(error)) or type(error).__name__}"


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return one_line(f"{code} {text}")


def _domain(address: str) -> str:
    return smtp_address(address).rpartition("@")[2]
