"""The README's promises that code can check: the statechart picture is the code's, the QA calls exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.core.flows.diagram import DIAGRAMS
from kiosk.testing.driver import KioskDriver

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("chart", sorted(DIAGRAMS))
def test_the_flow_diagrams_in_the_readme_are_generated_from_the_code(chart: str) -> None:
    assert DIAGRAMS[chart]().strip() in README, f"run `python -m kiosk.core.flows.diagram {chart}`, paste it"


def test_every_qa_call_the_readme_documents_exists() -> None:
    documented = set(re.findall(r"`kiosk\.([a-z_]+)\(", README))
    assert documented, "the QA table lists no calls"
    missing = sorted(name for name in documented if not hasattr(KioskDriver, name))
    assert not missing, f"README documents kiosk.{missing} but the driver has no such method"
