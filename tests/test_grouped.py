"""Writes that arrive together share one write (service.grouped.GroupWriter), each caller returning
only once its own part is written, in arrival order, never in a group its ``fits`` refuses."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from accord.service.grouped import GroupWriter, Waiting


@dataclass
class Part(Waiting):
    n: int = 0
    key: int = 0


def test_every_part_is_written_once_and_groups_form_under_load() -> None:
    groups: list[list[int]] = []
    written_before_return: list[bool] = []

    def write(group: list[Part]) -> None:
        time.sleep(0.01)  # a commit takes a while: others queue meanwhile
        groups.append([p.n for p in group])

    writer: GroupWriter[Part] = GroupWriter(
        write, fits=lambda group, part: all(p.key != part.key for p in group), most=8
    )

    def call(n: int) -> None:
        part = Part(n=n, key=n % 5)
        writer.run(part)
        written_before_return.append(any(n in g for g in groups))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [n for g in groups for n in g]
    assert sorted(flat) == list(range(60))  # each once
    assert all(written_before_return)  # nobody returns before its part is written
    assert max(len(g) for g in groups) > 1  # parts did share writes
    assert all(len(g) <= 8 for g in groups)
    assert all(len({n % 5 for n in g}) == len(g) for g in groups)  # fits was respected


def test_a_failed_write_fails_its_own_group_only() -> None:
    gate = threading.Event()
    calls: list[list[int]] = []

    def write(group: list[Part]) -> None:
        calls.append([p.n for p in group])
        if len(calls) == 1:
            gate.wait(5)  # hold the first write until the others have queued
            raise OSError("disk full")

    writer: GroupWriter[Part] = GroupWriter(write)
    outcome: dict[int, str] = {}

    def call(n: int) -> None:
        try:
            writer.run(Part(n=n))
            outcome[n] = "ok"
        except OSError as exc:
            outcome[n] = str(exc)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not calls:
        time.sleep(0.001)
    rest = [threading.Thread(target=call, args=(n,)) for n in (1, 2, 3)]
    for t in rest:
        t.start()
    while len(writer.queue) < 3:
        time.sleep(0.001)
    gate.set()
    for t in [first, *rest]:
        t.join()
    assert outcome == {0: "disk full", 1: "ok", 2: "ok", 3: "ok"}
    assert calls == [[0], [1, 2, 3]]


def test_a_write_that_raises_leaves_the_writer_usable() -> None:
    def write(group: list[Part]) -> None:
        if any(p.n < 0 for p in group):
            raise ValueError("refused")

    writer: GroupWriter[Part] = GroupWriter(write)
    with pytest.raises(ValueError, match="refused"):
        writer.run(Part(n=-1))
    writer.run(Part(n=1))  # returns: the writer is not stuck busy
    assert not writer.busy and not writer.queue
