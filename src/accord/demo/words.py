"""Vocabulary of the demo world: names, industries, titles, pages.

Kept apart from the generators so the simulation code reads as behaviour, and so a translator or a
vertical-specific demo can swap the words without touching the numbers.
"""

from __future__ import annotations

NAME_HEADS: tuple[str, ...] = (
    "Blue", "North", "Silver", "Iron", "Red", "Cedar", "Summit", "Bright", "Harbor", "Granite",
    "Maple", "Stone", "Clear", "Swift", "Golden", "Pine", "River", "Ocean", "Prairie", "Atlas",
    "Beacon", "Copper", "Delta", "Eagle", "Falcon", "Glacier", "Hollow", "Juniper", "Keystone",
    "Lakeside", "Meridian", "Nova", "Orchard", "Pioneer", "Quarry", "Redwood", "Sierra", "Tidal",
    "Union", "Vantage", "Willow", "Zenith", "Aspen", "Birch", "Crescent", "Dune", "Ember", "Fern",
    "Grove", "Highland", "Indigo", "Jade", "Kestrel", "Lumen", "Mosaic", "Nimbus", "Onyx", "Polar",
    "Quartz", "Ridge", "Sable", "Terra", "Umber", "Vertex", "West", "Yarrow", "Apex", "Bay",
    "Cobalt", "Drift", "East", "Flint", "Gale", "Heron", "Isle", "Lark", "Mesa", "Oak", "Peak",
)  # fmt: skip
NAME_TAILS: tuple[str, ...] = (
    "field", "stone", "bridge", "point", "gate", "works", "line", "path", "forge", "light",
    "wave", "crest", "vale", "rock", "port", "mark", "wood", "brook", "haven", "star", "view",
    "spring", "ridge", "shore", "land", "peak", "hill", "bay", "lake", "mill", "ford", "wind",
    "leaf", "root", "well", "dale", "moor", "grid", "loop", "stack", "signal", "core", "scale",
    "beam", "cloud", "sphere", "logic", "metric", "vector", "pulse", "shift", "tree", "flow",
    "frame", "trail", "nest", "arc", "key", "stream", "yard",
)  # fmt: skip
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    "software": ("Software", "Labs", "Technologies", "Systems", "Cloud"),
    "financial_services": ("Capital", "Financial", "Bank", "Partners", "Insurance"),
    "healthcare": ("Health", "Medical", "Care", "Clinics", "Biosciences"),
    "manufacturing": ("Industries", "Manufacturing", "Components", "Machines", "Materials"),
    "retail": ("Retail", "Stores", "Brands", "Goods", "Market"),
    "education": ("University", "Learning", "Academy", "Schools", "Education"),
    "media": ("Media", "Studios", "Publishing", "Network", "Entertainment"),
    "logistics": ("Logistics", "Freight", "Shipping", "Transport", "Supply"),
    "energy": ("Energy", "Power", "Utilities", "Renewables", "Resources"),
    "public_sector": ("Agency", "Authority", "Council", "Services", "Institute"),
}

INDUSTRIES: dict[str, float] = {
    "software": 0.21, "financial_services": 0.13, "healthcare": 0.12, "manufacturing": 0.13,
    "retail": 0.10, "education": 0.08, "media": 0.07, "logistics": 0.08, "energy": 0.05,
    "public_sector": 0.03,
}  # fmt: skip
TARGET_INDUSTRIES = frozenset({"software", "financial_services", "healthcare", "manufacturing"})

# country -> (weight, region, time zones contacts there work in)
COUNTRIES: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "US": (0.50, "na", ("America/New_York", "America/Chicago", "America/Denver",
                        "America/Los_Angeles")),
    "GB": (0.10, "emea", ("Europe/London",)),
    "DE": (0.07, "emea", ("Europe/Berlin",)),
    "CA": (0.06, "na", ("America/Toronto", "America/Vancouver")),
    "FR": (0.05, "emea", ("Europe/Paris",)),
    "NL": (0.04, "emea", ("Europe/Amsterdam",)),
    "IE": (0.02, "emea", ("Europe/Dublin",)),
    "AU": (0.04, "apac", ("Australia/Sydney",)),
    "BR": (0.03, "latam", ("America/Sao_Paulo",)),
    "IN": (0.03, "apac", ("Asia/Kolkata",)),
    "SG": (0.02, "apac", ("Asia/Singapore",)),
    "MX": (0.02, "latam", ("America/Mexico_City",)),
    "ES": (0.02, "emea", ("Europe/Madrid",)),
}  # fmt: skip
SERVED_COUNTRIES = frozenset({"US", "CA", "GB", "IE", "DE", "NL"})
US_ZONE_WEIGHTS = (0.5, 0.25, 0.07, 0.18)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
    "Steven", "Ashley", "Paul", "Emily", "Andrew", "Michelle", "Joshua", "Amanda", "Kevin",
    "Melissa", "Brian", "Stephanie", "Aisha", "Wei", "Priyanka", "Mateo", "Sofia", "Lukas", "Emma",
    "Noah", "Olivia", "Liam", "Chloe", "Hiroshi", "Yuki", "Fatima", "Omar", "Ingrid", "Sven",
    "Camille", "Julien", "Aoife", "Sean", "Rahul", "Ananya", "Carlos", "Lucia", "Diego", "Mei",
    "Jin", "Nadia", "Tariq", "Elena", "Marco", "Giulia", "Pieter", "Sanne", "Freya", "Oscar",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell",
    "Mitchell", "Roberts", "Chen", "Wang", "Patel", "Shah", "Kim", "Nguyen", "Tanaka", "Sato",
    "Schmidt", "Muller", "Fischer", "Weber", "Dubois", "Laurent", "Bernard", "Rossi", "Bianchi",
    "Silva", "Santos", "Costa", "Murphy", "Kelly", "OBrien", "Byrne", "Jansen", "DeVries", "Bakker",
    "Larsen", "Nielsen", "Novak", "Kowalski", "Ivanova", "Haddad", "Khan", "Ali", "Singh", "Gupta",
)  # fmt: skip

SENIORITIES: dict[str, float] = {
    "c_level": 0.05, "vp": 0.11, "director": 0.19, "manager": 0.28, "individual": 0.37,
}  # fmt: skip
SENIORITY_EFFECT: dict[str, float] = {
    "c_level": 0.15, "vp": 0.35, "director": 0.45, "manager": 0.15, "individual": -0.25,
}  # fmt: skip

# department -> (weight, label, chief title, individual-contributor titles, preferred roles)
DEPARTMENTS: dict[str, tuple[float, str, str, tuple[str, ...], tuple[str, str]]] = {
    "engineering": (0.17, "Engineering", "Chief Technology Officer",
                    ("Software Engineer", "Senior Software Engineer", "Platform Engineer"),
                    ("technical_evaluator", "technical_evaluator")),
    "it": (0.11, "IT", "Chief Information Officer", ("Systems Administrator", "IT Specialist"),
           ("technical_evaluator", "end_user")),
    "security": (0.07, "Security", "Chief Information Security Officer",
                 ("Security Engineer", "Security Analyst"),
                 ("security_reviewer", "security_reviewer")),
    "data": (0.12, "Data & Analytics", "Chief Data Officer",
             ("Data Analyst", "Data Engineer", "Analytics Engineer"), ("champion", "end_user")),
    "finance": (0.10, "Finance", "Chief Financial Officer", ("Financial Analyst", "Controller"),
                ("economic_buyer", "end_user")),
    "operations": (0.12, "Operations", "Chief Operating Officer",
                   ("Operations Analyst", "Business Analyst"), ("economic_buyer", "end_user")),
    "marketing": (0.09, "Marketing", "Chief Marketing Officer",
                  ("Marketing Specialist", "Marketing Analyst"), ("champion", "end_user")),
    "sales": (0.08, "Sales", "Chief Revenue Officer",
              ("Account Executive", "Sales Operations Analyst"), ("champion", "end_user")),
    "product": (0.08, "Product", "Chief Product Officer", ("Product Manager", "Product Analyst"),
                ("champion", "end_user")),
    "procurement": (0.06, "Procurement", "Chief Procurement Officer",
                    ("Buyer", "Procurement Specialist"), ("procurement", "procurement")),
}  # fmt: skip
ROLE_EFFECT: dict[str, float] = {
    "champion": 0.45, "technical_evaluator": 0.3, "economic_buyer": 0.2,
    "security_reviewer": 0.1, "end_user": 0.0, "procurement": -0.1,
}  # fmt: skip
FIT_ROLES = frozenset({"economic_buyer", "technical_evaluator", "champion"})

LEAD_SOURCES: dict[str, float] = {
    "organic_search": 0.28, "paid_search": 0.17, "webinar": 0.10, "event": 0.08,
    "referral": 0.07, "outbound": 0.18, "content_syndication": 0.12,
}  # fmt: skip

TOPICS: tuple[str, ...] = (
    "solutions", "pricing", "security", "integrations", "product", "customers", "careers", "blog",
)  # fmt: skip
PAGES: dict[str, tuple[str, ...]] = {
    "solutions": ("/solutions/revenue-analytics", "/solutions/financial-services",
                  "/solutions/healthcare", "/solutions/manufacturing"),
    "pricing": ("/pricing/faq", "/pricing/calculator"),
    "security": ("/security", "/security/compliance", "/trust"),
    "integrations": ("/integrations", "/integrations/salesforce", "/integrations/snowflake",
                     "/integrations/hubspot"),
    "product": ("/product", "/product/dashboards", "/product/forecasting", "/product/alerts"),
    "customers": ("/customers", "/customers/stories", "/customers/reviews"),
    "careers": ("/careers", "/careers/engineering"),
    "blog": ("/blog/pipeline-hygiene", "/blog/lead-scoring-myths", "/blog/forecasting-101",
             "/blog/sla-between-teams", "/blog/data-quality", "/blog/attribution-done-right"),
}  # fmt: skip
# topic weights for someone who is just reading vs someone who is evaluating
BROWSE_MIX: tuple[float, ...] = (0.12, 0.02, 0.05, 0.05, 0.12, 0.07, 0.12, 0.45)
BUY_MIX: tuple[float, ...] = (0.25, 0.04, 0.12, 0.15, 0.22, 0.12, 0.0, 0.10)
COMPETITORS: tuple[str, ...] = ("datapeak", "metricly", "revlens")

NEXT_ACTIONS: tuple[str, ...] = (
    "Schedule technical deep dive", "Send security questionnaire", "Confirm budget with CFO",
    "Share case study", "Run proof of concept", "Send proposal", "Negotiate terms",
    "Legal review of MSA", "Align on success criteria", "Intro to economic buyer",
    "Procurement onboarding", "Executive sponsor call",
)  # fmt: skip

CAMPAIGN_PLAN: tuple[tuple[str, str, str, int, int, str], ...] = (
    # (id, name, channel, start month offset, length in days, topic)
    ("always_on_nurture", "Always-on nurture emails", "email", 0, 365, "product"),
    ("paid_search_core", "Paid search: revenue analytics", "paid_search", 0, 365, "solutions"),
    ("webinar_forecasting", "Webinar: Forecasting without spreadsheets", "webinar", 2, 45,
     "product"),
    ("syndication_whitepaper", "Content syndication: the pipeline whitepaper",
     "content_syndication", 3, 90, "solutions"),
    ("trade_show_revops", "RevOps Summit booth", "event", 5, 30, "customers"),
    ("webinar_security", "Webinar: Analytics your CISO will sign off", "webinar", 7, 40,
     "security"),
    ("sdr_outbound_fintech", "SDR outbound: fintech", "sdr_outreach", 8, 75, "solutions"),
)  # fmt: skip
CHANNELS: tuple[str, ...] = (
    "webinar", "paid_search", "email", "event", "content_syndication", "sdr_outreach",
)  # fmt: skip

# product id suffix, name suffix, family, list price
PRODUCTS: tuple[tuple[str, str, str, float], ...] = (
    ("core", "Core", "platform", 24000.0),
    ("enterprise", "Enterprise", "platform", 90000.0),
    ("security", "Security Pack", "add_on", 12000.0),
    ("integrations", "Integrations Hub", "add_on", 9000.0),
    ("services", "Onboarding Services", "services", 15000.0),
)
CONTENT_FORMATS: dict[str, tuple[str, ...]] = {
    # journey-stage position (0 = first) -> formats that fit there
    "early": ("whitepaper", "case_study", "email_template"),
    "middle": ("case_study", "deck", "security_faq", "whitepaper"),
    "handoff": ("talk_track", "email_template", "deck"),
    "deal": ("deck", "security_faq", "case_study", "talk_track"),
    "late": ("deck", "talk_track", "case_study"),
}
FORMAT_TITLES: dict[str, str] = {
    "deck": "{Topic} pitch deck for the {role}",
    "case_study": "Case study: {topic} at a {industry} company",
    "talk_track": "Talk track: {topic} objections from the {role}",
    "whitepaper": "Whitepaper: the {topic} playbook",
    "email_template": "Email template: {topic} follow-up for the {role}",
    "security_faq": "Security FAQ for the {role}",
}
