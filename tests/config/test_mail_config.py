"""The [mail] table and the smtp_password secret: optional, validated like every other table, one line
naming file, key and reason for every mistake."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from kiosk.config import (
    ConfigError,
    MailConfig,
    Secrets,
    config_with_overrides,
    load_config,
    load_or_create_secrets,
    mail_password,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "resources" / "config" / "example.toml"

BASE = """\
[locker]
id = "house-a"
database = "kiosk.sqlite"
secrets_file = "secrets.toml"

[bus]
url = "sim://mail-config"
protocol = "kerong-cu16"
hook_closed_bit = 1

[[compartments]]
id = "01"
size = "M"
board = 0
lock = 1
height_cm = 100
column = 1
"""


def with_mail(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(BASE + "\n[mail]\n" + table, encoding="utf-8")
    return path


def test_mail_is_optional() -> None:
    assert load_config(REPO / "resources" / "config" / "demo.toml").mail is None


def test_a_full_table(tmp_path: Path) -> None:
    path = with_mail(tmp_path, 'host = "smtp.example.com"\nsecurity = "tls"\nport = 2465\n'
                               'from_address = "locker@house-a.example"\nusername = "locker"\n'
                               'timeout_s = 20\nca_bundle = "certs/smtp.pem"\n')
    assert load_config(path).mail == MailConfig("smtp.example.com", "locker@house-a.example", "tls", 2465,
                                                "locker", 20.0, tmp_path / "certs" / "smtp.pem")


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465)])
def test_the_port_follows_the_security(tmp_path: Path, security: str, port: int) -> None:
    path = with_mail(tmp_path, f'host = "smtp.example.com"\nsecurity = "{security}"\n'
                               'from_address = "locker@house-a.example"\n')
    mail = load_config(path).mail
    assert mail is not None
    assert (mail.port, mail.username, mail.timeout_s, mail.ca_bundle) == (port, None, 10.0, None)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_plain_smtp_to_this_machine(tmp_path: Path, host: str) -> None:
    path = with_mail(tmp_path, f'host = "{host}"\nsecurity = "none"\n' + FROM)
    mail = load_config(path).mail
    assert mail is not None and (mail.security, mail.port) == ("none", 25)


FROM = 'from_address = "locker@house-a.example"\n'
MISTAKES = [
    (FROM, "mail.host: missing required key"),
    ('host = "smtp.example.com"\n', "mail.from_address: missing required key"),
    ('host = ""\n' + FROM, "mail.host: must not be empty: the SMTP server's name, e.g. smtp.example.com"),
    ('host = "smtp://smtp.example.com"\n' + FROM,
     "mail.host: 'smtp://smtp.example.com' is an address, not a host name: give only the name, e.g. "
     "smtp.example.com (the port goes in mail.port)"),
    ('host = "smtp.example.com:587"\n' + FROM,
     "mail.host: 'smtp.example.com:587': give the host name alone and the port in mail.port"),
    ('host = "smtp example.com"\n' + FROM, "mail.host: 'smtp example.com' is not a host name such as "
                                           "smtp.example.com"),
    ('host = 587\n' + FROM, "mail.host: expected text in quotes, got 587 (a whole number)"),
    ('host = "smtp.example.com"\nsecurity = "ssl"\n' + FROM,
     "mail.security: unknown security 'ssl' (one of: starttls, tls, none)"),
    ('host = "smtp.example.com"\nsecurity = "none"\n' + FROM,
     'mail.security: "none" (no encryption) is allowed only to this machine (127.0.0.1 or localhost): the '
     'mails carry pickup codes; use "starttls" or "tls"'),
    ('host = "smtp.example.com"\nport = 0\n' + FROM, "mail.port: 0 is out of range 1..65535"),
    ('host = "smtp.example.com"\nport = "587"\n' + FROM,
     'mail.port: expected a whole number, got "587" (text)'),
    ('host = "smtp.example.com"\nfrom_address = "locker"\n',
     "mail.from_address: 'locker' is not an e-mail address: it has no @"),
    ('host = "smtp.example.com"\nfrom_address = "locker@localhost"\n',
     "mail.from_address: 'locker@localhost' is not an e-mail address: the domain 'localhost' has no dot"),
    ('host = "smtp.example.com"\nusername = ""\n' + FROM,
     "mail.username: '' is not a user name: no spaces around it, no control characters; leave the key out "
     "to send without a login"),
    ('host = "smtp.example.com"\ntimeout_s = 0\n' + FROM, "mail.timeout_s: 0 is out of range 0.1..300"),
    ('host = "smtp.example.com"\ntimeout_s = nan\n' + FROM,
     "mail.timeout_s: expected a finite number, got nan"),
    ('host = "smtp.example.com"\npassword = "x"\n' + FROM,
     "mail.password: unknown key (expected one of: host, from_address, security, port, username, timeout_s, "
     "ca_bundle)"),
    ('host = "smtp.example.com"\nfrom = "x"\n' + FROM, "mail.from: unknown key (expected one of: host, "
                                                       "from_address, security, port, username, timeout_s, "
                                                       "ca_bundle)"),
    ('host = "smtp.example.com"\nsecurty = "tls"\n' + FROM,
     "mail.securty: unknown key (did you mean security?)"),
]


@pytest.mark.parametrize(("table", "message"), MISTAKES, ids=[str(number) for number in range(len(MISTAKES))])
def test_each_mistake_is_one_line_naming_file_key_and_reason(tmp_path: Path, table: str,
                                                             message: str) -> None:
    path = with_mail(tmp_path, table)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"


def test_a_mail_table_that_is_no_table(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('mail = "smtp.example.com"\n' + BASE, encoding="utf-8")
    with pytest.raises(ConfigError, match=r": mail: expected a table, got \"smtp.example.com\" \(text\)$"):
        load_config(path)


def test_overrides_carry_and_replace_the_mail_table(tmp_path: Path) -> None:
    config = load_config(with_mail(tmp_path, 'host = "smtp.example.com"\n' + FROM))
    assert config_with_overrides(config, timers_inactivity_s=5).mail == config.mail
    assert config_with_overrides(config, mail=None).mail is None
    with pytest.raises(ConfigError, match=r"mail: expected a MailConfig or None"):
        config_with_overrides(config, mail="smtp.example.com")


def test_the_example_documents_the_mail_table_and_it_loads_uncommented(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("# [mail]")
    documented = text[start:text.index("\n\n", start)]
    settings = [match.group(1, 2) for match in re.finditer(r"^# (\w+) = (\S+)", documented, re.MULTILINE)]
    assert [key for key, _ in settings] == ["host", "security", "port", "from_address", "username",
                                            "timeout_s", "ca_bundle"]
    config = load_config(with_mail(tmp_path, "".join(f"{key} = {value}\n" for key, value in settings)))
    assert config.mail == MailConfig("smtp.example.com", "locker@building.example", "starttls", 587,
                                     "locker@building.example", 10.0, Path("/etc/locker-kiosk/smtp-ca.pem"))


# the secret -----------------------------------------------------------------------------------------------

def test_the_smtp_password_lives_in_the_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    secrets = load_or_create_secrets(path)
    assert secrets.smtp_password is None
    path.write_text(path.read_text(encoding="ascii") + 'smtp_password = "correct horse"\n', encoding="ascii")
    loaded = load_or_create_secrets(path)
    assert loaded.smtp_password == "correct horse"
    assert "correct horse" not in repr(loaded)
    path.write_text(path.read_text(encoding="ascii").replace('"correct horse"', '""'), encoding="ascii")
    with pytest.raises(ConfigError) as raised:
        load_or_create_secrets(path)
    assert str(raised.value) == (f"{path}: smtp_password: must not be empty; remove the key if the server "
                                 "needs none")


def test_a_username_needs_the_password(tmp_path: Path) -> None:
    config = load_config(with_mail(tmp_path, 'host = "smtp.example.com"\nusername = "locker"\n' + FROM))
    secrets = Secrets(tmp_path / "secrets.toml", bytes(32))
    with pytest.raises(ConfigError) as raised:
        mail_password(config, secrets)
    assert str(raised.value) == (f"{tmp_path / 'secrets.toml'}: smtp_password: missing: {config.path} sets "
                                 "mail.username, so the SMTP password must be here")
    assert mail_password(config, dataclasses.replace(secrets, smtp_password="pw")) == "pw"
    assert config.mail is not None
    anonymous = dataclasses.replace(config, mail=dataclasses.replace(config.mail, username=None))
    assert mail_password(anonymous, secrets) is None
