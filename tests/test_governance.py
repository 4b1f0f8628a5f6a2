"""Governed change on both stores: versions kept, every owner must approve, rejections need a reason,
hand edits are recorded without sign-off, stale proposals cannot activate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord import service
from accord.errors import GovernanceError, SpecError
from accord.governance import proposals as gov
from accord.governance.changelog import change_log
from accord.governance.versions import HAND_EDIT, PROPOSAL, active_version, list_versions
from accord.spec.load import load_spec, parse_spec, spec_hash

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
TIER_1 = "fit >= 30 AND intent >= 25"


def edited(ws: service.Workspace, old: str, new: str) -> str:
    text = ws.spec_path.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def count(ws: service.Workspace, sql: str) -> int:
    with ws.ledger(read_only=True) as ledger:
        return int(ledger.con.execute(sql).fetchall()[0][0])


def test_a_proposal_needs_every_owner_and_then_activates(any_workspace: service.Workspace) -> None:
    ws = any_workspace
    baseline = spec_hash(ws.spec)
    text = edited(ws, TIER_1, "fit >= 30 AND intent >= 35")
    p = gov.propose(ws, text, why="fewer, hotter MQLs", author="priya", now=T0, backtest=False)
    assert (p.id, p.state, p.owners, p.base_version) == ("p1", "open", ("dana", "omar"), baseline)
    assert [c.summary for c in p.diff.changes] == ["tiers[Tier 1].when: intent >= 25 -> 35"]

    one = gov.approve(ws, "p1", "dana", now=T0 + timedelta(hours=1))
    assert one.new and not one.activated and one.proposal.waiting_for == ["omar"]
    assert TIER_1 in ws.spec_path.read_text()  # one approval changes nothing
    again = gov.approve(ws, "p1", "dana", now=T0 + timedelta(hours=2))
    assert not again.new and not again.activated
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'change_approved'") == 1
    with ws.ledger() as ledger:
        current = active_version(ledger)
        assert current is not None and current.version == baseline

    both = gov.approve(ws, "p1", "omar", now=T0 + timedelta(hours=3))
    assert both.activated and both.proposal.state == "activated"
    assert ws.spec_path.read_text() == text
    assert spec_hash(load_spec(ws.spec_path)) == p.version
    with ws.ledger() as ledger:
        versions = list_versions(ledger)
        current = active_version(ledger)
    assert [v.version for v in versions] == [baseline, p.version]
    assert versions[0].retired_at == versions[1].activated_at == T0 + timedelta(hours=3)
    assert versions[1].why == "fewer, hotter MQLs" and versions[1].text == text
    assert current is not None and current.version == p.version and current.retired_at is None
    # approving the text is signing it: the agreement report sees both signatures
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'agreement_signed'") == 2
    kinds = count(
        ws,
        "SELECT count(DISTINCT type) FROM events WHERE type IN "
        "('change_proposed', 'change_approved', 'spec_activated', 'agreement_signed')",
    )
    assert kinds == 4


def test_a_rejection_needs_a_reason_an_owner_and_closes_the_proposal(
    any_workspace: service.Workspace,
) -> None:
    ws = any_workspace
    p = gov.propose(ws, edited(ws, TIER_1, "fit >= 40 AND intent >= 25"), why="tighter fit", author="lena",
                    now=T0, backtest=False)  # fmt: skip
    with pytest.raises(GovernanceError, match="needs a reason"):
        gov.reject(ws, p.id, "omar", reason="  ", now=T0)
    with pytest.raises(GovernanceError, match="not a governance owner") as exc:
        gov.reject(ws, p.id, "sam", reason="no", now=T0)
    assert exc.value.hint is not None and "dana, omar" in exc.value.hint
    done = gov.reject(ws, p.id, "omar", reason="starves the SDR queue", now=T0 + timedelta(days=1))
    assert done.new and done.proposal.state == "rejected"
    assert done.proposal.rejection is not None and done.proposal.rejection.reason == "starves the SDR queue"
    assert not gov.reject(ws, p.id, "omar", reason="again", now=T0).new
    with pytest.raises(GovernanceError, match="rejected by omar"):
        gov.approve(ws, p.id, "dana", now=T0 + timedelta(days=2))
    with ws.ledger() as ledger:
        versions = {v.version: v for v in list_versions(ledger)}
    assert versions[p.version].activated_at is None  # recorded, never in force
    assert count(ws, "SELECT count(*) FROM events WHERE type = 'change_rejected'") == 1


def test_a_hand_edit_is_recorded_without_sign_off_and_makes_open_proposals_stale(
    any_workspace: service.Workspace,
) -> None:
    ws = any_workspace
    p = gov.propose(ws, edited(ws, TIER_1, "fit >= 30 AND intent >= 35"), why="hotter", author="priya",
                    now=T0, backtest=False)  # fmt: skip
    ws.spec_path.write_text(edited(ws, "target: 1h\n", "target: 2h\n"), encoding="utf-8")
    fresh = service.Workspace(ws.root)
    listed = gov.list_proposals(fresh, now=T0 + timedelta(days=1))
    assert [(x.id, x.state) for x in listed] == [("p1", "stale")]
    with pytest.raises(GovernanceError, match="stale") as exc:
        gov.approve(fresh, p.id, "dana", now=T0 + timedelta(days=1))
    assert exc.value.hint is not None and "accord propose" in exc.value.hint
    log = change_log(fresh, now=T0 + timedelta(days=2))
    last = log.entries[-1]
    assert last.activation.origin == HAND_EDIT and not last.activation.signed_off
    assert "without sign-off" in last.how
    assert [c.kind for c in last.diff.changes] == ["sla"]
    assert [x.id for x in log.closed] == ["p1"]


def test_proposals_are_refused_when_they_cannot_be_judged(workspace: service.Workspace) -> None:
    ws = workspace
    with pytest.raises(SpecError) as bad:
        gov.propose(ws, edited(ws, "tier = 'Tier 1'", "tier = 'Tier1'"), why="typo", author="x", now=T0,
                    backtest=False, file="new.yaml")  # fmt: skip
    assert any("journey.stages[2].entry" in line and "new.yaml:" in line for line in bad.value.lines())
    with pytest.raises(GovernanceError, match="means the same"):
        gov.propose(ws, ws.spec_path.read_text() + "\n# a comment\n", why="noop", author="x", now=T0,
                    backtest=False)  # fmt: skip
    with pytest.raises(GovernanceError, match="needs a reason"):
        gov.propose(ws, edited(ws, TIER_1, "fit >= 31 AND intent >= 25"), why=" ", author="x", now=T0)
    text = edited(ws, TIER_1, "fit >= 31 AND intent >= 25")
    gov.propose(ws, text, why="one more point", author="x", now=T0, backtest=False)
    with pytest.raises(GovernanceError, match="already proposed as p1"):
        gov.propose(ws, text, why="again", author="x", now=T0, backtest=False)
    with pytest.raises(GovernanceError, match="no proposal 'p11'") as unknown:
        gov.get_proposal(ws, "p11", now=T0)
    assert unknown.value.hint is not None and "'p1'" in unknown.value.hint


def test_an_activation_cut_short_after_the_file_was_written_is_recovered(
    workspace: service.Workspace,
) -> None:
    """The file is written before the activation event; the next look finds the approved text."""
    ws = workspace
    text = edited(ws, TIER_1, "fit >= 30 AND intent >= 30")
    p = gov.propose(ws, text, why="a little hotter", author="priya", now=T0, backtest=False)
    gov.approve(ws, p.id, "dana", now=T0)
    from accord.handoffs.tick import append

    with ws.ledger() as ledger:  # omar's approval landed, then the process died before activating
        append(ledger, [gov._event(f"accord:approved:{p.id}:omar", gov.APPROVED_EVENT, T0, "omar", p.id,
                                   p.version)], "governance")  # fmt: skip
    ws.spec_path.write_text(text, encoding="utf-8")
    listed = gov.list_proposals(service.Workspace(ws.root), now=T0 + timedelta(minutes=5))
    assert listed[0].state == "activated"
    with ws.ledger() as ledger:
        history = [v.version for v in list_versions(ledger) if v.activated_at is not None]
    assert history[-1] == p.version
    log = change_log(service.Workspace(ws.root), now=T0 + timedelta(minutes=6))
    assert log.entries[-1].activation.origin == PROPOSAL
    assert parse_spec(text).tiers[0].when == "fit >= 30 AND intent >= 30"
