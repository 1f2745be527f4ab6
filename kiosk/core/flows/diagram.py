"""Mermaid diagrams drawn from the statechart classes themselves, so the picture cannot drift from the code.

    python -m kiosk.core.flows.diagram            # the pickup chart, for the README
    python -m kiosk.core.flows.diagram courier    # courier mode (or: returns)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from statemachine import HistoryState, State, StateChart

INDENT = "    "


def _states(chart_class: type[StateChart]) -> list[State]:
    return list(chart_class.states)


def _children(state: State) -> list[State]:
    return [*state.states, *state.history]


def _walk(states: Iterable[State]) -> Iterable[State]:
    for state in states:
        yield state
        yield from _walk(_children(state))


def _ancestors(state: State) -> list[State]:
    """Outermost first, not including the state itself."""
    chain: list[State] = []
    parent = state.parent
    while parent is not None:
        chain.insert(0, parent)
        parent = parent.parent
    return chain


def _scope(source: State, target: State) -> State | None:
    """The innermost composite holding both ends of a transition (None: the top level)."""
    shared: State | None = None
    for mine, theirs in zip(_ancestors(source), _ancestors(target), strict=False):
        if mine is not theirs:
            break
        shared = mine
    return shared


def _names(callbacks: Any) -> list[str]:
    return [str(callback) for callback in callbacks if not callback.is_convention]


def _label(transition: Any) -> str:
    events = " ".join(str(event) for event in transition.events)
    guards = _names(transition.cond)
    actions = _names(transition.before) + _names(transition.on) + _names(transition.after)
    parts = []
    if events:
        parts.append(events)
    if guards:
        parts.append(f"[{' and '.join(guards)}]")
    if actions:
        parts.append(f"/ {', '.join(actions)}")
    return " ".join(parts)


def _line(source: State, target: State, label: str) -> str:
    return f"{source.id} --> {target.id}" + (f" : {label}" if label else "")


def mermaid(chart_class: type[StateChart], *, notes: Mapping[str, str] | None = None) -> str:
    """A Mermaid stateDiagram-v2 of `chart_class`: every state, every transition with its events,
    guards (in brackets) and actions (after a slash). Eventless transitions show only their guards.
    `notes` maps a state id to a short description shown under its name (e.g. the screen it shows)."""
    notes = notes or {}
    # transitions grouped by the composite they are drawn in
    scoped: dict[State | None, list[str]] = {}
    for state in _walk(_states(chart_class)):
        for transition in state.transitions:
            if transition.initial:
                continue  # drawn as the composite's [*] arrow
            for target in transition.targets or [state]:
                scoped.setdefault(_scope(state, target), []).append(
                    _line(state, target, _label(transition))
                )

    lines = ["stateDiagram-v2"]

    def emit(states: list[State], scope: State | None, depth: int) -> None:
        pad = INDENT * depth
        initial = next(
            (state for state in states if state.initial and not isinstance(state, HistoryState)), None
        )
        if initial is not None:
            lines.append(f"{pad}[*] --> {initial.id}")
        for state in states:
            if isinstance(state, HistoryState):
                lines.append(f'{pad}state "H" as {state.id}')
                continue
            children = _children(state)
            if children:
                # Mermaid takes no alias or description on a composite: its id is its title.
                lines.append(f"{pad}state {state.id} {{")
                emit(children, state, depth + 1)
                lines.append(f"{pad}}}")
            else:
                lines.append(f'{pad}state "{state.name}" as {state.id}')
                if state.id in notes:
                    lines.append(f"{pad}{state.id} : {notes[state.id]}")
            if state.final:
                lines.append(f"{pad}{state.id} --> [*]")
        lines.extend(f"{pad}{line}" for line in scoped.get(scope, []))

    emit(_states(chart_class), None, 1)
    return "\n".join(lines) + "\n"


def pickup_diagram() -> str:
    from kiosk.core.flows.pickup import ELSEWHERE, SCREEN_OF_STATE, PickupChart

    notes = {state: f"screen {screen.value}" for state, screen in SCREEN_OF_STATE.items()}
    notes["verify"] = "no screen, checks the code and moves on"
    notes[ELSEWHERE] = "no screen: courier mode or a return has it"
    return mermaid(PickupChart, notes=notes)


def _screen_notes(screens: Mapping[str, Any], passing: Iterable[str]) -> dict[str, str]:
    notes = {state: f"screen {screen.value}" for state, screen in screens.items()}
    for state in passing:
        notes[state] = f"passes on (screen {screens[state].value})"
    notes["idle"] = "no screen: the pickup chart has it"
    return notes


def courier_diagram() -> str:
    from kiosk.core.flows.courier import SCREEN_OF_STATE, CourierChart

    return mermaid(CourierChart, notes=_screen_notes(SCREEN_OF_STATE, ("verify", "placing")))


def returns_diagram() -> str:
    from kiosk.core.flows.returns import SCREEN_OF_STATE, ReturnsChart

    return mermaid(ReturnsChart, notes=_screen_notes(SCREEN_OF_STATE, ("verify", "placing")))


DIAGRAMS = {"pickup": pickup_diagram, "courier": courier_diagram, "returns": returns_diagram}


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    name = arguments[0] if arguments else "pickup"
    if name not in DIAGRAMS or len(arguments) > 1:
        sys.stderr.write(f"usage: python -m kiosk.core.flows.diagram [{' | '.join(DIAGRAMS)}]\n")
        return 2
    sys.stdout.write(DIAGRAMS[name]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
