"""Pickup mails through a real SMTP server on 127.0.0.1 (kiosk.mail.MailDelivery): each mail reaches its
resident once, through outages, refusals and restarts; the SMTP session runs in the service's one worker
thread and the store on the loop thread; stop() is prompt and leaves no thread behind.

Backoff waits run on a ManualClock, so a test decides when a retry is due and never sleeps; the server, the
sockets, TLS and the store are real, and every wait on them has a deadline."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from mail_rig import (
    SENDER,
    T0,
    DirectoryStore,
    RecordingHandler,
    SmtpServer,
    body_of,
    compile_german,
    deposit_for,
    free_port,
    open_store,
    pick_up,
    plain_mail_table,
    qr_codes_in,
    residents,
    run,
    server_tls_context,
    until,
    write_config,
)

from kiosk.backend.delivery import Backoff, Jitter
from kiosk.config import KioskConfig
from kiosk.core.clock import ManualClock
from kiosk.mail import MailDelivery
from kiosk.store.residents import QueuedMail, ResidentRow

ANNA = ResidentRow("Anna Müller", "3B", "anna@example.de", "de")
BOB = ResidentRow("Bob Smith", "10", "bob@example.com", "en")
CARL = ResidentRow("Carl Weiß", "2", "carl@example.org")
STEADY = Backoff(base_s=10.0, cap_s=60.0, jitter=Jitter.NONE)  # retries due at known times

Servers = Callable[..., SmtpServer]


class LoopThreadStore(DirectoryStore):
    """A real store that notes which threads touch its mail queue."""

    mail_threads: set[str]

    def _note(self) -> None:
        if not hasattr(self, "mail_threads"):
            self.mail_threads = set()
        self.mail_threads.add(threading.current_thread().name)

    def mail_batch(self, limit: int, now: float) -> Sequence[QueuedMail]:
        self._note()
        return super().mail_batch(limit, now)

    def mail_sent(self, mail_id: int, at: float | None = None) -> bool:
        self._note()
        return super().mail_sent(mail_id, at)

    def mail_failed(self, mail_id: int, error: str, retry_at: float | None, at: float | None = None) -> bool:
        self._note()
        return super().mail_failed(mail_id, error, retry_at, at)


def delivery(store: DirectoryStore, config: KioskConfig, clock: ManualClock,
             **options: object) -> MailDelivery:
    return MailDelivery(store, config, clock=clock, backoff=STEADY, **options)  # type: ignore[arg-type]


def pending(store: DirectoryStore) -> list[QueuedMail]:
    return [*store.mail_batch(100, float("inf")), *store.mail_held()]


def test_a_deposit_notice_reaches_the_resident_in_their_language(tmp_path: Path, servers: Servers) -> None:
    server = servers(free_port())
    config = write_config(tmp_path, plain_mail_table(server.port))
    german = compile_german(tmp_path / "translations")

    async def scenario() -> None:
        with LoopThreadStore.open(tmp_path / "kiosk.sqlite", config.compartments) as store:
            assert isinstance(store, LoopThreadStore)
            anna, bob = residents(store, ANNA, BOB)
            deposit_for(store, anna, "P-ANNA", "01", code="48291377")
            deposit_for(store, bob, "P-BOB", "02", code="551204")
            service = delivery(store, config, ManualClock(T0), translations_dir=german)
            await service.start()
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "both mails sent")
            await service.stop()
            assert service.sent == 2 and service.online is True and service.last_error is None
            assert store.mail_threads == {"MainThread"}  # the store stays on the loop thread
            assert [entry.kind for entry in store.audit_log()].count("mail_sent") == 2

    run(scenario)
    [to_anna] = server.handler.to("anna@example.de")
    assert to_anna.mail_from == SENDER and to_anna.recipients == ["anna@example.de"]
    assert to_anna.message["Subject"] == "Ihr Paket liegt im Paketschrank house-a-lobby bereit"
    assert to_anna.message["From"] == SENDER and to_anna.message["Date"] and to_anna.message["Message-ID"]
    assert "Ihr Abholcode: 48291377" in body_of(to_anna.message)
    assert qr_codes_in(to_anna.message) == ["LK1:P:HOUSE-A-LOBBY:48291377"]
    [to_bob] = server.handler.to("bob@example.com")
    assert to_bob.message["Subject"] == "Your parcel is waiting at locker house-a-lobby"
    assert "Your pickup code: 551204" in body_of(to_bob.message)
    assert qr_codes_in(to_bob.message) == ["LK1:P:HOUSE-A-LOBBY:551204"]


def test_server_down_then_up_each_mail_is_delivered_once(tmp_path: Path, servers: Servers) -> None:
    port = free_port()  # nothing listens yet
    config = write_config(tmp_path, plain_mail_table(port))
    clock = ManualClock(T0)
    started: list[SmtpServer] = []

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            anna, bob = residents(store, ANNA, BOB)
            deposit_for(store, anna, "P-1", "01")
            service = delivery(store, config, clock)
            await service.start()
            service.nudge()
            await until(lambda: service.online is False, "the failed attempt")
            assert service.last_error == f"cannot connect to 127.0.0.1:{port}: connection refused"
            [waiting] = pending(store)
            assert (waiting.attempts, waiting.last_error, waiting.next_attempt_at) == (
                1, service.last_error, T0 + 10)
            clock.advance(9)  # not due yet: nothing happens
            started.append(servers(port))
            clock.advance(1)
            await until(lambda: store.mail_depth() == 0, "the mail sent once the server is up")
            assert service.online is True and service.failures_in_a_row == 0
            deposit_for(store, bob, "P-2", "02", at=clock.now())
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "a later mail")
            clock.advance(3600)
            await service.stop()

    run(scenario)
    handler = started[0].handler
    assert [received.recipients for received in handler.received] == [["anna@example.de"],
                                                                       ["bob@example.com"]]


def test_a_permanent_refusal_is_held_with_its_error_while_the_others_go(tmp_path: Path,
                                                                        servers: Servers) -> None:
    handler = RecordingHandler(refuse={"bob@example.com": "550 5.1.1 <bob@example.com>: Recipient address "
                                                          "rejected: User unknown"})
    server = servers(free_port(), handler)
    config = write_config(tmp_path, plain_mail_table(server.port))
    clock = ManualClock(T0)

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            anna, bob, carl = residents(store, ANNA, BOB, CARL)
            deposit_for(store, anna, "P-1", "01")
            held_id = deposit_for(store, bob, "P-2", "02")
            deposit_for(store, carl, "P-3", "03")
            service = delivery(store, config, clock)
            await service.start()
            service.nudge()
            await until(lambda: len(store.mail_held()) == 1 and store.mail_depth() == 1, "two sent, one held")
            [held] = store.mail_held()
            assert held.id == held_id and held.attempts == 1
            assert held.last_error == ("the server refused bob@example.com: 550 5.1.1 <bob@example.com>: "
                                       "Recipient address rejected: User unknown")
            assert service.online is True  # the server works; one address does not
            clock.advance(24 * 3600)
            deposit_for(store, anna, "P-4", "04", at=clock.now())
            service.nudge()
            await until(lambda: store.mail_depth() == 1, "a later round")
            assert store.mail_held()[0].attempts == 1  # not retried for ever
            # The building manager corrects the address: the held mail goes to the new one.
            result = store.replace_residents([ANNA, ResidentRow("Bob Smith", "10", "bob.smith@example.com"),
                                              CARL], clock.now())
            assert result.released_mails == 1
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "the released mail")
            await service.stop()

    run(scenario)
    assert sorted(address for received in handler.received for address in received.recipients) == [
        "anna@example.de", "anna@example.de", "bob.smith@example.com", "carl@example.org"]


def test_a_temporary_refusal_is_retried_after_its_backoff(tmp_path: Path, servers: Servers) -> None:
    handler = RecordingHandler(refuse={"anna@example.de": "450 4.2.1 Mailbox busy, try later"})
    server = servers(free_port(), handler)
    config = write_config(tmp_path, plain_mail_table(server.port))
    clock = ManualClock(T0)

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            [anna] = residents(store, ANNA)
            deposit_for(store, anna, "P-1", "01")
            service = delivery(store, config, clock)
            await service.start()
            service.nudge()
            await until(lambda: pending(store)[0].attempts == 1, "the refused attempt")
            [waiting] = pending(store)
            assert not waiting.held and waiting.next_attempt_at == T0 + 10
            assert waiting.last_error == ("the server refused anna@example.de: 450 4.2.1 Mailbox busy, try "
                                          "later")
            handler.refuse.clear()
            clock.advance(10)
            await until(lambda: store.mail_depth() == 0, "the retry")
            await service.stop()

    run(scenario)
    assert len(handler.to("anna@example.de")) == 1


def test_mails_pending_at_a_restart_are_sent_after_it(tmp_path: Path, servers: Servers) -> None:
    port = free_port()
    config = write_config(tmp_path, plain_mail_table(port))
    database = tmp_path / "kiosk.sqlite"

    async def before_restart() -> None:
        with open_store(database) as store:
            anna, bob = residents(store, ANNA, BOB)
            deposit_for(store, anna, "P-1", "01")
            deposit_for(store, bob, "P-2", "02")
            service = delivery(store, config, ManualClock(T0))
            await service.start()
            service.nudge()
            await until(lambda: service.online is False, "the failed attempt")
            await service.stop()

    run(before_restart)
    server = servers(port)

    async def after_restart() -> None:
        with open_store(database) as store:
            assert [mail.attempts for mail in pending(store)] == [1, 1]
            service = delivery(store, config, ManualClock(T0 + 3600))
            await service.start()  # no nudge: what is due goes out on its own
            await until(lambda: store.mail_depth() == 0, "the mails sent after the restart")
            await service.stop()

    run(after_restart)
    assert sorted(r.recipients[0] for r in server.handler.received) == ["anna@example.de", "bob@example.com"]


def test_stop_cuts_a_stalled_session_at_once_and_the_mail_stays_queued(tmp_path: Path,
                                                                       servers: Servers) -> None:
    handler = RecordingHandler(stall=asyncio.Event())
    server = servers(free_port(), handler)
    config = write_config(tmp_path, plain_mail_table(server.port))  # timeout_s = 5

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            [anna] = residents(store, ANNA)
            deposit_for(store, anna, "P-1", "01")
            service = delivery(store, config, ManualClock(T0))
            await service.start()
            service.nudge()
            await until(handler.in_data.is_set, "the server to take the message")
            started = time.monotonic()
            await service.stop()
            assert time.monotonic() - started < 2.0  # well under the 5 s timeout: cut, not timed out
            [waiting] = pending(store)
            assert waiting.attempts == 0 and waiting.last_error is None  # a stop is no failure
            assert not service.running

    run(scenario)
    server.release()


def test_mail_for_a_parcel_already_picked_up_is_not_sent(tmp_path: Path, servers: Servers) -> None:
    server = servers(free_port())
    config = write_config(tmp_path, plain_mail_table(server.port))

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            anna, bob = residents(store, ANNA, BOB)
            deposit_for(store, anna, "P-1", "01")
            deposit_for(store, bob, "P-2", "02")
            pick_up(store, "P-1")
            service = delivery(store, config, ManualClock(T0 + 120))
            await service.start()
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "the queue emptied")
            await service.stop()
            assert service.sent == 1

    run(scenario)
    assert [received.recipients for received in server.handler.received] == [["bob@example.com"]]


# TLS and login ------------------------------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    from mail_rig import make_certificate

    return make_certificate(tmp_path)


@needs_openssl
def test_starttls_with_a_login(tmp_path: Path, servers: Servers, certificate: tuple[Path, Path]) -> None:
    handler = RecordingHandler()
    server = servers(free_port(), handler, tls_context=server_tls_context(*certificate),
                     require_starttls=True, authenticator=handler.authenticate, auth_require_tls=True)
    table = plain_mail_table(server.port).replace('security = "none"', 'security = "starttls"')
    config = write_config(tmp_path, table + f'\nusername = "locker"\nca_bundle = "{certificate[0]}"')
    clock = ManualClock(T0)

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            [anna] = residents(store, ANNA)
            deposit_for(store, anna, "P-1", "01")
            wrong = delivery(store, config, clock, password="guess")
            await wrong.start()
            wrong.nudge()
            await until(lambda: wrong.online is False, "the refused login")
            assert wrong.last_error is not None
            assert wrong.last_error.startswith(f"127.0.0.1:{server.port} refused the login of locker: 535")
            await wrong.stop()
            service = delivery(store, config, clock, password="s3cret")
            await service.start()
            clock.advance(60)
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "the mail sent after the login")
            await service.stop()

    run(scenario)
    # smtplib tries each mechanism the server offers before it gives up on a password
    assert set(handler.logins[:-1]) == {("locker", "guess")} and handler.logins[-1] == ("locker", "s3cret")
    assert len(handler.to("anna@example.de")) == 1


@needs_openssl
def test_tls_from_the_start_checks_the_certificate(tmp_path: Path, servers: Servers,
                                                   certificate: tuple[Path, Path]) -> None:
    server = servers(free_port(), ssl_context=server_tls_context(*certificate))
    table = plain_mail_table(server.port).replace('security = "none"', 'security = "tls"')
    untrusting = write_config(tmp_path, table)  # the system's CAs do not know our certificate
    trusting = dataclasses.replace(untrusting, mail=dataclasses.replace(untrusting.mail,  # type: ignore[arg-type]
                                                                       ca_bundle=certificate[0]))
    clock = ManualClock(T0)

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            [anna] = residents(store, ANNA)
            deposit_for(store, anna, "P-1", "01")
            refusing = delivery(store, untrusting, clock)
            await refusing.start()
            refusing.nudge()
            await until(lambda: refusing.online is False, "the certificate refused")
            assert "the server's certificate does not verify" in (refusing.last_error or "")
            await refusing.stop()
            assert store.mail_depth() == 1
            service = delivery(store, trusting, clock)
            await service.start()
            clock.advance(60)
            service.nudge()
            await until(lambda: store.mail_depth() == 0, "the mail sent over verified TLS")
            await service.stop()

    run(scenario)
    assert len(server.handler.to("anna@example.de")) == 1


# construction -------------------------------------------------------------------------------------------

def test_it_needs_a_mail_table_and_a_password_for_a_login(tmp_path: Path, store: DirectoryStore) -> None:
    config = write_config(tmp_path, plain_mail_table(25))
    with pytest.raises(ValueError, match=r"has no \[mail\] table"):
        MailDelivery(store, dataclasses.replace(config, mail=None), clock=ManualClock())
    assert config.mail is not None
    with_login = dataclasses.replace(config, mail=dataclasses.replace(config.mail, username="locker"))
    with pytest.raises(ValueError, match=r"sets mail\.username but no SMTP password was given"):
        MailDelivery(store, with_login, clock=ManualClock())
    with pytest.raises(ValueError, match="batch_size"):
        MailDelivery(store, config, clock=ManualClock(), batch_size=0)


def test_start_once_and_stop_without_start(tmp_path: Path, store: DirectoryStore) -> None:
    config = write_config(tmp_path, plain_mail_table(free_port()))

    async def scenario() -> None:
        idle = MailDelivery(store, config, clock=ManualClock())
        await idle.stop()
        idle.nudge()  # harmless
        service = MailDelivery(store, config, clock=ManualClock())
        await service.start()
        with pytest.raises(RuntimeError):
            await service.start()
        await service.stop()
        await service.stop()

    run(scenario)


def test_a_failing_store_keeps_the_service_alive_and_it_stops_cleanly(tmp_path: Path,
                                                                      servers: Servers) -> None:
    server = servers(free_port())
    config = write_config(tmp_path, plain_mail_table(server.port))

    async def scenario() -> None:
        store = open_store(tmp_path / "kiosk.sqlite")
        [anna] = residents(store, ANNA)
        deposit_for(store, anna, "P-1", "01")
        store.close()  # every call now fails, as on a disk that went away
        service = delivery(store, config, ManualClock(T0))
        await service.start()
        await until(lambda: service.last_error is not None, "the locker-side failure")
        assert service.last_error == "locker-side failure: cannot discard stale mails: the store is closed"
        assert service.running
        await service.stop()

    run(scenario)
    assert server.handler.received == []


def test_a_nudge_from_another_thread_sends_at_once(tmp_path: Path, servers: Servers) -> None:
    server = servers(free_port())
    config = write_config(tmp_path, plain_mail_table(server.port))

    async def scenario() -> None:
        with open_store(tmp_path / "kiosk.sqlite") as store:
            [anna] = residents(store, ANNA)
            service = delivery(store, config, ManualClock(T0))
            await service.start()
            await until(lambda: service.running, "the service running")
            deposit_for(store, anna, "P-1", "01")
            nudger = threading.Thread(target=service.nudge, name="nudger")
            nudger.start()
            nudger.join(timeout=5)
            await until(lambda: store.mail_depth() == 0, "the nudged mail")
            await service.stop()

    run(scenario)
    assert len(server.handler.received) == 1
