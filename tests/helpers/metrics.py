"""Reading a /metrics scrape the way Prometheus does (prometheus-client's own parser)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    """One scrape: its samples, and the metric families it declares (`# TYPE` lines)."""

    samples: list[tuple[str, dict[str, str], float]]
    families: dict[str, str]  # name -> type

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: list[tuple[str, dict[str, str], float]] = []
        families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            samples += [(s.name, dict(s.labels), s.value) for s in family.samples]
        return cls(samples, families)

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels` (0 if none)."""
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )

    def labels(self, name: str, label: str) -> set[str]:
        """The values `label` takes in the samples of `name`."""
        return {have[label] for sample, have, _ in self.samples if sample == name and label in have}

    def sample_names(self) -> set[str]:
        """Every name a PromQL expression may use: each family's samples (`_total`,
        `_bucket`, `_count`, `_sum`) and the families themselves."""
        names = {sample for sample, _, _ in self.samples}
        for family, kind in self.families.items():
            names |= {family, *_suffixed(family, kind)}
        return names


def _suffixed(family: str, kind: str) -> Iterable[str]:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    return (family + suffix for suffix in suffixes.get(kind, ()))


async def scrape(url: str, **kwargs: object) -> Scrape:
    """GET `url` (a /metrics endpoint) and parse it; asserts the Prometheus content type."""
    async with aiohttp.ClientSession(**kwargs) as http, http.get(url) as response:  # type: ignore[arg-type]
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return Scrape.parse(await response.text())
