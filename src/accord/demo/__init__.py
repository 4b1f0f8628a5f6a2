"""The demo world: generated B2B history for `accord demo` and the tests."""
