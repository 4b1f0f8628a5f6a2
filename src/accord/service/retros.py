"""Joint reviews as use cases: a campaign retrospective and its actions, closing an action, a loss interview.

Each writes ledger events with ``source = accord`` and ids derived from what was said, so recording
the same review twice writes nothing; a second retrospective for the same milestone in other words is
refused (the ledger keeps what was agreed; a new milestone name records the new view).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from accord.domain.reviews import (
    CLOSE,
    LOSS_AREAS,
    QUESTIONS,
    Action,
    Change,
    Interview,
    Retro,
    action_id,
    clean,
    digest,
    interview_event_id,
    parse_change,
    retro_event_id,
    slug,
)
from accord.errors import WorkspaceError
from accord.ledger.store import Ledger
from accord.reports.base import Filters, plain
from accord.reports.data import ReportData
from accord.reports.reviews import read_actions, read_interviews, read_retros
from accord.service.workspace import Workspace
from accord.spec.model import Spec
from accord.spec.rules import suggest


@dataclass(frozen=True)
class RetroResult:
    retro: Retro
    actions: list[Action]
    new: bool  # False: the same retrospective was already recorded (nothing written)


@dataclass(frozen=True)
class ActionResult:
    action: Action
    new: bool  # False: it was already done (nothing written)


@dataclass(frozen=True)
class InterviewResult:
    interview: Interview
    new: bool


def _query(ledger: Ledger) -> Any:
    def run(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor = ledger.con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return run


def _moment(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _known(ledger: Ledger, spec: Spec) -> list[str]:
    users = [r[0] for r in ledger.con.execute("SELECT user_id FROM users").fetchall()]
    return sorted(set(spec.people) | set(users))


def _person_problem(person: str, known: list[str], what: str) -> str | None:
    if person in known:
        return None
    near = suggest(person, known)
    return f"{what} '{person}' is not a person the spec or the users table knows" + (
        f" (did you mean '{near}'?)" if near else ""
    )


def _exists(ledger: Ledger, event_id: str) -> bool:
    return bool(ledger.con.execute("SELECT 1 FROM events WHERE event_id = ?", [event_id]).fetchall())


# ---- retrospectives ---------------------------------------------------------------------------------


def _yaml(path: Path) -> Any:
    """YAML read as the spec is (1.2 booleans): a key `on:` stays the word, not True."""
    import yaml

    from accord.spec.source import _Loader

    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)


def load_retro_file(path: Path) -> dict[str, Any]:
    """A longer retrospective written as YAML: milestone (or close: true), worked, stalled, and changes
    as "TEXT; owner=ID; due=DATE" lines or {text, owner, due} maps."""
    import yaml

    try:
        doc = _yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise WorkspaceError(f"{path}: cannot read it ({exc})") from None
    if not isinstance(doc, dict):
        raise WorkspaceError(f"{path}: expected a map with worked, stalled and changes")
    unknown = sorted(set(doc) - {"milestone", "close", "worked", "stalled", "changes", "by"})
    if unknown:
        raise WorkspaceError(
            f"{path}: unknown key {', '.join(unknown)}",
            hint="keys: milestone (or close: true), worked, stalled, changes, by",
        )
    changes = []
    for item in doc.get("changes") or []:
        if isinstance(item, dict):
            changes.append(
                f"{item.get('text', '')}; owner={item.get('owner', '')}; due={item.get('due', '')}"
            )
        else:
            changes.append(str(item))
    return {
        "milestone": doc.get("milestone"),
        "close": bool(doc.get("close", False)),
        "worked": [str(x) for x in doc.get("worked") or []],
        "stalled": [str(x) for x in doc.get("stalled") or []],
        "changes": changes,
        "by": doc.get("by"),
    }


def _milestone(milestone: str | None, close: bool) -> str:
    if close and milestone not in (None, "", CLOSE):
        raise WorkspaceError("give --milestone NAME or --close, not both")
    if close:
        return CLOSE
    if milestone is None or not slug(milestone):
        raise WorkspaceError(
            "which milestone is this retrospective for?",
            hint="add --milestone NAME (e.g. launch, mid-campaign) or --close at the campaign's end",
        )
    if slug(milestone) == CLOSE:
        raise WorkspaceError("'close' is the closing retrospective", hint="use --close instead")
    return " ".join(milestone.split())


def record_retro(
    ws: Workspace,
    campaign: str,
    *,
    milestone: str | None = None,
    close: bool = False,
    worked: Sequence[str] = (),
    stalled: Sequence[str] = (),
    changes: Sequence[str] = (),
    by: str | None = None,
    now: datetime | None = None,
) -> RetroResult:
    """Record a retrospective beside the campaign's scorecard as it reads now; each change becomes an
    owned, dated action. The scorecard is the campaigns report's, computed as of the retro's instant
    or the last derive, whichever is earlier (what the team could see), and stored with the retro."""
    spec = ws.spec
    charter = spec.campaigns.get(campaign)
    if charter is None:
        near = suggest(campaign, spec.campaigns)
        raise WorkspaceError(
            f"no campaign charter '{campaign}'" + (f"; did you mean '{near}'?" if near else ""),
            hint="charters: " + (", ".join(sorted(spec.campaigns)) or "none (add one under campaigns:)"),
        )
    label = _milestone(milestone, close)
    held = _moment(now)
    zone = ZoneInfo(spec.workspace.timezone)
    held_day = held.astimezone(zone).date()
    if held_day < charter.start:
        raise WorkspaceError(
            f"{campaign} starts on {charter.start}; a retrospective on {held_day} has nothing to review",
            hint="hold it after the campaign started (--at DATE to date it)",
        )
    kept_worked, kept_stalled = clean(list(worked)), clean(list(stalled))
    parsed: list[Change] = [parse_change(line) for line in clean(list(changes))]
    if not (kept_worked or kept_stalled or parsed):
        raise WorkspaceError(
            "an empty retrospective",
            hint="say what worked (--worked), what stalled (--stalled) and what to change (--change)",
        )
    event_id = retro_event_id(campaign, label)
    content = digest(kept_worked, kept_stalled, [(c.text, c.owner, c.due.isoformat()) for c in parsed])
    with ws.ledger() as ledger:
        known = _known(ledger, spec)
        problems = [p for c in parsed if (p := _person_problem(c.owner, known, f"owner of '{c.text}'"))]
        if by is not None and (p := _person_problem(by, known, "--by")):
            problems.append(p)
        problems += [
            f"'{c.text}' is due {c.due}, before the retrospective ({held_day})"
            for c in parsed
            if c.due < held_day
        ]
        seen: set[str] = set()
        for c in parsed:
            if c.text.lower() in seen:
                problems.append(f"the change '{c.text}' is listed twice")
            seen.add(c.text.lower())
        if problems:
            raise WorkspaceError(
                "; ".join(problems),
                hint="owners are people (spec people: or the users table); due YYYY-MM-DD",
            )
        query = _query(ledger)
        if _exists(ledger, event_id):
            stored = next(r for r in read_retros(query) if r.event_id == event_id)
            props = ledger.con.execute("SELECT properties FROM events WHERE event_id = ?", [event_id])
            import json

            if json.loads(props.fetchall()[0][0]).get("content") != content:
                raise WorkspaceError(
                    f"{campaign} already has a '{label}' retrospective (held "
                    f"{stored.held_at and datetime.fromtimestamp(stored.held_at, UTC):%Y-%m-%d}) that says "
                    "something else",
                    hint="the ledger keeps what was agreed: record the new view under another milestone "
                    f"name (e.g. --milestone '{label} 2')",
                )
            actions = read_actions(query)
            return RetroResult(stored, [actions[i] for i in stored.changes if i in actions], False)
        card, card_as_of = _frozen_scorecard(ledger, spec, campaign, int(held.timestamp()))
        ids = [action_id(campaign, label, c.text) for c in parsed]
        retro_props = {
            "campaign": campaign, "milestone": label, "worked": kept_worked, "stalled": kept_stalled,
            "actions": ids, "scorecard_as_of": card_as_of, "scorecard": card, "content": content,
        }  # fmt: skip
        rows = [_row(event_id, held, "campaign_retrospective", by, retro_props)]
        for aid, c in zip(ids, parsed, strict=True):
            rows.append(_row(f"accord:action:{aid}", held, "action_created", by, {
                "action_id": aid, "campaign": campaign, "milestone": label, "text": c.text,
                "owner": c.owner, "due": c.due.isoformat(), "retro": event_id,
            }))  # fmt: skip
        from accord.handoffs.tick import append

        append(ledger, rows, "retro")
        stored = next(r for r in read_retros(query) if r.event_id == event_id)
        actions = read_actions(query)
    return RetroResult(stored, [actions[i] for i in ids], True)


def _row(event_id: str, at: datetime, kind: str, actor: str | None, props: dict[str, Any],
         opportunity: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"event_id": event_id, "occurred_at": at, "type": kind, "actor_id": actor,
            "opportunity_id": opportunity, "source": "accord", "properties": props}  # fmt: skip


def _frozen_scorecard(ledger: Ledger, spec: Spec, cid: str, held: int) -> tuple[list[dict[str, Any]], int]:
    from accord.reports.campaigns import scorecard

    latest = ReportData(ledger, spec, Filters())  # refuses with "run accord derive" when nothing is derived
    as_of = min(held, latest.as_of)
    data = latest if as_of == latest.as_of else ReportData(ledger, spec, Filters(), as_of=as_of)
    section = scorecard(data, cid, spec.campaigns[cid])
    return [{k: plain(v) for k, v in row.items()} for row in section.records()], as_of


# ---- actions ----------------------------------------------------------------------------------------


def list_actions(
    ws: Workspace,
    *,
    open_only: bool = False,
    owner: str | None = None,
    campaign: str | None = None,
    now: datetime | None = None,
) -> tuple[list[Action], date]:
    """Actions from every retrospective (open and overdue first, then by due date) and the day judged."""
    today = _moment(now).astimezone(ZoneInfo(ws.spec.workspace.timezone)).date()
    with ws.ledger(read_only=True) as ledger:
        actions = list(read_actions(_query(ledger)).values())
        stranger = owner is not None and owner not in {a.owner for a in actions}
        if stranger and (p := _person_problem(owner or "", _known(ledger, ws.spec), "--owner")):
            raise WorkspaceError(p)
    chosen = [
        a
        for a in actions
        if (owner is None or a.owner == owner)
        and (campaign is None or a.campaign == campaign)
        and (not open_only or a.done_at is None)
    ]
    order = {"overdue": 0, "open": 1, "done": 2}
    chosen.sort(key=lambda a: (order[a.status(today)], a.due, a.action_id))
    return chosen, today


def close_action(
    ws: Workspace, action: str, *, note: str | None = None, by: str | None = None, now: datetime | None = None
) -> ActionResult:
    """Mark one action done (once: closing it again writes nothing)."""
    moment = _moment(now)
    with ws.ledger() as ledger:
        query = _query(ledger)
        actions = read_actions(query)
        found = actions.get(action)
        if found is None:
            near = suggest(action, actions)
            raise WorkspaceError(
                f"no action '{action}'" + (f"; did you mean '{near}'?" if near else ""),
                hint="`accord actions --open` lists them with their ids",
            )
        if found.done_at is not None:
            return ActionResult(found, False)
        if by is not None and (p := _person_problem(by, _known(ledger, ws.spec), "--by")):
            raise WorkspaceError(p)
        if int(moment.timestamp()) < found.created_at:
            raise WorkspaceError(f"action {action} was agreed after {moment:%Y-%m-%d %H:%M} UTC")
        from accord.handoffs.tick import append

        props = {
            "action_id": action,
            "campaign": found.campaign,
            "note": " ".join((note or "").split()) or None,
        }
        append(ledger, [_row(f"accord:action_done:{action}", moment, "action_done", by, props)], "action")
        return ActionResult(read_actions(query)[action], True)


# ---- loss interviews --------------------------------------------------------------------------------


def load_interview_file(path: Path) -> dict[str, Any]:
    """A loss interview as YAML: the five answers by key (problem, committee, fit_weakened, competitor,
    easier_yes), and optionally by, area, role, on."""
    import yaml

    try:
        doc = _yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise WorkspaceError(f"{path}: cannot read it ({exc})") from None
    allowed = {*QUESTIONS, "by", "area", "role", "on"}
    if not isinstance(doc, dict) or set(doc) - allowed:
        extra = sorted(set(doc) - allowed) if isinstance(doc, dict) else []
        raise WorkspaceError(
            f"{path}: " + (f"unknown key {', '.join(extra)}" if extra else "expected a map of answers"),
            hint="keys: " + ", ".join(sorted(allowed)),
        )
    return {k: (str(v) if v is not None and k != "on" else v) for k, v in doc.items()}


def record_interview(
    ws: Workspace,
    opportunity: str,
    *,
    by: str,
    answers: Mapping[str, str | None],
    area: str | None = None,
    role: str | None = None,
    on: date | None = None,
    now: datetime | None = None,
) -> InterviewResult:
    """Record what a lost buyer said, for the loss post-mortem (accord.reports.outcomes.losses).

    Refused unless the deal is closed lost when the interview is dated. ``on`` dates it to a day (midday
    in the workspace time zone, never before the close); else it is dated now.
    """
    spec = ws.spec
    zone = ZoneInfo(spec.workspace.timezone)
    given = {k: " ".join((answers.get(k) or "").split()) for k in QUESTIONS}
    missing = [QUESTIONS[k][0] for k, v in given.items() if not v]
    if missing:
        raise WorkspaceError(
            f"the interview is missing {', '.join(missing)}",
            hint="answer all five questions; write 'declined' where the buyer would not say",
        )
    if area is not None and area not in LOSS_AREAS:
        near = suggest(area, LOSS_AREAS)
        raise WorkspaceError(
            f"--area '{area}' is not a pattern area" + (f"; did you mean '{near}'?" if near else ""),
            hint="areas: " + ", ".join(LOSS_AREAS),
        )
    roles = [r.id for r in spec.buying_committee]
    if role is not None and role not in roles:
        near = suggest(role, roles)
        raise WorkspaceError(
            f"--role '{role}' is not a buying-committee role" + (f"; did you mean '{near}'?" if near else ""),
            hint="roles: " + ", ".join(roles),
        )
    if on is not None:
        end_of_day = datetime.combine(on + timedelta(days=1), time(), zone) - timedelta(seconds=1)
        judged = int(end_of_day.timestamp())
    else:
        judged = int(_moment(now).timestamp())
    with ws.ledger() as ledger:
        if p := _person_problem(by, _known(ledger, spec), "--by"):
            raise WorkspaceError(p, hint="the interviewer is a person the spec or the users table knows")
        data = ReportData(ledger, spec, Filters(), as_of=judged)
        opps = data.all_opportunities
        deal = opps.get(opportunity)
        if deal is None:
            near = suggest(opportunity, sorted(opps))
            raise WorkspaceError(
                f"no opportunity '{opportunity}'" + (f"; did you mean '{near}'?" if near else ""),
                hint="interviews attach to a closed-lost opportunity of the ledger",
            )
        if not deal.is_closed or deal.is_won:
            state = "won" if deal.is_won else f"open (stage {deal.stage or 'unknown'})"
            raise WorkspaceError(
                f"opportunity '{opportunity}' is {state} at the interview's date: loss interviews are for "
                "closed-lost deals",
                hint="record the loss first (a closed_lost event), or date the interview after it (--on)",
            )
        contact = data.all_contacts.get(deal.contact_id or "")
        role = role or (contact.committee_role if contact else None)
        held = judged
        if on is not None:
            midday = int(datetime.combine(on, time(12), zone).timestamp())
            held = min(max(midday, deal.closed_at or midday), judged)
        content = {"answers": given, "by": by, "role": role, "area": area}
        event_id = interview_event_id(opportunity, content)
        query = _query(ledger)
        if not _exists(ledger, event_id):
            from accord.handoffs.tick import append

            props = {"interviewer": by, "role": role, "area": area, "answers": given}
            row = _row(
                event_id, datetime.fromtimestamp(held, UTC), "loss_interview", None, props, opportunity
            )
            append(ledger, [row], "interview")
            new = True
        else:
            new = False
        found = next(i for i in read_interviews(query) if i.event_id == event_id)
    return InterviewResult(found, new)
