"""Metrics both teams trust, each defined once (funnel, SLA, tiers, attribution, coverage, content)."""
