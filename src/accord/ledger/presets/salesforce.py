"""Salesforce exports by API name: Lead, Opportunity, OpportunityHistory and Task."""

from __future__ import annotations

from accord.ledger.presets.base import INDUSTRIES, Preset, _add, _event  # noqa: F401
from accord.ledger.presets.crm_common import (
    SALESFORCE_PREFIXES,
    SALESFORCE_STAGES,
    _absent_note,
    _blank,
    _col,
    _computed,
    _missing_note,
    _snake,
    _stamp,
    _text,
    _unknown_note,
    _when,
    _yes,
)

# ---- Salesforce ----

_SF_CONVERTED = _yes("attributes->>'IsConverted'")
_SF_CONVERTED_AT = _when("attributes->>'ConvertedDate'")
_SF_CONVERTED_OPP = _blank("attributes->>'ConvertedOpportunityId'")

_add(
    Preset(
        name="salesforce-leads",
        kind="contacts",
        source="salesforce",
        description="Salesforce Lead export (Id, Email, FirstName, LastName, Title, Company, LeadSource, "
        "Status, OwnerId, CreatedDate, IsConverted, ConvertedDate, ConvertedAccountId, ConvertedContactId, "
        "ConvertedOpportunityId). A converted lead writes an accepted event at its ConvertedDate.",
        columns={
            "contact_id": "Id",
            "email": "Email",
            "first_name": "FirstName",
            "last_name": "LastName",
            "title": "Title",
            "owner_id": "OwnerId",
            "created_at": "CreatedDate",
            "account_id": "ConvertedAccountId",
            "lead_source": "LeadSource (id)",
        },
        prepare=_computed(("LeadSource",), {"LeadSource (id)": _snake(_col("LeadSource"))}),
        events=_event(
            event_id="'salesforce:' || contact_id || ':converted'",
            occurred_at=_SF_CONVERTED_AT,
            type_="'accepted'",
            source="salesforce",
            contact="contact_id",
            account="account_id",
            opportunity=_SF_CONVERTED_OPP,
            actor="owner_id",
            properties="json_object('converted_contact_id', "
            + _blank("attributes->>'ConvertedContactId'")
            + f", 'converted_opportunity_id', {_SF_CONVERTED_OPP})",
            where=_SF_CONVERTED,
        ),
        notes=(
            _missing_note(("LeadSource",)),
            "SELECT count(*) || ' converted leads (IsConverted) became accepted events: lead conversion is "
            "the moment Sales took the lead; the lead Id stays the contact id' FROM staged WHERE "
            f"{_SF_CONVERTED} AND {_SF_CONVERTED_AT} IS NOT NULL HAVING count(*) > 0",
            "SELECT count(*) || ' converted leads have no ConvertedDate that reads as a date (ISO 8601 or "
            "month-first): no accepted event written for them' FROM staged WHERE "
            f"{_SF_CONVERTED} AND {_SF_CONVERTED_AT} IS NULL HAVING count(*) > 0",
        ),
    )
)

_SF_OPPS_READ = ("StageName", "IsClosed", "IsWon", "CloseDate", "LeadSource")
_SF_STAGE = _snake(_col("StageName"))
_SF_CLOSED = (
    f"CASE WHEN {_yes(_col('IsClosed'))} THEN true WHEN lower(trim({_col('IsClosed')})) IN ('false', '0', "
    f"'no') THEN false WHEN {_SF_STAGE} IS NOT NULL THEN {_SF_STAGE} IN ('closed_won', 'closed_lost') END"
)
_SF_WON = (
    f"CASE WHEN {_yes(_col('IsWon'))} THEN true WHEN lower(trim({_col('IsWon')})) IN ('false', '0', 'no') "
    f"THEN false WHEN {_SF_STAGE} IS NOT NULL THEN {_SF_STAGE} = 'closed_won' END"
)
_SF_OPP = "'salesforce:' || opportunity_id"
_SF_STAGE_AT = _when("attributes->>'LastStageChangeDate'")
_SF_LINKS = {"account": "account_id", "opportunity": "opportunity_id"}

_add(
    Preset(
        name="salesforce-opportunities",
        kind="opportunities",
        source="salesforce",
        description="Salesforce Opportunity export (Id, AccountId, Name, StageName, Amount, CloseDate, "
        "IsClosed, IsWon, OwnerId, CreatedDate, LeadSource, NextStep, Type, Probability). Each writes "
        "opp_created, closed_won/closed_lost when closed, and its stage at LastStageChangeDate if given.",
        columns={
            "opportunity_id": "Id",
            "account_id": "AccountId",
            "name": "Name",
            "amount": "Amount",
            "close_date": "CloseDate",
            "owner_id": "OwnerId",
            "created_at": "CreatedDate",
            "next_action": "NextStep",
            "stage": "StageName (id)",
            "lead_source": "LeadSource (id)",
        },
        expressions={"is_closed": "opp_closed", "is_won": "opp_won", "closed_at": "opp_closed_at"},
        prepare=_computed(
            _SF_OPPS_READ,
            {
                "StageName (id)": _SF_STAGE,
                "opp_closed": f"({_SF_CLOSED})::VARCHAR",
                "opp_won": f"({_SF_WON})::VARCHAR",
                "opp_closed_at": f"CASE WHEN {_SF_CLOSED} THEN {_col('CloseDate')} END",
                "LeadSource (id)": _snake(_col("LeadSource")),
            },
        ),
        events=(
            _event(
                event_id=f"{_SF_OPP} || ':created'",
                occurred_at="created_at",
                type_="'opp_created'",
                source="salesforce",
                actor=_blank("attributes->>'CreatedById'"),
                **_SF_LINKS,
            )
            + " UNION ALL "
            + _event(
                event_id=f"{_SF_OPP} || ':stage:' || stage || ':' || {_stamp(_SF_STAGE_AT)}",
                occurred_at=_SF_STAGE_AT,
                type_="'opp_stage_changed'",
                source="salesforce",
                properties="json_object('stage', stage)",
                where="NOT is_closed AND stage IS NOT NULL",
                **_SF_LINKS,
            )
            + " UNION ALL "
            + _event(
                event_id=f"{_SF_OPP} || CASE WHEN is_won THEN ':won' ELSE ':lost' END",
                occurred_at="closed_at",
                type_="CASE WHEN is_won THEN 'closed_won' ELSE 'closed_lost' END",
                source="salesforce",
                properties="json_object('stage', stage)",
                where="is_closed",
                **_SF_LINKS,
            )
        ),
        notes=(
            _missing_note(("StageName", "CloseDate", "LeadSource")),
            _unknown_note("stage", SALESFORCE_STAGES, "stages"),
            "SELECT count(*) || ' closed opportunities have no CloseDate: no closed_won/closed_lost event "
            "written' FROM staged WHERE is_closed AND closed_at IS NULL HAVING count(*) > 0",
            "SELECT count(*) || ' open opportunities have no LastStageChangeDate: their stage dates come "
            "from the stage history (import salesforce-opportunity-history)' FROM staged WHERE NOT "
            f"is_closed AND {_SF_STAGE_AT} IS NULL HAVING count(*) > 0",
            _absent_note("account_id", "ref_accounts", "accounts", "your Account export"),
        ),
    )
)

_SF_HISTORY_READ = ("Id", "StageName")

_add(
    Preset(
        name="salesforce-opportunity-history",
        kind="events",
        source="salesforce",
        description="Salesforce OpportunityHistory export (Id, OpportunityId, StageName, Amount, CloseDate, "
        "CreatedDate, CreatedById, Probability). Each row is an opp_stage_changed event carrying the stage "
        "and amount it recorded; a row that repeats the stage before it moves nothing.",
        columns={
            "event_id": "Id (event)",
            "occurred_at": "CreatedDate",
            "opportunity_id": "OpportunityId",
            "actor_id": "CreatedById",
            "properties.stage": "StageName (id)",
            "properties.amount": "Amount",
        },
        expressions={"type": "'opp_stage_changed'"},
        prepare=_computed(
            _SF_HISTORY_READ,
            {
                "Id (event)": f"'salesforce:' || {_blank(_col('Id'))}",
                "StageName (id)": _snake(_col("StageName")),
            },
        ),
        notes=(
            _missing_note(("Id", "StageName")),
            _unknown_note("properties->>'stage'", SALESFORCE_STAGES, "stages"),
            "SELECT count(*) || ' rows have no StageName: stored, but they move no stage' FROM staged "
            "WHERE properties->>'stage' IS NULL HAVING count(*) > 0",
            "SELECT count(*) || ' rows keep the stage of the row before them (an amount, date or "
            "probability change): stored, they move no stage' FROM (SELECT properties->>'stage' AS stage, "
            "lag(properties->>'stage') OVER (PARTITION BY opportunity_id ORDER BY occurred_at, _row) "
            "AS before FROM staged) WHERE stage = before HAVING count(*) > 0",
        ),
    )
)

_SF_TASKS_READ = ("Id", "TaskSubtype", "Type", "Subject", "Status", "IsClosed", "WhatId", "AccountId",
                  "CompletedDateTime", "CreatedDate")  # fmt: skip
_SUBJECT = f"lower(coalesce({_col('Subject')}, ''))"
_DONE = f"(lower(trim(coalesce({_col('Status')}, ''))) = 'completed' OR {_yes(_col('IsClosed'))})"
_ACTIVITY = f"""CASE
    WHEN NOT {_DONE} THEN 'task'
    WHEN lower({_col("TaskSubtype")}) = 'call' OR lower({_col("Type")}) = 'call' THEN 'call_attempt'
    WHEN lower({_col("TaskSubtype")}) IN ('email', 'listemail') OR lower({_col("Type")}) = 'email'
         OR starts_with({_SUBJECT}, 'email:') THEN 'email_sent'
    WHEN lower({_col("Type")}) = 'meeting' OR regexp_matches({_SUBJECT}, '\\b(meeting|demo)\\b')
         THEN 'meeting_booked'
    WHEN regexp_matches({_SUBJECT}, '\\bcall\\b') THEN 'call_attempt'
    ELSE 'task' END"""
_PREFIX = {kind: prefix for prefix, kind in SALESFORCE_PREFIXES.items()}
_WHAT = (_PREFIX["account"], _PREFIX["opportunity"], _PREFIX["campaign"])


def _what(prefix: str) -> str:
    return f"CASE WHEN starts_with(trim({_col('WhatId')}), '{prefix}') THEN trim({_col('WhatId')}) END"


_add(
    Preset(
        name="salesforce-tasks",
        kind="events",
        source="salesforce",
        description="Salesforce Task export (Id, WhoId, WhatId, OwnerId, Subject, Type, TaskSubtype, "
        "ActivityDate, CreatedDate, Status). Completed calls, emails and meetings become call_attempt, "
        "email_sent and meeting_booked by the task's owner; other tasks are stored as type 'task'.",
        columns={"event_id": "Id (event)", "type": "Activity", "contact_id": "WhoId", "actor_id": "OwnerId"},
        expressions={
            "occurred_at": "done_or_created",
            "opportunity_id": "what_opportunity",
            "account_id": "what_account",
            "campaign_id": "what_campaign",
        },
        prepare=_computed(
            _SF_TASKS_READ,
            {
                "Id (event)": f"'salesforce:' || {_blank(_col('Id'))}",
                "Activity": _ACTIVITY,
                "done_or_created": f"coalesce({_blank(_col('CompletedDateTime'))}, {_col('CreatedDate')})",
                "what_opportunity": _what(_PREFIX["opportunity"]),
                "what_account": f"coalesce({_blank(_col('AccountId'))}, {_what(_PREFIX['account'])})",
                "what_campaign": _what(_PREFIX["campaign"]),
            },
        ),
        notes=(
            _missing_note(("Id", "Subject", "Status", "WhatId", "CreatedDate")),
            "SELECT count(*) || ' tasks are not completed calls, emails or meetings (open tasks, other "
            "to-dos): stored as type ''task'', which no touch rule counts' FROM staged WHERE type = 'task' "
            "HAVING count(*) > 0",
            "SELECT count(*) || ' tasks point (WhatId) at records other than accounts, opportunities and "
            "campaigns: the id is kept in properties only' FROM staged WHERE NULLIF(trim(properties->>"
            "'WhatId'), '') IS NOT NULL AND NOT list_contains(["
            + ", ".join(_text(p) for p in _WHAT)
            + "], left(trim(properties->>'WhatId'), 3)) HAVING count(*) > 0",
        ),
    )
)
