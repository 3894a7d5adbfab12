"""The chat model's waiting line: first come, first served, bounded, and left cleanly."""

from __future__ import annotations

import threading
import time

import pytest

from citeqa.answer.model_gate import ModelGate
from citeqa.core.errors import ModelBusy


def _start(q: ModelGate, name: str, order: list[str], hold: float, positions: list[int] | None = None) -> threading.Thread:
    def run() -> None:
        with q.turn(on_wait=None if positions is None else positions.append):
            order.append(name)
            time.sleep(hold)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_turns_are_served_in_arrival_order_one_at_a_time() -> None:
    q = ModelGate(1)
    order: list[str] = []
    first = q.turn()
    threads = []
    for name in "abcd":
        threads.append(_start(q, name, order, 0.01))
        while q.waiting < len(threads):  # each is in line before the next arrives
            time.sleep(0.005)
    assert order == [] and q.running == 1
    first.release()
    for t in threads:
        t.join(5)
    assert order == list("abcd") and q.running == 0 and q.waiting == 0


def test_waiting_callers_are_told_their_place() -> None:
    q = ModelGate(1)
    held = q.turn()
    order: list[str] = []
    pos_a: list[int] = []
    pos_b: list[int] = []
    a = _start(q, "a", order, 0.0, pos_a)
    while q.waiting < 1:
        time.sleep(0.005)
    b = _start(q, "b", order, 0.0, pos_b)
    while not pos_b:
        time.sleep(0.005)
    held.release()
    a.join(5)
    b.join(5)
    assert pos_a[0] == 1 and pos_b[0] == 2 and order == ["a", "b"]


def test_a_full_line_is_refused_and_a_leaver_frees_its_place() -> None:
    q = ModelGate(1, max_waiting=1)
    held = q.turn()
    left = threading.Event()

    def impatient(position: int) -> None:
        if left.is_set():
            raise KeyboardInterrupt  # a browser that went away

    gave_up: list[bool] = []

    def wait() -> None:
        try:
            q.turn(on_wait=impatient)
        except KeyboardInterrupt:
            gave_up.append(True)

    t = threading.Thread(target=wait)
    t.start()
    while q.waiting < 1:
        time.sleep(0.005)
    with pytest.raises(ModelBusy, match="1 questions are waiting"):
        q.turn()
    left.set()
    t.join(5)
    assert gave_up == [True] and q.waiting == 0
    held.release()
    with q.turn():
        assert q.running == 1


def test_several_slots_run_at_once() -> None:
    q = ModelGate(3)
    turns = [q.turn() for _ in range(3)]
    assert q.running == 3
    for t in turns:
        t.release()
        t.release()  # releasing twice gives back one turn only
    assert q.running == 0
