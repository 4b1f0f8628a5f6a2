"""The JSON API's routers, by topic; :func:`accord.api.app.create_app` mounts them under ``/api/v1``."""

from accord.api.routes import admin, alerts, events, governance, records, reports

routers = [events.router, records.router, reports.router, alerts.router, governance.router, admin.router]

__all__ = ["routers"]
