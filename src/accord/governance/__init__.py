"""Governed change: every version of the agreement kept, proposals backtested, owners' sign-off.

The agreement in force is still the workspace's accord.yaml; this package gives it a history. The
ledger records every text it has seen or been proposed (``spec_versions``), each proposal with its
semantic diff and backtest (``proposals``), and every step as a governance event (proposed,
approved, rejected, activated), so the change log can always say what changed, why, who agreed, and
whether the backtest's forecast came true. See docs/governance.md.
"""
