"""Presets for the two public data sets in ../shared/data: Olist's marketing funnel and Maven's CRM sample."""

from __future__ import annotations

from accord.ledger.presets.base import INDUSTRIES, Preset, _add, _event

_STOCK = ("CASE trim(average_stock) WHEN '01-May' THEN '1-5' WHEN 'May-20' THEN '5-20' "
          "ELSE average_stock END")  # fmt: skip

_add(
    Preset(
        name="olist-mqls",
        kind="contacts",
        source="olist",
        description="Olist marketing funnel: marketing-qualified leads (mql_id, first_contact_date, "
        "landing_page_id, origin). Each lead becomes a contact and a form_submit event.",
        columns={"contact_id": "mql_id", "created_at": "first_contact_date", "lead_source": "origin"},
        events=_event(
            event_id="'olist:mql:' || contact_id",
            occurred_at="created_at",
            type_="'form_submit'",
            source="olist",
            contact="contact_id",
            properties=(
                "json_object('landing_page_id', attributes->>'landing_page_id', 'channel', lead_source)"
            ),
        ),
        notes=(
            "SELECT count(*) || ' leads have origin ''unknown'' (kept as written)' FROM raw "
            "WHERE origin = 'unknown' HAVING count(*) > 0",
        ),
    )
)

_add(
    Preset(
        name="olist-closed-deals",
        kind="opportunities",
        source="olist",
        description="Olist marketing funnel: closed deals (mql_id, seller_id, sdr_id, sr_id, won_date, "
        "segment and profile columns). Each becomes a won opportunity of its lead and a "
        "closed_won event by the sales rep.",
        columns={
            "opportunity_id": "mql_id",
            "contact_id": "mql_id",
            "owner_id": "sr_id",
            "closed_at": "won_date",
        },
        expressions={"stage": "'won'", "is_closed": "'true'", "is_won": "'true'", "close_date": "won_date"},
        prepare=f"SELECT * REPLACE ({_STOCK} AS average_stock) FROM raw_file",
        handled=("average_stock",),
        events=_event(
            event_id="'olist:won:' || opportunity_id",
            occurred_at="closed_at",
            type_="'closed_won'",
            source="olist",
            contact="contact_id",
            opportunity="opportunity_id",
            actor="owner_id",
            properties="json_object('sdr_id', attributes->>'sdr_id', 'stage', 'won')",
        ),
        notes=(
            "SELECT 'average_stock: ' || count(*) || ' values a spreadsheet had turned into dates were "
            "restored (''01-May'' -> ''1-5'', ''May-20'' -> ''5-20'')' FROM raw_file "
            "WHERE trim(average_stock) IN ('01-May', 'May-20') HAVING count(*) > 0",
            "SELECT 'the file has no deal amount: amount left empty (declared_monthly_revenue is the "
            "seller''s revenue and is kept in attributes)'",
            "SELECT count(*) || ' deals name a lead (mql_id) the ledger does not hold yet; import "
            "olist-mqls first to link them' FROM staged s WHERE NOT EXISTS "
            "(SELECT 1 FROM ref_contacts c WHERE c.contact_id = s.contact_id) HAVING count(*) > 0",
        ),
    )
)

_add(
    Preset(
        name="maven-accounts",
        kind="accounts",
        source="maven",
        description="Maven CRM sample: accounts (account, sector, year_established, revenue in "
        "millions, employees, office_location, subsidiary_of).",
        columns={
            "account_id": "account",
            "name": "account",
            "industry": "sector",
            "employees": "employees",
            "country": "office_location",
            "parent_account_id": "subsidiary_of",
        },
        expressions={
            "annual_revenue": (
                "CASE WHEN NULLIF(trim(revenue), '') IS NULL THEN NULL "
                "ELSE coalesce((TRY_CAST(revenue AS DOUBLE) * 1000000)::VARCHAR, revenue) END"
            )
        },
        notes=(
            "SELECT 'revenue is in millions (per the data dictionary): stored x 1,000,000 as annual_revenue'",
            "SELECT 'sector ''' || sector || ''' (' || n || ' rows) looks misspelt, perhaps ''' || best "
            "|| '''; kept as written' FROM (SELECT sector, count(DISTINCT _row) AS n, "
            "arg_min(w, levenshtein(sector, w)) "
            "AS best, min(levenshtein(sector, w)) AS d FROM raw, (SELECT unnest(["
            + ", ".join(f"'{i}'" for i in INDUSTRIES)
            + "]) AS w) GROUP BY sector) WHERE d BETWEEN 1 AND 2",
            "SELECT count(*) || ' accounts name a parent (subsidiary_of) that is not in the file' FROM raw r "
            "WHERE subsidiary_of IS NOT NULL AND subsidiary_of NOT IN (SELECT account FROM raw) "
            "HAVING count(*) > 0",
        ),
    )
)

_add(
    Preset(
        name="maven-products",
        kind="products",
        source="maven",
        description="Maven CRM sample: products (product, series, sales_price).",
        columns={"product_id": "product", "name": "product", "family": "series", "list_price": "sales_price"},
    )
)

_add(
    Preset(
        name="maven-teams",
        kind="users",
        source="maven",
        description="Maven CRM sample: sales_teams (sales_agent, manager, regional_office). Agents "
        "become users reporting to their manager; managers become users too.",
        prepare=(
            "SELECT _row, sales_agent, manager, regional_office, 'ae' AS role FROM raw_file "
            "UNION ALL SELECT min(_row), manager, NULL, any_value(regional_office), 'sales_manager' "
            "FROM raw_file WHERE manager IS NOT NULL GROUP BY manager"
        ),
        columns={"user_id": "sales_agent", "name": "sales_agent", "manager_id": "manager", "role": "role"},
        expressions={"team_id": "lower(regional_office)", "active": "'true'"},
        notes=(
            "SELECT count(DISTINCT manager) || ' managers appear only in the manager column: added as "
            "users with role sales_manager' FROM raw_file HAVING count(DISTINCT manager) > 0",
        ),
    )
)

_PRODUCT_MATCH = (
    "coalesce((SELECT any_value(p.product_id) FROM ref_products p WHERE "
    "lower(replace(p.product_id, ' ', '')) = lower(replace(raw.product, ' ', ''))), "
    "NULLIF(trim(raw.product), ''))"
)

_add(
    Preset(
        name="maven-pipeline",
        kind="opportunities",
        source="maven",
        description="Maven CRM sample: sales_pipeline (opportunity_id, sales_agent, product, account, "
        "deal_stage, engage_date, close_date, close_value). Deals become opportunities; "
        "engage_date an opp_created event, close_date a closed_won or closed_lost event.",
        columns={
            "opportunity_id": "opportunity_id",
            "owner_id": "sales_agent",
            "account_id": "account",
            "created_at": "engage_date",
            "close_date": "close_date",
            "amount": "close_value",
        },
        expressions={
            "stage": "lower(deal_stage)",
            "closed_at": "close_date",
            "is_closed": "CASE WHEN deal_stage IN ('Won', 'Lost') THEN 'true' ELSE 'false' END",
            "is_won": "CASE WHEN deal_stage = 'Won' THEN 'true' ELSE 'false' END",
            "product": _PRODUCT_MATCH,
        },
        events=(
            _event(
                event_id="'maven:created:' || opportunity_id",
                occurred_at="created_at",
                type_="'opp_created'",
                source="maven",
                account="account_id",
                opportunity="opportunity_id",
                actor="owner_id",
                properties="json_object('stage', 'engaging', 'product', product)",
                where="created_at IS NOT NULL",
            )
            + " UNION ALL "
            + _event(
                event_id="'maven:closed:' || opportunity_id",
                occurred_at="closed_at",
                type_="CASE WHEN is_won THEN 'closed_won' ELSE 'closed_lost' END",
                source="maven",
                account="account_id",
                opportunity="opportunity_id",
                actor="owner_id",
                properties="json_object('amount', amount, 'stage', stage)",
                where="closed_at IS NOT NULL",
            )
        ),
        notes=(
            "SELECT 'product ''' || raw.product || ''' (' || count(*) || ' rows) is not in products; "
            "matched to ''' || any_value(p.product_id) || ''' ignoring spaces and case' FROM raw "
            "JOIN ref_products p "
            "ON lower(replace(p.product_id, ' ', '')) = lower(replace(raw.product, ' ', '')) "
            "WHERE p.product_id <> raw.product GROUP BY raw.product",
            "SELECT 'product ''' || product || ''' (' || count(*) || ' rows) matches no product; kept as "
            "written' FROM raw WHERE (SELECT count(*) FROM ref_products) > 0 AND NOT EXISTS (SELECT 1 FROM "
            "ref_products p WHERE "
            "lower(replace(p.product_id, ' ', '')) = lower(replace(raw.product, ' ', ''))) "
            "GROUP BY product",
            "SELECT 'products are not in the ledger yet: product names were not checked (import "
            "maven-products first)' WHERE (SELECT count(*) FROM ref_products) = 0",
            "SELECT count(*) || ' ' || deal_stage || ' deals have no engage_date: created_at left empty and "
            "no opp_created event written' FROM raw WHERE NULLIF(trim(engage_date), '') IS NULL "
            "GROUP BY deal_stage",
            "SELECT count(*) || ' open deals (' || string_agg(DISTINCT deal_stage, ', ') || ') have no "
            "close_date or close_value yet' FROM raw WHERE deal_stage NOT IN ('Won', 'Lost') "
            "HAVING count(*) > 0",
            "SELECT count(DISTINCT account_id) || ' accounts named by deals are not in the ledger (import "
            "maven-accounts first)' FROM staged WHERE account_id IS NOT NULL AND account_id NOT IN "
            "(SELECT account_id FROM ref_accounts) HAVING count(*) > 0",
            "SELECT count(DISTINCT owner_id) || ' sales agents are not users in the ledger (import "
            "maven-teams first)' FROM staged WHERE owner_id NOT IN (SELECT user_id FROM ref_users) "
            "HAVING count(*) > 0",
        ),
    )
)
