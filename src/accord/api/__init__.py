"""Accord as a service: the REST API, API keys with roles, and the dashboard's server."""
