"""What the demo team said in its reviews: one mid-campaign retrospective and a few loss interviews.

Plain data chosen by the seed (the service records it after derive), so the dashboard and the
reports have retrospectives, owned actions and buyers' words to show, and the same seed tells the
same story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

WORKED = (
    "The compliance webinar brought security reviewers we had never reached",
    "SDRs who opened with the security whitepaper booked more meetings",
    "Paid search on audit-readiness terms brought mid-market accounts in our ICP",
    "Joint weekly huddles caught routing gaps within days",
)
STALLED = (
    "Follow-up after the webinar took three days on average",
    "Security questionnaires still stall deals in evaluation",
    "Paid search drew students and consultants outside our ICP",
    "Account executives were not told which accounts the campaign touched",
)
CHANGES = (
    "Call every webinar attendee within one business day",
    "Publish a standard security questionnaire pack for sales",
    "Exclude non-ICP titles from paid search audiences",
    "Send AEs a weekly list of campaign-touched accounts",
)

ANSWERS: dict[str, dict[str, str]] = {
    "icp": {
        "problem": "We wanted one place to track vendor risk, but we are smaller than your usual customer",
        "committee": "Our office manager and the owner; neither had time for a long rollout",
        "fit_weakened": "When the setup plan assumed a dedicated admin we do not have",
        "competitor": "A simpler tool that fit a five-person team out of the box",
        "easier_yes": "A lighter edition for teams our size",
    },
    "qualification": {
        "problem": "Audit preparation took weeks of spreadsheet work every quarter",
        "committee": "Finance had to approve, and they were never in the calls",
        "fit_weakened": "When the budget owner joined late and asked why now",
        "competitor": "Staying as we were cost nothing this year",
        "easier_yes": "Meeting finance early with a business case",
    },
    "content": {
        "problem": "Our customers kept sending us security questionnaires",
        "committee": "Our security lead needed evidence of controls before anything else",
        "fit_weakened": "When we waited two weeks for answers to the security questionnaire",
        "competitor": "They sent a complete trust pack on the first call",
        "easier_yes": "Security documentation ready before the technical review",
    },
    "pricing": {
        "problem": "Reporting for three regions was manual",
        "committee": "Procurement compared line by line against two other offers",
        "fit_weakened": "When the per-seat price doubled past fifty users",
        "competitor": "A flat platform fee that did not punish growth",
        "easier_yes": "A price that scaled with usage, not seats",
    },
    "sales_motion": {
        "problem": "Lead handoffs between our teams were getting lost",
        "committee": "The CFO and IT both had a say, but we only ever met one person",
        "fit_weakened": "When our champion left and nobody else knew the project",
        "competitor": "Their team met everyone on the committee in the first month",
        "easier_yes": "Talking to IT and finance earlier, not only to our champion",
    },
    "product": {
        "problem": "We needed our CRM and warehouse to agree",
        "committee": "Data engineering had to sign off on the integration",
        "fit_weakened": "When the warehouse connector turned out to be on the roadmap only",
        "competitor": "A native connector we could try in a day",
        "easier_yes": "The connector, or a dated commitment to it",
    },
    "timing": {
        "problem": "We were planning for next year's audit cycle",
        "committee": "The new VP wanted to settle in before buying anything",
        "fit_weakened": "It did not weaken; our priorities moved",
        "competitor": "Waiting was the better choice for us this quarter",
        "easier_yes": "Checking back after our reorganisation",
    },
}
"""A buyer's answers by pattern area, in the demo's own words."""


@dataclass(frozen=True)
class DemoRetro:
    held: date
    worked: list[str]
    stalled: list[str]
    changes: list[tuple[str, str, date]]  # text, owner, due
    done: list[int]  # indexes of changes already done, ten days after the retro


def retro_plan(seed: int, start: date, last: date, owners: list[str]) -> DemoRetro | None:
    """A mid-campaign retrospective halfway between the charter's start and ``last`` (the demo's last day
    inside the charter); none when the campaign has run less than four weeks."""
    if (last - start).days < 28 or not owners:
        return None
    rng = np.random.default_rng(seed + 101)
    held = start + timedelta(days=(last - start).days // 2)
    pick = [int(i) for i in rng.permutation(len(CHANGES))[:3]]
    dues = [held + timedelta(days=14), held + timedelta(days=30), last + timedelta(days=21)]
    changes = [
        (CHANGES[i], owners[n % len(owners)], due) for n, (i, due) in enumerate(zip(pick, dues, strict=True))
    ]
    worked = [WORKED[int(i)] for i in rng.permutation(len(WORKED))[:2]]
    stalled = [STALLED[int(i)] for i in rng.permutation(len(STALLED))[:2]]
    return DemoRetro(held, worked, stalled, changes, [0])


def interview_picks(seed: int, lost: list[str], n: int = 6) -> list[str]:
    """Which lost deals the demo team interviewed (by id, in id order)."""
    if not lost:
        return []
    rng = np.random.default_rng(seed + 202)
    chosen = rng.choice(len(lost), size=min(n, len(lost)), replace=False)
    return sorted(lost[int(i)] for i in chosen)
