"""Watch rules: the agreement's red flags, fired by the tick, acknowledged by their owners."""
