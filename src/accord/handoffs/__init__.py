"""Handoffs as use cases: routing, SLA clocks and their notifications, dispositions, the SLA report.

They compose the ledger, the pure domain logic (routing, clocks, business time) and the engine's
derived state; the service layer is their only caller.
"""
