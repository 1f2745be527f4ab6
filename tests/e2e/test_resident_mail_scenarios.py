"""Standalone, for a residential building: the directory comes from the manager's CSV file (through the
`kiosk residents` command), and a parcel deposited for a resident reaches them by e-mail through a real
SMTP server on 127.0.0.1, with the code that then opens the door."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller

from kiosk.app import main as kiosk_main
from kiosk.config import MailConfig
from kiosk.store.residents import ResidentRow
from kiosk.testing.plugin import DEMO_CONFIG, make_test_config


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        self.messages.append(message)
        return "250 2.0.0 accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def test_a_deposit_for_a_resident_is_mailed_and_the_mailed_code_opens_the_door(kiosk_factory, tmp_path,
                                                                               smtp):
    mailbox, port = smtp
    config = make_test_config(tmp_path, camera=False)
    config = dataclasses.replace(config, mail=MailConfig("127.0.0.1", "locker@house.example", security="none",
                                                         port=port, timeout_s=5.0))
    kiosk = kiosk_factory(config=config)
    kiosk.app.store.replace_residents([ResidentRow("Anna Müller", "3B", "anna@example.de", "de"),
                                       ResidentRow("Bob Smith", "4A", "bob@example.com")], kiosk.clock.now())
    anna = next(r for r in kiosk.app.store.residents() if r.email == "anna@example.de")
    parcel = kiosk.seed_parcel(size="M", code="482913", recipient="A. Müller", resident_id=anna.id)
    kiosk.wait_until(lambda: len(mailbox.messages) == 1, timeout=10, what="the pickup mail")
    [message] = mailbox.messages
    assert message["To"].addresses[0].addr_spec == "anna@example.de"
    body = message.get_body(("plain",)).get_content()
    assert "482913" in body and "Anna" in body
    assert any(part.get_content_type() == "image/png" for part in message.iter_attachments())
    code = re.search(r"\b(\d{6})\b", body).group(1)
    kiosk.tap("pickup_button")
    kiosk.type_code(code)
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    assert kiosk.app.store.mail_depth() == 0  # sent, so the code in clear is gone from the queue


def test_the_residents_command_imports_a_csv_and_reports_bad_lines(tmp_path, capsys):
    config_file = tmp_path / "kiosk.toml"
    database = tmp_path / "kiosk.sqlite"
    demo = DEMO_CONFIG.read_text()
    demo = re.sub(r'(?m)^database = .*$', f'database = "{database}"', demo)
    demo = re.sub(r'(?m)^secrets_file = .*$', f'secrets_file = "{tmp_path / "secrets.toml"}"', demo)
    config_file.write_text(demo)
    good = tmp_path / "residents.csv"
    good.write_text("name;unit;email;language\n"
                    "Anna Müller;3B;anna@example.de;de\n"
                    "Bob Smith;4A;bob@example.com;\n", encoding="utf-8-sig")
    assert kiosk_main(["residents", "--config", str(config_file), "import", str(good)]) == 0
    assert kiosk_main(["residents", "--config", str(config_file), "list"]) == 0
    listed = capsys.readouterr().out
    assert "Anna Müller" in listed and "bob@example.com" in listed
    bad = tmp_path / "bad.csv"
    bad.write_text("name,unit,email\nCarl,5C,not-an-address\n", encoding="utf-8")
    assert kiosk_main(["residents", "--config", str(config_file), "import", str(bad)]) == 1
    report = capsys.readouterr()
    assert "bad.csv:2: email 'not-an-address'" in report.err and "nothing imported" in report.err
