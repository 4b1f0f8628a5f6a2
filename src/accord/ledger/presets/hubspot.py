"""HubSpot exports: contacts, companies and deals, by their default property labels."""

from __future__ import annotations

from accord.ledger.presets.base import INDUSTRIES, Preset, _add, _event  # noqa: F401
from accord.ledger.presets.crm_common import (
    HUBSPOT_DEAL_STAGES,
    HUBSPOT_LIFECYCLE,
    _absent_note,
    _col,
    _computed,
    _first_id,
    _missing_note,
    _several_note,
    _snake,
    _squash,
    _stamp,
    _unknown_note,
    _when,
)

# ---- HubSpot ----

_HS_CONTACTS_READ = ("Associated Company IDs", "Lifecycle Stage", "Original Source")

_add(
    Preset(
        name="hubspot-contacts",
        kind="contacts",
        source="hubspot",
        description="HubSpot contacts export (Record ID, Email, First Name, Last Name, Job Title, Company "
        "Name, Lifecycle Stage, Original Source, Create Date, Contact owner, Associated Company IDs). "
        "No events: the lifecycle stage is HubSpot's own verdict, kept as attribute lifecycle_stage.",
        columns={
            "contact_id": "Record ID",
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "title": "Job Title",
            "created_at": "Create Date",
            "owner_id": "Contact owner",
            "lead_source": "Original Source (id)",
            "account_id": "Associated Company IDs (first)",
        },
        prepare=_computed(
            _HS_CONTACTS_READ,
            {
                "Original Source (id)": _snake(_col("Original Source")),
                "Associated Company IDs (first)": _first_id(_col("Associated Company IDs")),
                "lifecycle_stage": _squash(_col("Lifecycle Stage")),
            },
        ),
        notes=(
            _missing_note(_HS_CONTACTS_READ),
            _unknown_note("attributes->>'lifecycle_stage'", HUBSPOT_LIFECYCLE, "lifecycle stages"),
            _several_note("Associated Company IDs", "companies", "account_id"),
            _absent_note("account_id", "ref_accounts", "companies", "hubspot-companies"),
        ),
    )
)

_HS_COMPANIES_READ = ("Industry", "Lifecycle Stage")

_add(
    Preset(
        name="hubspot-companies",
        kind="accounts",
        source="hubspot",
        description="HubSpot companies export (Record ID, Company name, Company Domain Name, Industry, "
        "Number of Employees, Annual Revenue, Country/Region, Company owner, Create Date). No events.",
        columns={
            "account_id": "Record ID",
            "name": "Company name",
            "domain": "Company Domain Name",
            "employees": "Number of Employees",
            "annual_revenue": "Annual Revenue",
            "country": "Country/Region",
            "owner_id": "Company owner",
            "created_at": "Create Date",
            "industry": "Industry (id)",
        },
        prepare=_computed(
            _HS_COMPANIES_READ,
            {"Industry (id)": _snake(_col("Industry")), "lifecycle_stage": _squash(_col("Lifecycle Stage"))},
        ),
        notes=(
            _missing_note(("Industry",)),
            _unknown_note("attributes->>'lifecycle_stage'", HUBSPOT_LIFECYCLE, "lifecycle stages"),
        ),
    )
)

_HS_DEALS_READ = ("Deal Stage", "Close Date", "Closed Lost Reason", "Associated Company IDs",
                  "Associated Contact IDs")  # fmt: skip
_HS_STAGE = _squash(_col("Deal Stage"))
_HS_WON = f"starts_with({_HS_STAGE}, 'closedwon')"
_HS_CLOSED = f"({_HS_WON} OR starts_with({_HS_STAGE}, 'closedlost'))"
_HS_DEAL = "'hubspot:deal:' || opportunity_id"
_HS_ENTERED = _when("attributes->>'Date entered current stage'")
_HS_STAGE_AT = f"coalesce({_HS_ENTERED}, created_at)"
_HS_LINKS = {"contact": "contact_id", "account": "account_id", "opportunity": "opportunity_id"}
"""Deal events name no actor: the owner can change between exports, an event cannot (and reports read
the owner from the deal)."""

_add(
    Preset(
        name="hubspot-deals",
        kind="opportunities",
        source="hubspot",
        description="HubSpot deals export (Record ID, Deal Name, Deal Stage, Amount, Close Date, Create "
        "Date, Pipeline, Deal owner, Associated Company IDs, Associated Contact IDs). Each deal writes "
        "opp_created at its create date, its current stage if open, closed_won/closed_lost if closed.",
        columns={
            "opportunity_id": "Record ID",
            "name": "Deal Name",
            "amount": "Amount",
            "close_date": "Close Date",
            "created_at": "Create Date",
            "owner_id": "Deal owner",
            "stage": "Deal Stage (id)",
            "account_id": "Associated Company IDs (first)",
            "contact_id": "Associated Contact IDs (first)",
        },
        expressions={
            "is_closed": "deal_closed",
            "is_won": "deal_won",
            "closed_at": "deal_closed_at",
            "loss_reason": "lost_reason_id",
        },
        prepare=_computed(
            _HS_DEALS_READ,
            {
                "Deal Stage (id)": _HS_STAGE,
                "deal_closed": f"CASE WHEN {_HS_STAGE} IS NOT NULL THEN {_HS_CLOSED}::VARCHAR END",
                "deal_won": f"CASE WHEN {_HS_STAGE} IS NOT NULL THEN {_HS_WON}::VARCHAR END",
                "deal_closed_at": f"CASE WHEN {_HS_CLOSED} THEN {_col('Close Date')} END",
                "lost_reason_id": _snake(_col("Closed Lost Reason")),
                "Associated Company IDs (first)": _first_id(_col("Associated Company IDs")),
                "Associated Contact IDs (first)": _first_id(_col("Associated Contact IDs")),
            },
        ),
        events=(
            _event(
                event_id=f"{_HS_DEAL} || ':created'",
                occurred_at="created_at",
                type_="'opp_created'",
                source="hubspot",
                **_HS_LINKS,
            )
            + " UNION ALL "
            + _event(
                event_id=f"{_HS_DEAL} || ':stage:' || stage || ':' || {_stamp(_HS_STAGE_AT)}",
                occurred_at=_HS_STAGE_AT,
                type_="'opp_stage_changed'",
                source="hubspot",
                properties="json_object('stage', stage)",
                where="NOT is_closed AND stage IS NOT NULL",
                **_HS_LINKS,
            )
            + " UNION ALL "
            + _event(
                event_id=f"{_HS_DEAL} || CASE WHEN is_won THEN ':won' ELSE ':lost' END",
                occurred_at="closed_at",
                type_="CASE WHEN is_won THEN 'closed_won' ELSE 'closed_lost' END",
                source="hubspot",
                properties="json_object('stage', stage)",
                where="is_closed",
                **_HS_LINKS,
            )
        ),
        notes=(
            _missing_note(("Deal Stage", "Close Date", "Associated Company IDs", "Associated Contact IDs")),
            _unknown_note("stage", HUBSPOT_DEAL_STAGES, "deal stages"),
            "SELECT count(*) || ' closed deals have no Close Date: no closed_won/closed_lost event "
            "written' FROM staged WHERE is_closed AND closed_at IS NULL HAVING count(*) > 0",
            "SELECT count(*) || ' open deals have no ''Date entered current stage'': their stage is dated "
            f"at their create date (time in stage is an upper bound)' FROM staged WHERE NOT is_closed "
            f"AND stage IS NOT NULL AND {_HS_ENTERED} IS NULL HAVING count(*) > 0",
            _several_note("Associated Company IDs", "companies", "account_id"),
            _several_note("Associated Contact IDs", "contacts", "contact_id"),
            _absent_note("account_id", "ref_accounts", "companies", "hubspot-companies"),
            _absent_note("contact_id", "ref_contacts", "contacts", "hubspot-contacts"),
        ),
    )
)
