"""Opportunities: created from accepted leads after a held meeting, walked through the pipeline.

Each deal is simulated to its end and then cut at as-of, so the ledger holds closed deals, open ones
at every stage, stalled ones, ones missing a next action, and post-sale life for the won. Win
chances rise with the hidden propensity; mid-market losses lean on security, the story the starter
spec's campaign is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accord.demo.clock import DAY, HOUR, MIN
from accord.demo.context import Ctx
from accord.demo.engagement import odds, sigmoid
from accord.demo.handoffs import Handoffs
from accord.demo.market import F64, SEGMENTS, Accounts, Contacts, centre
from accord.demo.org import Library
from accord.demo.tables import dumps
from accord.demo.words import LEAD_SOURCES, NEXT_ACTIONS

_LOSS_WEIGHTS: dict[str, float] = {
    "price": 0.15, "no_decision": 0.2, "no_budget": 0.12, "competitor": 0.18, "no_champion": 0.1,
    "missing_feature": 0.08, "security": 0.1, "bad_fit": 0.05, "timing": 0.1,
}  # fmt: skip
_TYPICAL_AMOUNT = (18_000.0, 38_000.0, 85_000.0)
_STAGE_DAYS = (11.0, 17.0, 26.0)


@dataclass
class Deal:
    """The current state of one opportunity, as the CRM would export it."""

    account: int
    contact: int
    owner: int
    created: int
    amount: float
    product: int
    lead_source: str
    stage: str = ""
    close_day: int = 0
    closed_at: int = -1
    won: bool = False
    loss_reason: str | None = None
    next_action: str | None = None
    next_due: int = -1
    moments: list[int] = field(default_factory=list)


class Pipeline:
    """Deal simulation with the spec's pipeline stages, loss reasons and the world's people."""

    def __init__(self, ctx: Ctx, acc: Accounts, con: Contacts, lib: Library, products: list[str]):
        self.ctx, self.acc, self.con, self.lib, self.products = ctx, acc, con, lib, products
        stages = ctx.spec.pipeline.stages
        self.open = [s.id for s in stages if s.outcome == "open"] or [stages[0].id]
        self.won = next((s.id for s in stages if s.outcome == "won"), "closed_won")
        self.lost = next((s.id for s in stages if s.outcome == "lost"), "closed_lost")
        self.losses = [r.id for r in ctx.spec.loss_reasons]
        self.milestones = "value_milestone" in ctx.spec.event_types
        self.deals: list[Deal] = []

    def _event(self, d: int, at: int, type_: str, actor: int = -1, content: int = -1,
               **props: Any) -> bool:  # fmt: skip
        if at >= self.ctx.as_of:
            return False
        deal = self.deals[d]
        props = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in props.items()}
        self.ctx.log.add(np.array([at]), type_, contact=deal.contact, account=deal.account,
                         opportunity=d, actor=actor, content=content, props=dumps(props))  # fmt: skip
        return True

    def _later(self, actor: int, at: int, days: float) -> int:
        """``days`` business days of the actor after ``at``."""
        staff = self.ctx.staff
        who = np.array([actor])
        span = np.array([int(days * staff.business_day(who)[0])])
        return int(staff.business_add(who, np.array([at]), span)[0])

    def _owner(self, account: int) -> int:
        """The account's owner when it has one (named accounts), else an AE off the queue."""
        rng, staff = self.ctx.rng, self.ctx.staff
        if self.acc.owner[account] >= 0:
            return int(self.acc.owner[account])
        bosses = staff.ae_managers
        pool = bosses if bosses and rng.random() < 0.1 else staff.aes
        return pool[int(rng.integers(len(pool)))]

    def _new(self, account: int, contact: int, created: int, source: str, owner: int) -> int:
        rng = self.ctx.rng
        seg = int(self.acc.segment[account])
        amount = float(np.round(rng.lognormal(np.log(_TYPICAL_AMOUNT[seg]), 0.55), -2))
        weights = [[0.0, 0.6, 0.2, 0.15, 0.05], [0.05, 0.55, 0.2, 0.15, 0.05],
                   [0.5, 0.3, 0.1, 0.1, 0.0]][seg]  # fmt: skip
        w = np.array(weights[: len(self.products)]) + 1e-9
        product = int(rng.choice(len(w), p=w / w.sum()))
        self.deals.append(Deal(account, contact, owner, created, amount, product, source))
        return len(self.deals) - 1

    def run(self, d: int, prop: float, mid: float) -> None:
        """Walk one deal through the stages, emit what happened before as-of, keep its state."""
        ctx, rng, deal = self.ctx, self.ctx.rng, self.deals[d]
        seg = int(self.acc.segment[deal.account])
        win = rng.random() < odds(-1.4 + 1.1 * (prop - mid))
        n_open = len(self.open)
        last = n_open - 1 if win else int(rng.choice(n_open, p=_decreasing(n_open)))
        gaps = rng.lognormal(np.log(_STAGE_DAYS[seg]), 0.55, n_open + 1)
        if rng.random() < 0.2:
            gaps[int(rng.integers(n_open + 1))] *= rng.uniform(3, 6)
        style = rng.choice(3, p=[0.75, 0.14, 0.11])  # 0 tidy, 1 never sets next steps, 2 no dates
        moments = [deal.created]
        for k in range(1, last + 1):
            step = moments[-1] + int(gaps[k] * DAY)
            moments.append(self._later(deal.owner, step, rng.uniform(0.02, 1)))
        closing = self._later(deal.owner, moments[-1] + int(gaps[-1] * DAY), rng.uniform(0.02, 1))
        deal.close_day = deal.created // DAY + int(_STAGE_DAYS[seg] * n_open * rng.uniform(0.8, 1.4))
        self._event(d, deal.created, "opp_created", deal.owner, amount=deal.amount,
                    stage=self.open[0])  # fmt: skip
        deal.stage = self.open[0]
        bump = int(rng.integers(1, last + 1)) if last and rng.random() < 0.25 else -1
        for k, at in enumerate(moments):
            if k and self._event(d, at, "opp_stage_changed", deal.owner, stage=self.open[k]):
                deal.stage = self.open[k]
            if at >= ctx.as_of:
                break
            deal.moments.append(at)
            if k == bump:
                old, deal.amount = deal.amount, float(np.round(deal.amount * rng.uniform(0.7, 1.35),
                                                               -2))  # fmt: skip
                self._event(d, at + 5 * MIN, "amount_changed", deal.owner, amount=deal.amount,
                            previous=old)  # fmt: skip
            if style != 1:
                self._next_action(d, at + int(rng.integers(2, 40)) * MIN, with_due=style == 0)
            self._share(d, at, closing)
        if closing < ctx.as_of:
            self._close(d, closing, win, seg)
        elif deal.close_day < ctx.as_of // DAY and rng.random() < 0.6:
            when = max(deal.moments[-1], ctx.as_of - int(rng.uniform(1, 20) * DAY))
            deal.close_day = ctx.as_of // DAY + int(rng.integers(10, 75))
            self._event(d, self._later(deal.owner, when, 0.1), "close_date_changed", deal.owner,
                        close_date=_iso(deal.close_day))  # fmt: skip

    def _next_action(self, d: int, at: int, with_due: bool) -> None:
        rng, deal = self.ctx.rng, self.deals[d]
        text = NEXT_ACTIONS[int(rng.integers(len(NEXT_ACTIONS)))]
        due = at // DAY + int(rng.integers(3, 15))
        props: dict[str, Any] = {"next_action": text}
        if with_due:
            props["next_action_due"] = _iso(due)
        if self._event(d, at, "next_action_set", deal.owner, **props):
            deal.next_action, deal.next_due = text, due if with_due else -1

    def _share(self, d: int, at: int, until: int) -> None:
        """Reps reach for mapped assets during the deal; buyers open some of them."""
        rng, deal, lib = self.ctx.rng, self.deals[d], self.lib
        role = self.con.role[deal.contact]
        for _ in range(int(rng.poisson(0.45))):
            fitting = [i for i in lib.used if lib.role[i] == role]
            pool = fitting if fitting and rng.random() < 0.5 else list(lib.used)
            asset = int(pool[int(rng.integers(len(pool)))])
            when = self._later(deal.owner, at, rng.uniform(0.05, 2))
            if when >= until:
                continue
            if self._event(d, when, "content_shared", deal.owner, asset, stage=deal.stage) and (
                rng.random() < 0.6
            ):
                self._event(d, when + int(rng.uniform(1, 48) * HOUR), "content_viewed",
                            content=asset)  # fmt: skip

    def _close(self, d: int, at: int, win: bool, seg: int) -> None:
        rng, deal = self.ctx.rng, self.deals[d]
        deal.closed_at, deal.close_day, deal.won = at, at // DAY, win
        deal.next_action, deal.next_due = None, -1
        if win:
            deal.stage = self.won
            self._event(d, at, "closed_won", deal.owner, amount=deal.amount, stage=self.won)
            self._after_sale(d, at)
            return
        deal.stage = self.lost
        weights = dict(_LOSS_WEIGHTS)
        if SEGMENTS[seg] == "mid_market":
            weights["security"] *= 2.5
        if self.con.fit[deal.contact] < 30:
            weights["bad_fit"] *= 4
        names = [r for r in self.losses if r in weights] or self.losses
        if names:
            w = np.array([weights.get(r, 0.1) for r in names])
            deal.loss_reason = names[int(rng.choice(len(names), p=w / w.sum()))]
        props: dict[str, Any] = {"amount": deal.amount, "stage": self.lost}
        if deal.loss_reason:
            props["loss_reason"] = deal.loss_reason
        self._event(d, at, "closed_lost", deal.owner, **props)

    def _after_sale(self, d: int, won: int) -> None:
        rng, staff, deal = self.ctx.rng, self.ctx.staff, self.deals[d]
        cs = staff.cs[int(rng.integers(len(staff.cs)))]
        if rng.random() < 0.9:
            kickoff = self._later(cs, won, rng.uniform(2, 12))
            self._event(d, kickoff, "onboarding_kickoff", cs)
            if self.milestones and rng.random() < 0.6:
                self._event(d, self._later(cs, kickoff, rng.uniform(15, 60)), "value_milestone",
                            cs, milestone="first dashboards live")  # fmt: skip
        if rng.random() < 0.12:
            extra = float(np.round(deal.amount * rng.uniform(0.2, 0.5), -2))
            self._event(d, self._later(deal.owner, won, rng.uniform(40, 140)), "expanded",
                        deal.owner, amount=extra)  # fmt: skip
        self._renewal(d, won)

    def _renewal(self, d: int, won: int) -> None:
        rng, deal = self.ctx.rng, self.deals[d]
        if rng.random() < 0.85:
            at = self._later(deal.owner, won + 340 * DAY, rng.uniform(0, 15))
            if at >= self.ctx.start:
                self._event(
                    d,
                    at,
                    "renewed",
                    deal.owner,
                    amount=float(np.round(deal.amount * rng.uniform(1.0, 1.15), -2)),
                )

    def legacy(self, share: float = 0.02) -> None:
        """Customers from before the history: their renewals, expansions and milestones fall in it."""
        ctx, rng, acc, con = self.ctx, self.ctx.rng, self.acc, self.con
        weights = sigmoid(acc.prop)
        n = max(1, round(share * len(acc.ids)))
        chosen = rng.choice(len(acc.ids), size=min(n, len(acc.ids)), replace=False,
                            p=weights / weights.sum())  # fmt: skip
        for a in sorted(int(x) for x in chosen):
            won = ctx.start - int(rng.uniform(5, 360) * DAY)
            created = won - int(rng.uniform(30, 150) * DAY)
            members = np.flatnonzero((con.account == a) & (con.created < created))
            if len(members) == 0:
                continue
            contact = int(members[np.argmin(con.seniority[members])])
            d = self._new(a, contact, created, "referral", self._owner(a))
            deal = self.deals[d]
            deal.stage, deal.closed_at, deal.close_day, deal.won = self.won, won, won // DAY, True
            self._renewal(d, won)
            if rng.random() < 0.15:
                at = ctx.start + int(rng.random() * (ctx.as_of - ctx.start))
                self._event(
                    d,
                    self._later(deal.owner, at, 0.2),
                    "expanded",
                    deal.owner,
                    amount=float(np.round(deal.amount * rng.uniform(0.2, 0.5), -2)),
                )
            if self.milestones and rng.random() < 0.3:
                at = ctx.start + int(rng.random() * (ctx.as_of - ctx.start))
                cs = ctx.staff.cs[0]
                self._event(d, self._later(cs, at, 0.2), "value_milestone", cs,
                            milestone="quarterly business review")  # fmt: skip

    def from_handoffs(self, h: Handoffs) -> None:
        """Accepted leads whose meeting was held; one open deal per account at a time."""
        rng, con = self.ctx.rng, self.con
        held = np.flatnonzero(h.held >= 0)
        prop = con.prop[h.contact]
        mid = centre(con)
        held = held[np.argsort(h.held[held], kind="stable")]
        busy_until: dict[int, int] = {}
        sources = list(LEAD_SOURCES)
        for i in held.tolist():
            c = int(h.contact[i])
            a = int(con.account[c])
            if busy_until.get(a, -1) > h.held[i]:
                continue
            if rng.random() >= odds(0.8 + 1.1 * (float(prop[i]) - mid)):
                continue
            owner = self._owner(a)
            created = self._later(owner, int(h.held[i]), rng.uniform(0.05, 3))
            if created >= self.ctx.as_of:
                continue
            d = self._new(a, c, created, sources[con.lead_source[c]], owner)
            self.run(d, float(prop[i]), mid)
            end = self.deals[d].closed_at
            busy_until[a] = end if end >= 0 else self.ctx.as_of
        self._outbound(mid, set(h.contact.tolist()))

    def _outbound(self, mid: float, handed: set[int]) -> None:
        """Deals an AE sourced without Marketing: senior people at owned or larger accounts."""
        ctx, rng, con, acc = self.ctx, self.ctx.rng, self.con, self.acc
        n = max(1, round(0.12 * len(self.deals)))
        senior = (con.seniority <= 2) & (acc.segment[con.account] >= 1)
        pool = [c for c in np.flatnonzero(senior).tolist() if c not in handed]
        if not pool:
            return
        for c in sorted(int(x) for x in rng.choice(pool, size=min(n, len(pool)), replace=False)):
            lo = max(ctx.start, int(con.created[c]))
            created = lo + int(rng.random() * max(ctx.as_of - lo - 5 * DAY, DAY))
            a = int(con.account[c])
            owner = self._owner(a)
            created = self._later(owner, created, 0.2)
            if created >= ctx.as_of:
                continue
            d = self._new(a, c, created, "outbound", owner)
            self.run(d, float(con.prop[c]), mid)

    def rebuilds(self) -> None:
        """Decks built from scratch where the library has nothing for the stage and role."""
        ctx, rng = self.ctx, self.ctx.rng
        live = [d for d, deal in enumerate(self.deals) if deal.moments]
        if not live or not self.lib.uncovered:
            return
        months = max(1, round((ctx.as_of - ctx.start) / (30 * DAY)))
        for _ in range(int(rng.poisson(1.4 * months))):
            d = live[int(rng.integers(len(live)))]
            deal = self.deals[d]
            stage, role = self.lib.uncovered[int(rng.integers(len(self.lib.uncovered)))]
            at = deal.moments[int(rng.integers(len(deal.moments)))]
            self._event(d, self._later(deal.owner, at, rng.uniform(0.1, 3)), "content_rebuilt",
                        deal.owner, stage=stage, committee_role=role,
                        note="no mapped asset; deck rebuilt from scratch")  # fmt: skip


def _decreasing(n: int) -> F64:
    w: F64 = np.array([0.34, 0.26, 0.18, 0.13, 0.09] + [0.05] * max(0, n - 5))[:n]
    share: F64 = w / w.sum()
    return share


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))
