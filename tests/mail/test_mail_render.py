"""The pickup mail as a resident receives it (kiosk.mail.render_pickup_mail): their language, the code in
clear, a QR code the locker's camera reads, and headers that survive any name."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from mail_rig import GERMAN_TS, LOCKER_ID, SENDER, VENV_BIN, body_of, compile_german, qr_codes_in

from kiosk.core.model import PickupNotice, Size
from kiosk.mail import MailTexts, render_pickup_mail
from kiosk.store.residents import Resident

REPO = Path(__file__).resolve().parents[2]
NOTICE = PickupNotice(7, "JJD0001234", "48291377", "12", Size.M, LOCKER_ID)
ANNA = Resident(7, "Anna Müller", "3B", "anna@example.de", "de", None, True)


def sources_of(ts_file: Path) -> set[str]:
    root = ElementTree.parse(ts_file).getroot()
    return {message.findtext("source") or "" for context in root.iter("context")
            if context.findtext("name") == "Mail" for message in context.iter("message")}


def test_an_english_mail(tmp_path: Path) -> None:
    bob = Resident(8, "Bob Smith", "10", "bob@example.com", None, None, True)
    message = render_pickup_mail(NOTICE, bob, LOCKER_ID, "en", sender=SENDER, translations_dir=tmp_path)
    assert message["Subject"] == "Your parcel is waiting at locker house-a-lobby"
    assert message["To"] == "Bob Smith <bob@example.com>"
    assert message["From"] == SENDER
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    body = body_of(message)
    assert body.startswith("Hello Bob Smith,\n\n"
                           "a parcel is waiting for you in the parcel locker house-a-lobby.")
    assert "Your pickup code: 48291377" in body
    assert "The door of compartment 12 will open." in body
    assert "Parcel: JJD0001234 (size M)" in body
    assert qr_codes_in(message) == ["LK1:P:HOUSE-A-LOBBY:48291377"]
    assert "48291377" not in message["Subject"]  # a lock screen shows subjects to anyone nearby


def test_a_german_mail_from_the_compiled_translation(tmp_path: Path) -> None:
    message = render_pickup_mail(NOTICE, ANNA, LOCKER_ID, "de", translations_dir=compile_german(tmp_path))
    assert message["Subject"] == "Ihr Paket liegt im Paketschrank house-a-lobby bereit"
    assert message["Content-Language"] == "de"
    body = body_of(message)
    assert body.startswith("Hallo Anna Müller,\n\n"
                           "im Paketschrank house-a-lobby liegt ein Paket für Sie bereit.")
    assert "Ihr Abholcode: 48291377" in body and "Paket: JJD0001234 (Größe M)" in body
    assert "Dann öffnet sich die Tür von Fach 12." in body
    assert qr_codes_in(message) == ["LK1:P:HOUSE-A-LOBBY:48291377"]


def test_what_goes_on_the_wire_is_seven_bit_and_reads_back_the_same(tmp_path: Path) -> None:
    resident = Resident(9, "Zoë \"Zed\" O'Neil, Jr.", "1", "zoe@müller.de", "de", None, True)
    message = render_pickup_mail(NOTICE, resident, LOCKER_ID, "de", sender=SENDER,
                                 translations_dir=compile_german(tmp_path))
    wire = message.as_bytes(policy=email.policy.SMTP)
    assert wire.isascii() and b"\r\n" in wire
    received = email.message_from_bytes(wire, policy=email.policy.default)
    assert received["To"].addresses[0].display_name == "Zoë \"Zed\" O'Neil, Jr."
    assert received["To"].addresses[0].addr_spec == "zoe@xn--mller-kva.de"
    assert "Hallo Zoë \"Zed\" O'Neil, Jr.," in body_of(received)  # type: ignore[arg-type]


def test_placeholders_in_values_stay_as_they_are(tmp_path: Path) -> None:
    tricky = Resident(9, "Percy %2 %1", "1", "percy@example.com", "en", None, True)
    body = body_of(render_pickup_mail(NOTICE, tricky, LOCKER_ID, "en", translations_dir=tmp_path))
    assert body.startswith("Hello Percy %2 %1,")


def test_without_the_german_translation_it_is_english_and_says_so(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.mail"):
        message = render_pickup_mail(NOTICE, ANNA, LOCKER_ID, "de", translations_dir=tmp_path / "none")
    assert message["Subject"] == "Your parcel is waiting at locker house-a-lobby"
    assert "mails in de go out in English" in caplog.text


def test_an_unknown_language_is_english(tmp_path: Path) -> None:
    assert MailTexts("fr", compile_german(tmp_path)).language == "en"
    message = render_pickup_mail(NOTICE, ANNA, LOCKER_ID, "fr", translations_dir=tmp_path)
    assert message["Subject"] == "Your parcel is waiting at locker house-a-lobby"


def test_a_notice_that_makes_no_pickup_code_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot make a pickup code"):
        render_pickup_mail(NOTICE, ANNA, "not a locker id!", "en", translations_dir=tmp_path)


def test_lupdate_extracts_exactly_the_texts_the_german_file_translates(tmp_path: Path) -> None:
    """The mail texts reach Qt Linguist like the UI's (`make translations`), and German has them all."""
    extracted = tmp_path / "extracted.ts"
    subprocess.run([str(VENV_BIN / "pyside6-lupdate"), "-no-obsolete", "-extensions", "py",
                    str(REPO / "kiosk" / "mail.py"), "-ts", str(extracted)], check=True, capture_output=True,
                   timeout=60)
    german = sources_of(GERMAN_TS)
    assert sources_of(extracted) == german and len(german) == 8
    root = ElementTree.parse(GERMAN_TS).getroot()
    mail = next(context for context in root.iter("context") if context.findtext("name") == "Mail")
    for message in mail.iter("message"):
        translation = message.find("translation")
        assert translation is not None and translation.text and translation.get("type") is None
        placeholders = re.compile(r"%[1-9]")
        assert sorted(placeholders.findall(translation.text)) == sorted(
            placeholders.findall(message.findtext("source") or ""))
