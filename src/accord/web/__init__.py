"""The revenue dashboard: server-rendered pages over the service layer, one of Accord's three adapters.

Pages are Jinja2 templates with our own stylesheet and inline SVG charts drawn in Python
(:mod:`accord.web.charts`); no script is needed to read them, and they print. The routes
(:mod:`accord.web.routes`) are mounted by :func:`accord.api.app.create_app` next to the JSON API and
share its key-based sign-in, clock and permission matrix.
"""
