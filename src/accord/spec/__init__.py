"""The agreement as a typed, validated spec, and the rule language it is written in."""
