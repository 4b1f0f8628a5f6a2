"""The vocabulary every rule and check shares: standard event types, record fields, KPIs, and the
scope of names each kind of rule may see.

Scopes are built from raw spec data (plain dicts), not from validated models, so a spec with a broken
section still gets its rules checked against everything else: every mistake is reported in one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord.spec.rule_ast import Field, Scope, Type

STANDARD_EVENT_TYPES: dict[str, str] = {
    # engagement: marketing touches
    "page_view": "engagement", "pricing_view": "engagement", "comparison_view": "engagement",
    "security_review": "engagement", "form_submit": "engagement", "demo_request": "engagement",
    "webinar_registered": "engagement", "webinar_attended": "engagement", "email_open": "engagement",
    "email_click": "engagement", "content_download": "engagement", "event_attended": "engagement",
    # rep activity
    "call_attempt": "rep_activity", "call_connected": "rep_activity", "email_sent": "rep_activity",
    "email_reply": "rep_activity", "meeting_booked": "rep_activity", "meeting_held": "rep_activity",
    "meeting_no_show": "rep_activity",
    # handoff
    "assigned": "handoff", "accepted": "handoff", "rejected": "handoff", "recycled": "handoff",
    "escalated": "handoff", "sla_at_risk": "handoff", "sla_breached": "handoff",
    # opportunity
    "opp_created": "opportunity", "opp_stage_changed": "opportunity", "amount_changed": "opportunity",
    "close_date_changed": "opportunity", "next_action_set": "opportunity",
    "closed_won": "opportunity", "closed_lost": "opportunity", "onboarding_kickoff": "opportunity",
    "renewed": "opportunity", "expanded": "opportunity",
    # content
    "content_shared": "content", "content_viewed": "content", "content_rebuilt": "content",
    # plays: enrolment, each dated step done or missed, the exit (written by the tick)
    "play_entered": "play", "play_step_done": "play", "play_step_missed": "play", "play_exited": "play",
    # bookkeeping written by Accord itself
    "record_updated": "other",
    # governance: about the agreement itself, not about a contact, account or deal
    "agreement_signed": "governance", "change_proposed": "governance", "change_approved": "governance",
    "change_rejected": "governance", "spec_activated": "governance",
    "watch_fired": "governance", "watch_acknowledged": "governance",
    # joint reviews: a campaign retrospective and the actions it agreed (accord.service.retros)
    "campaign_retrospective": "governance", "action_created": "governance", "action_done": "governance",
    # what a lost buyer said, attached to the lost deal
    "loss_interview": "opportunity",
}  # fmt: skip
"""Event types every workspace knows; a spec adds its own under ``event_types``."""

GOVERNANCE_EVENT_TYPES: tuple[str, ...] = tuple(
    k for k, v in STANDARD_EVENT_TYPES.items() if v == "governance"
)
"""Events about the agreement itself: the only ones that need no contact, account or deal."""

DISPOSITIONS: tuple[str, ...] = ("accepted", "rejected", "recycled")

KPIS: dict[str, str] = {
    "engagement_rate": "Share of contacts in the stage who engaged in the period.",
    "stage_progression_rate": "Share of contacts reaching the next stage within the horizon.",
    "mql_to_sql_conversion": "Share of MQLs that Sales accepts and qualifies.",
    "acceptance_rate": "Accepted / (accepted + rejected) of dispositioned MQLs.",
    "speed_to_lead": "Business minutes from MQL to the owner's first touch (p50, p90).",
    "meeting_held_rate": "Share of booked meetings that were held.",
    "sla_compliance": "Met / (met + breached) SLA clocks.",
    "pipeline_creation": "Opportunity amount created in the period.",
    "win_rate": "Closed-won / closed opportunities.",
    "stage_velocity": "Median days from one stage to the next.",
    "time_to_value": "Days from closed-won to the first value milestone.",
    "adoption_rate": "Share of customers reaching adoption.",
    "expansion_rate": "Share of customers expanding.",
    "renewal_rate": "Share of renewals won.",
    "forecast_accuracy": "Closed-won against forecast at quarter start.",
}
"""Primary KPIs a stage may name; each is defined in docs/metrics.md."""

# name -> (type, doc); events carry typed columns plus standard properties.
EVENT_FIELDS: dict[str, tuple[Type, str]] = {
    "event_id": (Type.STRING, "Unique id; importing it twice changes nothing."),
    "occurred_at": (Type.TIMESTAMP, "When it happened (stored in UTC)."),
    "type": (Type.STRING, "Event type."),
    "source": (Type.STRING, "System it came from; 'accord' for Accord's own decisions."),
    "contact_id": (Type.STRING, "Contact involved."),
    "account_id": (Type.STRING, "Account involved."),
    "opportunity_id": (Type.STRING, "Opportunity involved."),
    "actor_id": (Type.STRING, "Person who acted (rep actions)."),
    "campaign_id": (Type.STRING, "Campaign it belongs to."),
    "content_id": (Type.STRING, "Content asset used or viewed."),
    "topic": (Type.STRING, "Topic of the engagement (pricing, security, integrations...)."),
}
EVENT_PROPERTIES: dict[str, tuple[Type, str]] = {
    "url": (Type.STRING, "Page address."),
    "channel": (Type.STRING, "Channel (email, paid_search, webinar...)."),
    "reason_code": (Type.STRING, "Rejection reason code."),
    "loss_reason": (Type.STRING, "Loss reason of a closed-lost deal."),
    "amount": (Type.NUMBER, "Amount of an opportunity event."),
    "stage": (Type.STRING, "Opportunity stage after the event."),
    "next_action": (Type.STRING, "Next action on a deal."),
    "next_action_due": (Type.DATE, "Date the next action is due."),
    "close_date": (Type.DATE, "Expected close date."),
    "recycle_on": (Type.DATE, "Date a recycled lead is eligible again."),
    "note": (Type.STRING, "Free text."),
}

CONTACT_FIELDS: dict[str, tuple[Type, str]] = {
    "contact_id": (Type.STRING, "Contact id."),
    "account_id": (Type.STRING, "Account the contact belongs to."),
    "email": (Type.STRING, "Email address."),
    "first_name": (Type.STRING, "First name."),
    "last_name": (Type.STRING, "Last name."),
    "title": (Type.STRING, "Job title."),
    "seniority": (Type.STRING, "Seniority (c_level, vp, director, manager, individual)."),
    "department": (Type.STRING, "Department."),
    "committee_role": (Type.STRING, "Buying-committee role."),
    "country": (Type.STRING, "Country code."),
    "region": (Type.STRING, "Sales region."),
    "lead_source": (Type.STRING, "Original source of the lead."),
    "owner_id": (Type.STRING, "Current owner (person id)."),
    "created_at": (Type.TIMESTAMP, "When the contact was created."),
}
ACCOUNT_FIELDS: dict[str, tuple[Type, str]] = {
    "account_id": (Type.STRING, "Account id."),
    "name": (Type.STRING, "Company name."),
    "domain": (Type.STRING, "Web domain."),
    "industry": (Type.STRING, "Industry."),
    "employees": (Type.NUMBER, "Number of employees."),
    "annual_revenue": (Type.NUMBER, "Annual revenue."),
    "country": (Type.STRING, "Headquarters country."),
    "region": (Type.STRING, "Sales region."),
    "segment": (Type.STRING, "Segment (smb, mid_market, enterprise)."),
    "owner_id": (Type.STRING, "Account owner (person id)."),
    "parent_account_id": (Type.STRING, "Parent company."),
    "created_at": (Type.TIMESTAMP, "When the account was created."),
}
SCORE_FIELDS: dict[str, tuple[Type, str]] = {
    "fit": (Type.NUMBER, "Fit points."),
    "intent": (Type.NUMBER, "Decayed intent points."),
    "committee": (Type.NUMBER, "Buying-committee points."),
    "score": (Type.NUMBER, "fit + intent + committee."),
}
_TYPES = {"string": Type.STRING, "number": Type.NUMBER, "boolean": Type.BOOLEAN,
          "timestamp": Type.TIMESTAMP, "date": Type.DATE}  # fmt: skip


def _dict(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, dict) else {}


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, list) else []


def _ids(items: list[Any], key: str = "id") -> tuple[str, ...]:
    return tuple(str(i[key]) for i in items if isinstance(i, dict) and isinstance(i.get(key), str))


def event_types(data: Any) -> tuple[str, ...]:
    """Standard event types plus the spec's own."""
    return tuple(sorted(set(STANDARD_EVENT_TYPES) | {str(k) for k in _dict(data, "event_types")}))


def custom_fields(data: Any, kind: str) -> dict[str, Type]:
    raw = _dict(_dict(data, "fields"), kind)
    return {str(k): _TYPES[v] for k, v in raw.items() if v in _TYPES}


def timezone_of(data: Any) -> str:
    tz = _dict(data, "workspace").get("timezone")
    return tz if isinstance(tz, str) else "UTC"


def event_scope(data: Any) -> Scope:
    """Names visible to rules over single events (features, intent signals)."""
    fields: dict[str, Field] = {}
    for name, (kind, doc) in {**EVENT_FIELDS, **EVENT_PROPERTIES}.items():
        fields[name] = Field(name, kind, name, doc)
    fields["type"] = Field("type", Type.STRING, "type", EVENT_FIELDS["type"][1], event_types(data))
    reasons = _ids(_list(data, "reason_codes"))
    fields["reason_code"] = Field(
        "reason_code", Type.STRING, "reason_code", "Rejection reason code.", reasons or None
    )
    for name, kind in custom_fields(data, "event").items():
        fields[name] = Field(name, kind, name, "Custom event property.")
    return Scope("event", fields, timezone_of(data))


def profile_scope(data: Any) -> Scope:
    """Who the lead is: contact and account attributes (fit rules)."""
    fields: dict[str, Field] = {}
    contact = {**{k: v[0] for k, v in CONTACT_FIELDS.items()}, **custom_fields(data, "contact")}
    account = {**{k: v[0] for k, v in ACCOUNT_FIELDS.items()}, **custom_fields(data, "account")}
    docs = {**{k: v[1] for k, v in ACCOUNT_FIELDS.items()}}
    for name, kind in account.items():
        fields[f"account.{name}"] = Field(
            f"account.{name}", kind, f"account__{name}", docs.get(name, "Custom account attribute.")
        )
        if name not in contact:
            fields[name] = Field(name, kind, f"account__{name}", docs.get(name, "Custom account attribute."))
    for name, kind in contact.items():
        doc = CONTACT_FIELDS[name][1] if name in CONTACT_FIELDS else "Custom contact attribute."
        fields[name] = Field(name, kind, name, doc)
    roles = _ids(_list(data, "buying_committee"))
    if roles:
        fields["committee_role"] = Field(
            "committee_role", Type.STRING, "committee_role", CONTACT_FIELDS["committee_role"][1], roles
        )
    return Scope("profile", fields, timezone_of(data))


def lead_scope(data: Any) -> Scope:
    """Profile plus features and score parts (tier rules)."""
    base = profile_scope(data)
    fields = dict(base.fields)
    for name, feature in _dict(data, "features").items():
        agg = feature.get("agg") if isinstance(feature, dict) else None
        kind = Type.NUMBER
        if isinstance(feature, dict) and agg is None:
            agg = next(
                (k for k in ("count", "sum", "min", "max", "count_distinct", "days_since") if k in feature),
                "count",
            )
        label = feature.get("label") if isinstance(feature, dict) else None
        fields[str(name)] = Field(str(name), kind, str(name), str(label or f"Feature ({agg})."))
    for name, (kind, doc) in SCORE_FIELDS.items():
        fields[name] = Field(name, kind, name, doc)
    return Scope(
        "lead",
        fields,
        base.timezone,
        refused={"tier": "a tier's rule cannot depend on tiers; use fit, intent, score"},
    )


def journey_scope(data: Any) -> Scope:
    """Lead plus tier, motion and handoff state (stage entry rules)."""
    base = lead_scope(data)
    fields = dict(base.fields)
    tiers = _ids(_list(data, "tiers"), "name")
    motions = tuple(str(k) for k in _dict(data, "motions"))
    fields["tier"] = Field("tier", Type.STRING, "tier", "Current tier name.", tiers or None)
    fields["motion"] = Field("motion", Type.STRING, "motion", "Current motion id.", motions or None)
    fields["disposition"] = Field(
        "disposition",
        Type.STRING,
        "disposition",
        "Latest disposition: accepted, rejected or recycled.",
        DISPOSITIONS,
    )
    fields["assigned"] = Field("assigned", Type.BOOLEAN, "assigned", "Has a current owner.")
    return Scope(
        "journey",
        fields,
        base.timezone,
        refused={"stage": "a stage's entry rule cannot depend on the current stage"},
    )


def routing_scope(data: Any) -> Scope:
    """Journey plus the current stage (routing rules)."""
    base = journey_scope(data)
    fields = dict(base.fields)
    stages = _ids(_list(_dict(data, "journey"), "stages"))
    fields["stage"] = Field("stage", Type.STRING, "stage", "Current stage id.", stages or None)
    return Scope("routing", fields, base.timezone)


RESERVED_NAMES: frozenset[str] = frozenset(
    set(SCORE_FIELDS)
    | {"tier", "motion", "disposition", "assigned", "stage"}
    | set(CONTACT_FIELDS)
    | set(ACCOUNT_FIELDS)
)
"""Names a feature may not take, since rules would not know which one is meant."""
