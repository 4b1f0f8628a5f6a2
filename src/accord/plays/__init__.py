"""Plays at work: enrolment and step tracking in the tick, the handoff context a rep reads."""
