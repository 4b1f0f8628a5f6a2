"""Engagement event templates: (type, topic, properties) triples chosen by index.

Generators pick a template index per event; type, topic and properties then follow by lookup, so an
engagement event never needs a Python string built for it. Each template also carries the intent
points the starter spec would give it, which the burst simulation uses to know when the CRM's old
rules would have handed a lead to Sales.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from accord.demo.clock import I64
from accord.demo.tables import Cat, EventLog, Ids, dumps
from accord.demo.words import COMPETITORS, PAGES, TOPICS
from accord.spec.model import Spec

_DEFAULT_SIGNALS: dict[str, tuple[float, float]] = {
    "demo_request": (25, 25), "pricing_view": (10, 30), "security_review": (12, 24),
    "comparison_view": (8, 16), "webinar_attended": (6, 12), "content_download": (4, 12),
    "email_click": (2, 6), "page_view": (1, 5),
}  # fmt: skip
_TYPE_EQUALS = re.compile(r"^\s*type\s*=\s*'([a-z0-9_]+)'\s*$")


def intent_signals(spec: Spec) -> dict[str, tuple[float, float]]:
    """Points and cap per event type: the spec's simple ``type = 'x'`` signals, else defaults."""
    found: dict[str, tuple[float, float]] = {}
    for signal in spec.scoring.intent.signals:
        match = _TYPE_EQUALS.match(signal.when)
        if match:
            found[match.group(1)] = (signal.points, signal.cap or float("inf"))
    return found or dict(_DEFAULT_SIGNALS)


class Kinds:
    """All engagement templates of one world."""

    def __init__(self, spec: Spec, asset_topics: list[str], asset_urls: list[str]) -> None:
        self.types: list[str] = []
        self.topics: list[str | None] = []
        self.props: list[str] = []
        self.page: dict[str, list[int]] = {}
        for topic in TOPICS:
            self.page[topic] = [self._add("page_view", topic, {"topic": topic, "url": url})
                                for url in PAGES[topic]]  # fmt: skip
        self.pricing = self._add("pricing_view", "pricing", {"topic": "pricing", "url": "/pricing"})
        self.security = self._add("security_review", "security",
                                  {"topic": "security", "url": "/trust/security-review"})  # fmt: skip
        self.compare = [self._add("comparison_view", "product",
                                  {"topic": "product", "url": f"/compare/{c}"})
                        for c in COMPETITORS]  # fmt: skip
        self.demo = self._add("demo_request", "product",
                              {"topic": "product", "url": "/demo", "form": "demo_request"})  # fmt: skip
        self.contact_form = self._add("form_submit", None, {"form": "contact_sales", "url": "/contact"})
        self.newsletter = self._add("form_submit", None, {"form": "newsletter", "url": "/blog"})
        self.download = np.array([self._add("content_download", t, {"topic": t, "url": u})
                                  for t, u in zip(asset_topics, asset_urls, strict=True)])  # fmt: skip
        signals = intent_signals(spec)
        self.points = np.array([signals.get(t, (0.0, 0.0))[0] for t in self.types])
        self.caps = np.array([signals.get(t, (0.0, 0.0))[1] for t in self.types])

    def _add(self, type_: str, topic: str | None, props: dict[str, str]) -> int:
        self.types.append(type_)
        self.topics.append(topic)
        self.props.append(dumps(props))
        return len(self.types) - 1

    def pages(self, topic: npt.NDArray[np.intp], u: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """A page of each topic (``u`` uniform in [0, 1) picks which)."""
        first = np.array([self.page[t][0] for t in TOPICS])
        count = np.array([len(self.page[t]) for t in TOPICS])
        chosen: npt.NDArray[np.intp] = (first[topic] + (u * count[topic])).astype(np.intp)
        return chosen

    def emit(
        self,
        log: EventLog,
        at: I64,
        kind: npt.NDArray[np.intp],
        *,
        contact: Ids = None,
        account: Ids = None,
        campaign: Ids = None,
        content: Ids = None,
    ) -> None:
        log.add(at, Cat(self.types, kind), contact=contact, account=account, campaign=campaign,
                content=content, topic=Cat(self.topics, kind), props=Cat(self.props, kind))  # fmt: skip
