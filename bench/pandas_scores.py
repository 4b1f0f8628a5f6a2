"""The starter spec's scores written in plain pandas: the baseline a team would maintain without Accord.

bench/derive.py times this against the engine and checks that both give the same numbers. It is
written the way a competent analyst would write it for *this* spec (src/accord/starter/accord.yaml):
the rules are hand-translated into pandas, the numbers (points, caps, windows) are copied from the
yaml, and everything is vectorised with groupby / cumsum / merge_asof (no numba, no DuckDB). It
computes fit, intent, committee and score as docs/derive.md defines them, at every evaluation point
of every contact: the contact's distinct event seconds plus the as-of instant (regression wake-ups,
which need the stage machine, are left out; the check compares the points both sides have).

How each part avoids a per-point loop:

- intent: ``raw_s(t) = sum_j p_s 2^(-(t - ts_j)/h) = 2^(-(t - o)/h) * sum_j p_s 2^((ts_j - o)/h)``
  with ``o`` the contact's first intent event, so a per-contact cumsum gives every point at once;
- the pattern's distinct days in ``(t - 30d, t]``: days only move forward, so it is the number of
  intent days whose first event is at or before ``t`` minus those whose last event is at or before
  ``t - 30d`` (two merge_asof lookups);
- committee: per account stream, the latest engagement of each committee role (a forward fill), looked up
  at each point with one merge_asof; a role counts when that latest engagement is in the window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the venv
import pyarrow.compute as pc

# --- the starter spec, by hand ---------------------------------------------------------------------

FIT_CAP = 50.0
INTENT_CAP = 60.0
HALF_LIFE = 14 * 86400
PATTERN_WINDOW = 30 * 86400
PATTERN_DAYS = 2  # distinct_topics is 1: any intent event has a topic (its topic, else its type)
COMMITTEE_WINDOW = 60 * 86400
COMMITTEE_PER_ROLE = 5.0
COMMITTEE_CAP = 20.0
SIGNALS: dict[str, tuple[float, float]] = {  # event type -> (points, cap); every signal is "type = X"
    "demo_request": (25, 25),
    "pricing_view": (10, 30),
    "security_review": (12, 24),
    "comparison_view": (8, 16),
    "webinar_attended": (6, 12),
    "content_download": (4, 12),
    "email_click": (2, 6),
    "page_view": (1, 5),
}
ROLES = ["economic_buyer", "technical_evaluator", "end_user", "procurement", "security_reviewer", "champion"]
ENGAGED = {  # engagement category of the catalog plus the four sales engagements (docs/derive.md)
    "page_view", "pricing_view", "comparison_view", "security_review", "form_submit", "demo_request",
    "webinar_registered", "webinar_attended", "email_open", "email_click", "content_download",
    "event_attended", "email_reply", "call_connected", "meeting_booked", "meeting_held",
}  # fmt: skip

EVENT_COLUMNS = ["ts", "day", "type", "contact_id", "account_id"]
PROFILE_COLUMNS = [
    "contact_id", "part", "committee_role", "email", "seniority", "country",
    "account__employees", "account__industry",
]  # fmt: skip


def round2(x: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """docs/derive.md's rounding (half up), not numpy's round-half-even."""
    return np.floor(x * 100 + 0.5) / 100


# --- input ---------------------------------------------------------------------------------------


def load(ev_path: Path, profiles_path: Path, limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read both inputs; with ``limit``, only the first ``limit`` contacts' account streams.

    Whole account streams are kept (every contact of each account a selected contact belongs to, and
    the events naming only that account) so that the committee, which reads the whole stream, is
    exact for every contact kept.
    """
    profiles = pd.read_parquet(profiles_path, columns=PROFILE_COLUMNS)
    if limit is None:
        return pd.read_parquet(ev_path, columns=EVENT_COLUMNS), profiles
    parts = profiles["part"].iloc[:limit].unique()
    profiles = profiles[profiles["part"].isin(parts)].reset_index(drop=True)
    contacts = profiles["contact_id"].to_numpy()
    accounts = [p for p in parts if not str(p).startswith("c:")]
    mine = pc.field("contact_id").isin(contacts) | (
        pc.field("contact_id").is_null() & pc.field("account_id").isin(accounts)
    )
    return pd.read_parquet(ev_path, columns=EVENT_COLUMNS, filters=mine), profiles


# --- scores ----------------------------------------------------------------------------------------


def fit(profiles: pd.DataFrame) -> pd.Series:
    """Fit per contact: the fit rules of the spec, hand-translated (a NULL never satisfies a rule)."""
    p = profiles
    employees = p["account__employees"]
    email = p["email"].fillna("")
    rules = [
        (employees.between(200, 5000), 15.0),
        (employees > 5000, 10.0),
        (p["account__industry"].isin(["software", "financial_services", "healthcare", "manufacturing"]), 10),
        (p["seniority"].isin(["c_level", "vp", "director"]), 10.0),
        (p["committee_role"].isin(["economic_buyer", "technical_evaluator", "champion"]), 5.0),
        (p["country"].isin(["US", "CA", "GB", "IE", "DE", "NL"]), 5.0),
        (email.str.endswith("@gmail.com") | email.str.endswith("@yahoo.com"), -10.0),
    ]
    total = sum((rule.fillna(False).astype(bool) * round2(np.float64(points)) for rule, points in rules))
    total = round2(pd.Series(total, index=p.index, dtype="float64"))
    return pd.Series(np.minimum(total, FIT_CAP).to_numpy(), index=p["contact_id"], name="fit")


def _lookup(left: pd.DataFrame, right: pd.DataFrame, left_on: str, right_on: str, by: str) -> pd.DataFrame:
    """For each row of ``left``, the last row of ``right`` with the same ``by`` and ``right_on <= left_on``:
    ``right``'s other columns, aligned with ``left`` (NaN where there is none)."""
    keys = left[[by, left_on]].assign(_row=np.arange(len(left)))
    found = pd.merge_asof(
        keys.sort_values(left_on, kind="stable"),
        right.sort_values(right_on, kind="stable"),
        left_on=left_on,
        right_on=right_on,
        by=by,
        direction="backward",
        allow_exact_matches=True,
    )
    found = found.sort_values("_row").drop(columns=[by, left_on, right_on, "_row"])
    return found.set_axis(left.index)


def scores(ev: pd.DataFrame, profiles: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """fit, intent, committee and score at every (contact, distinct event second) and (contact, as-of)."""
    ev = ev[(ev["ts"] <= as_of) & (ev["contact_id"].notna() | ev["account_id"].notna())]
    prof = profiles[["contact_id", "part", "committee_role"]]
    ev = ev.merge(prof, on="contact_id", how="left")
    known = ev["part"].notna()  # the contact is in profiles (every contact an event names is)
    ev["part"] = ev["part"].fillna(ev["account_id"]).fillna("c:" + ev["contact_id"])

    # evaluation points: each known contact's distinct event seconds, and as-of for every contact
    own = ev.loc[known, ["contact_id", "ts"]].drop_duplicates()
    at = pd.DataFrame({"contact_id": profiles["contact_id"].to_numpy(), "ts": np.int64(as_of)})
    points = pd.concat([own, at], ignore_index=True).drop_duplicates()
    points = points.merge(prof[["contact_id", "part"]], on="contact_id", how="left")

    points = _intent(ev[known], points)
    points = _committee(ev, points)
    points["fit"] = points["contact_id"].map(fit(profiles)).fillna(0.0)
    points["score"] = round2(points["fit"] + points["intent"] + points["committee"])
    cols = ["contact_id", "ts", "fit", "intent", "committee", "score", "pattern_days", "roles"]
    return points[cols].sort_values(["contact_id", "ts"], ignore_index=True)


def _intent(ev: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Per-signal decayed sums with caps, the overall cap, and the distinct-days pattern."""
    ie = ev.loc[ev["type"].isin(list(SIGNALS)), ["contact_id", "ts", "day", "type"]]
    ie = ie.sort_values(["contact_id", "ts"], kind="stable")
    origin = ie.groupby("contact_id")["ts"].transform("min")
    growth = np.exp2((ie["ts"] - origin).to_numpy() / HALF_LIFE)
    names = [f"s{i}" for i in range(len(SIGNALS))]
    for name, (kind, (pts, _cap)) in zip(names, SIGNALS.items(), strict=True):
        ie[name] = np.where(ie["type"].to_numpy() == kind, pts * growth, 0.0)
    cum = ie.groupby("contact_id")[names].cumsum()
    cum[["contact_id", "ts", "origin"]] = ie[["contact_id", "ts"]].assign(origin=origin)
    cum = cum.groupby(["contact_id", "ts"], as_index=False).last()  # simultaneous events count together
    cum = cum.rename(columns={"ts": "its"})
    got = _lookup(points, cum, "ts", "its", "contact_id")
    decay = np.exp2(-(points["ts"] - got["origin"]).to_numpy() / HALF_LIFE)
    total = np.zeros(len(points))
    for name, (_pts, cap) in zip(names, SIGNALS.values(), strict=True):
        raw = np.nan_to_num(got[name].to_numpy() * decay)
        total += round2(np.minimum(raw, cap))
    capped = np.minimum(round2(total), INTENT_CAP)

    days = ie.groupby(["contact_id", "day"], as_index=False)["ts"].agg(first="min", last="max")
    days["n"] = days.groupby("contact_id").cumcount() + 1  # groupby sorts by day: days are in time order
    since = points[["contact_id"]].assign(since=points["ts"] - PATTERN_WINDOW)
    started = _lookup(points, days[["contact_id", "first", "n"]], "ts", "first", "contact_id")["n"]
    gone = _lookup(since, days[["contact_id", "last", "n"]], "since", "last", "contact_id")["n"]
    points["pattern_days"] = (started.fillna(0) - gone.fillna(0)).astype("int64")
    points["intent"] = round2(np.where(points["pattern_days"] >= PATTERN_DAYS, capped, 0.0))
    return points


def _committee(ev: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Distinct committee roles of the account stream that engaged in (t - 60d, t]."""
    engaged = ev["type"].isin(list(ENGAGED)) & ev["committee_role"].isin(ROLES)
    eng = ev.loc[engaged, ["part", "ts", "committee_role"]].sort_values(["part", "ts"], kind="stable")
    names = [f"r{i}" for i in range(len(ROLES))]
    for name, role in zip(names, ROLES, strict=True):
        eng[name] = np.where(eng["committee_role"].to_numpy() == role, eng["ts"].to_numpy(), np.nan)
    last = eng.groupby("part")[names].ffill()  # latest engagement of each role so far (ts ascending)
    last[["part", "ts"]] = eng[["part", "ts"]]
    last = last.groupby(["part", "ts"], as_index=False).last().rename(columns={"ts": "ets"})
    got = _lookup(points, last, "ts", "ets", "part")
    recent = got[names].to_numpy() > (points["ts"].to_numpy()[:, None] - COMMITTEE_WINDOW)
    points["roles"] = recent.sum(axis=1)
    points["committee"] = round2(np.minimum(COMMITTEE_PER_ROLE * points["roles"], COMMITTEE_CAP))
    return points
