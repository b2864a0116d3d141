"""Every model setting and every drift metric, defined once.

A model's settings (``PUT /v1/models/{model}/settings``, stored in ``models.settings``) and the
drift metrics whose effect sizes the verdicts judge are registered here, with their type, range or
choices, default and description. Everything else is derived from this module:

- the validation of ``PUT /v1/models/{model}/settings`` (:mod:`seia.model_settings`),
- the drift engine's settings (``seia_drift.settings.DriftSettings.from_model``),
- the defaults and ranges of :class:`seia.stats.Thresholds`,
- the ``ModelSettings`` and ``Thresholds`` schemas of the OpenAPI document (:mod:`seia_query.openapi`),
- the dashboard's settings form, rendered from that schema.

Adding a drift metric is one :meth:`Registry.register_metric` call below and its implementation, a
function of a :class:`seia.stats.Comparison` returning the effect size (as NannyML's
``MethodFactory.register`` or Evidently's ``register_stattest``). Its threshold becomes the setting
``thresholds.<name>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from seia import channels as _channels
from seia.stats import drift as _impl

NUMBER, INTEGER, STRING, URL, CHANNELS = "number", "integer", "string", "url", "channels"
NUMERIC, CATEGORICAL = _impl.NUMERIC, _impl.CATEGORICAL
DISTRIBUTION, MISSING_RATE = "distribution", "missing_rate"
MAX_COUNT = 10**9
MAX_URL = 2000


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Setting:
    """One model setting.

    Parameters
    ----------
    path : str
        Its key in ``models.settings``; ``group.name`` for a member of an object
        (``thresholds.psi``, ``performance_drop.accuracy``).
    type : str
        ``"number"``, ``"integer"``, ``"string"`` (with `choices`), ``"url"`` (checked by :mod:`seia.egress`)
        or ``"channels"`` (a list of notification channels, :mod:`seia.channels`).
    default : object
        In force when the setting is absent (None: none).
    description, label : str
        What it does (OpenAPI description) and its short name (dashboard label).
    choices : tuple of str
        Allowed values of a string setting.
    minimum, maximum : float or None
        Range of a number or integer; `exclusive_minimum` / `exclusive_maximum` leave the bound out.

    Examples
    --------
    >>> s = Setting("coverage_threshold", NUMBER, 0.5, "label coverage", "Coverage", minimum=0, maximum=1)
    >>> s.problem(0.7) is None, s.problem(2)
    (True, 'must be a number >= 0 and <= 1')
    """

    path: str
    type: str
    default: Any
    description: str
    label: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def group(self) -> str | None:
        return self.path.split(".", 1)[0] if "." in self.path else None

    def _range_text(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.exclusive_maximum else '<='} {self.maximum:g}")
        return " and ".join(parts)

    def _in_range(self, value: float) -> bool:
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            return False
        return self.maximum is None or (value < self.maximum if self.exclusive_maximum else value <= self.maximum)

    def problem(self, value: Any, resolve: bool = False) -> str | None:
        """Why `value` is refused, or None when it is valid; `resolve` looks up a URL's host name too."""
        if self.type == STRING:
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        if self.type == URL:
            if isinstance(value, str) and len(value) <= MAX_URL:
                parts = urlsplit(value)
                if parts.scheme in ("http", "https") and parts.netloc:
                    return _channels.url_problem(value, resolve)
            return f"must be an http(s) URL of at most {MAX_URL} characters, or null"
        if self.type == CHANNELS:
            found = _channels.problems(value, resolve)
            return f"{found[0][0]}: {found[0][1]}".lstrip(": ") if found else None
        if self.type == INTEGER:
            if _integer(value) and self._in_range(value):
                return None
            if self.minimum is not None and (self.maximum is None or self.maximum >= MAX_COUNT):
                return f"must be an integer >= {self.minimum:g}"
            return f"must be an integer {self._range_text()}".rstrip()
        if _number(value) and self._in_range(value):
            return None
        return f"must be a number {self._range_text()}".rstrip()

    def schema(self) -> dict[str, Any]:
        """JSON schema of the value (OpenAPI 3.1), with its default and description."""
        out: dict[str, Any] = {"title": self.label, "description": self.description}
        if self.type == STRING:
            out.update(type="string", enum=list(self.choices))
        elif self.type == URL:
            out.update(type="string", format="uri", maxLength=MAX_URL)
        elif self.type == CHANNELS:
            out.update(type="array", maxItems=_channels.MAX_CHANNELS, items=_CHANNEL_SCHEMA)
        else:
            out["type"] = self.type
            for bound, exclusive, key in (
                (self.minimum, self.exclusive_minimum, "Minimum"),
                (self.maximum, self.exclusive_maximum, "Maximum"),
            ):
                if bound is not None:
                    out[("exclusive" + key) if exclusive else key.lower()] = bound
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Metric:
    """One drift metric: an effect size, the features it applies to and its default threshold.

    Parameters
    ----------
    name : str
        Its name in results (``driver``) and in ``thresholds.<name>``.
    kinds : tuple of str
        ``"numeric"`` and/or ``"categorical"``.
    threshold : float
        Default threshold: an effect of this size or more (with a significant test) is drift.
    compute : callable
        ``compute(comparison) -> float``, the effect size of a :class:`seia.stats.Comparison`
        (NaN when undefined).
    description, label : str
        What it measures; its short name.
    maximum : float or None
        Largest valid threshold (1 for a share or a bounded distance).
    signal : str
        The test that must be significant with it: ``"distribution"`` (KS or χ²) or ``"missing_rate"``.
    chance : callable or None
        ``chance(comparison) -> float``, the value chance alone reaches at the window's size; the
        verdict needs the effect to reach it as well as the threshold (None: no small-sample bias).
    """

    name: str
    kinds: tuple[str, ...]
    threshold: float
    compute: Callable[[_impl.Comparison], float]
    description: str
    label: str
    maximum: float | None = None
    signal: str = DISTRIBUTION
    chance: Callable[[_impl.Comparison], float] | None = None

    def setting(self) -> Setting:
        return Setting(
            f"thresholds.{self.name}",
            NUMBER,
            self.threshold,
            f"{self.description} ({', '.join(self.kinds)} features)",
            f"{self.label} threshold",
            minimum=0,
            exclusive_minimum=True,
            maximum=self.maximum,
        )


@dataclass(frozen=True)
class Constraint:
    """A rule over several settings, reported on `field` (e.g. 1 < medium_factor < high_factor)."""

    field: str
    paths: tuple[str, ...]
    check: Callable[..., bool]
    message: str


GROUPS = {
    "thresholds": "Effect-size thresholds and test settings of the drift verdicts",
    "performance_drop": "Performance change that raises an alert",
}


class Registry:
    """The settings and metrics of :mod:`seia.registry`, in registration order."""

    def __init__(self) -> None:
        self._settings: dict[str, Setting] = {}
        self._metrics: dict[str, Metric] = {}
        self._constraints: list[Constraint] = []
        self._order: list[str] = []  # top-level keys: settings and groups

    # -- registration --------------------------------------------------------------------------------
    def register_setting(self, setting: Setting, before: str | None = None) -> Setting:
        if setting.path in self._settings:
            raise ValueError(f"setting {setting.path!r} is already registered")
        items = list(self._settings.items())
        if before is not None and before in self._settings:
            at = [k for k, _ in items].index(before)
            items.insert(at, (setting.path, setting))
            self._settings = dict(items)
        else:
            self._settings[setting.path] = setting
        top = setting.group or setting.path
        if top not in self._order:
            self._order.append(top)
        return setting

    def register_metric(self, metric: Metric) -> Metric:
        """Register a drift metric and its threshold setting ``thresholds.<name>``.

        Examples
        --------
        >>> r = Registry()
        >>> _ = r.register_metric(Metric("toy", (NUMERIC,), 0.3, lambda c: 0.0, "a toy", "Toy"))
        >>> r.default("thresholds.toy"), [m.name for m in r.metrics_for(NUMERIC)]
        (0.3, ['toy'])
        """
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name!r} is already registered")
        if not set(metric.kinds) <= {NUMERIC, CATEGORICAL} or metric.signal not in (DISTRIBUTION, MISSING_RATE):
            raise ValueError(f"metric {metric.name!r}: unknown kind or signal")
        # Metric thresholds come before the test settings of the group (alpha, factors).
        first_other = next(
            (p for p in self._settings if p.startswith("thresholds.") and p[11:] not in self._metrics), None
        )
        self.register_setting(metric.setting(), before=first_other)
        self._metrics[metric.name] = metric
        return metric

    def unregister_metric(self, name: str) -> None:
        """Remove a metric and its threshold (for tests that register a toy one)."""
        del self._metrics[name]
        del self._settings[f"thresholds.{name}"]

    def register_constraint(self, constraint: Constraint) -> None:
        self._constraints.append(constraint)

    # -- reading ---------------------------------------------------------------------------------------
    def metrics(self) -> list[Metric]:
        return list(self._metrics.values())

    def metric(self, name: str) -> Metric:
        return self._metrics[name]

    def metrics_for(self, kind: str) -> list[Metric]:
        return [m for m in self._metrics.values() if kind in m.kinds]

    def settings(self) -> list[Setting]:
        return list(self._settings.values())

    def setting(self, path: str) -> Setting:
        return self._settings[path]

    def default(self, path: str) -> Any:
        return self._settings[path].default

    def keys(self) -> list[str]:
        """Top-level keys of ``models.settings``, in order."""
        return list(self._order)

    def members(self, group: str) -> list[Setting]:
        return [s for s in self._settings.values() if s.group == group]

    def value(self, stored: Mapping[str, Any] | None, path: str) -> Any:
        """A setting's stored value, or its default.

        Examples
        --------
        >>> REGISTRY.value({"window": "hour"}, "window"), REGISTRY.value({}, "thresholds.psi")
        ('hour', 0.2)
        """
        group, _, name = path.partition(".")
        raw = (stored or {}).get(group)
        if name:
            raw = raw.get(name) if isinstance(raw, Mapping) else None
        return self.default(path) if raw is None else raw

    def resolve(self, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """Every setting's value (stored or default), by path; no validation."""
        return {path: self.value(stored, path) for path in self._settings}

    # -- validation ------------------------------------------------------------------------------------
    def problems(
        self, body: Mapping[str, Any], unknown_keys: bool = True, resolve: bool = False
    ) -> list[tuple[str, str]]:
        """(field, message) for every refused value of `body`; None values (removals) pass. URLs are judged by
        their scheme and literal address, and with `resolve` (when the settings are saved) by every address
        their host name resolves to (:mod:`seia.egress`).

        Examples
        --------
        >>> REGISTRY.problems({"min_rows": 0, "thresholds": {"psi": -1, "bogus": 1}})
        [('min_rows', 'must be an integer >= 1'), ('thresholds.bogus', 'unknown threshold; use wasserstein_normed, js_distance, psi, unseen_share, missing_rate_increase, alpha, medium_factor, high_factor'), ('thresholds.psi', 'must be a number > 0')]
        """
        out: list[tuple[str, str]] = []
        keys = self.keys()
        if unknown_keys:
            out += [
                (str(k)[:64], f"unknown setting; use {', '.join(keys)}")
                for k in sorted(map(str, body))
                if k not in keys
            ]
        for key in keys:
            value = body.get(key)
            if value is None:
                continue
            members = self.members(key)
            if not members and self._settings[key].type == CHANNELS:
                out += [(f"{key}{field}", message) for field, message in _channels.problems(value, resolve)]
                continue
            if not members:
                problem = self._settings[key].problem(value, resolve)
                if problem:
                    out.append((key, problem))
                continue
            names = [s.name for s in members]
            if not isinstance(value, Mapping):
                out.append((key, f"must be an object with {', '.join(names)}"))
                continue
            what = "threshold" if key == "thresholds" else "setting"
            out += [
                (f"{key}.{str(k)[:64]}", f"unknown {what}; use {', '.join(names)}")
                for k in sorted(map(str, value))
                if k not in names
            ]
            for s in members:
                if value.get(s.name) is not None:
                    problem = s.problem(value[s.name])
                    if problem:
                        out.append((s.path, problem))
        if not out:
            merged = self.resolve(body)
            for c in self._constraints:
                values = [merged[p] for p in c.paths]
                if all(_number(v) for v in values) and not c.check(*values):
                    out.append((c.field, c.message))
        return out

    # -- OpenAPI ---------------------------------------------------------------------------------------
    def openapi_schemas(self) -> dict[str, Any]:
        """``Thresholds`` and ``ModelSettings`` component schemas (OpenAPI 3.1)."""
        schemas: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        for key in self.keys():
            members = self.members(key)
            if not members:
                s = self._settings[key].schema()
                s["type"] = [s["type"], "null"]
                if "enum" in s:
                    s["enum"] = [*s["enum"], None]
                properties[key] = s
                continue
            name = "Thresholds" if key == "thresholds" else "".join(p.title() for p in key.split("_"))
            schemas[name] = {
                "type": "object",
                "title": name,
                "description": GROUPS.get(key, key),
                "properties": {m.name: m.schema() for m in members},
                "additionalProperties": False,
            }
            properties[key] = {"anyOf": [{"$ref": f"#/components/schemas/{name}"}, {"type": "null"}]}
        schemas["ModelSettings"] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "description": "keys sent replace the stored ones; null removes a key (back to its default)",
        }
        return schemas


_CHANNEL_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "description": "slack: an incoming-webhook URL; webhook: Seia's signed JSON (see webhooks.incident_changes); "
    "sns: a topic ARN (none: the deployment's topic)",
    "properties": {
        "type": {"type": "string", "enum": list(_channels.TYPES)},
        "url": {"type": "string", "format": "uri", "maxLength": _channels.MAX_URL},
        "topic_arn": {"type": "string", "pattern": _channels.TOPIC_ARN.pattern},
        "name": {"type": "string", "minLength": 1, "maxLength": _channels.MAX_NAME},
    },
    "additionalProperties": False,
}


def _between_factors(medium: float, high: float) -> bool:
    return bool(1 < medium < high)


def _default_registry() -> Registry:
    r = Registry()
    r.register_setting(
        Setting(
            "window",
            STRING,
            "day",
            "evaluation window of the drift engine (sketches are always hourly)",
            "Evaluation window",
            choices=("hour", "day"),
        )
    )
    r.register_setting(
        Setting(
            "min_rows",
            INTEGER,
            100,
            "fewer rows in a window (or the reference) give insufficient_data",
            "Minimum rows",
            minimum=1,
            maximum=MAX_COUNT,
        )
    )
    # -- drift metrics: the effect sizes the verdicts judge ------------------------------------------------
    r.register_metric(
        Metric(
            "wasserstein_normed",
            (NUMERIC,),
            0.1,
            _impl.wasserstein_normed,
            "Wasserstein-1 distance in reference standard deviations",
            "Wasserstein (σ)",
        )
    )
    r.register_metric(
        Metric(
            "js_distance",
            (NUMERIC, CATEGORICAL),
            0.1,
            _impl.js_effect,
            "Jensen–Shannon distance, base 2 (numeric deciles and categories)",
            "JS distance",
            maximum=1,
            chance=_impl.js_chance,
        )
    )
    r.register_metric(
        Metric(
            "psi",
            (NUMERIC, CATEGORICAL),
            0.2,
            _impl.psi_effect,
            "population stability index (numeric deciles and categories)",
            "PSI",
            chance=_impl.psi_chance,
        )
    )
    r.register_metric(
        Metric(
            "unseen_share",
            (CATEGORICAL,),
            0.05,
            _impl.unseen_effect,
            "share of current values in categories absent from the reference",
            "Unseen share",
            maximum=1,
        )
    )
    r.register_metric(
        Metric(
            "missing_rate_increase",
            (NUMERIC, CATEGORICAL),
            0.05,
            _impl.missing_increase,
            "increase of the missing-value rate, in absolute share of rows",
            "Missing-rate increase",
            maximum=1,
            signal=MISSING_RATE,
        )
    )
    r.register_setting(
        Setting(
            "thresholds.alpha",
            NUMBER,
            0.05,
            "false discovery rate of the Benjamini–Hochberg adjusted tests",
            "False discovery rate",
            minimum=0,
            exclusive_minimum=True,
            maximum=1,
            exclusive_maximum=True,
        )
    )
    r.register_setting(
        Setting(
            "thresholds.medium_factor",
            NUMBER,
            2.0,
            "effect / threshold from which a drift is medium",
            "Medium severity from",
            minimum=1,
            exclusive_minimum=True,
        )
    )
    r.register_setting(
        Setting(
            "thresholds.high_factor",
            NUMBER,
            4.0,
            "effect / threshold from which a drift is high; above medium_factor",
            "High severity from",
            minimum=1,
            exclusive_minimum=True,
        )
    )
    r.register_constraint(
        Constraint(
            "thresholds.medium_factor",
            ("thresholds.medium_factor", "thresholds.high_factor"),
            _between_factors,
            "need 1 < medium_factor < high_factor",
        )
    )
    r.register_setting(
        Setting(
            "coverage_threshold",
            NUMBER,
            0.5,
            "label coverage below which a window's performance is provisional",
            "Label coverage threshold",
            minimum=0,
            maximum=1,
        )
    )
    r.register_setting(
        Setting(
            "performance_drop.accuracy",
            NUMBER,
            0.05,
            "absolute accuracy drop that raises an alert",
            "Accuracy drop",
            minimum=0,
            exclusive_minimum=True,
            maximum=1,
        )
    )
    r.register_setting(
        Setting(
            "performance_drop.rmse",
            NUMBER,
            0.2,
            "relative RMSE rise that raises an alert",
            "RMSE rise",
            minimum=0,
            exclusive_minimum=True,
        )
    )
    r.register_setting(
        Setting(
            "reference_policy",
            STRING,
            "uploaded_or_first_window",
            "uploaded_or_first_window: the uploaded reference set, else the first full window; "
            "uploaded: only an uploaded reference set",
            "Reference policy",
            choices=("uploaded_or_first_window", "uploaded"),
        )
    )
    r.register_setting(
        Setting(
            "reference_min_rows",
            INTEGER,
            1000,
            "rows a window needs to become the reference (no uploaded one)",
            "Reference minimum rows",
            minimum=1,
            maximum=MAX_COUNT,
        )
    )
    r.register_setting(
        Setting(
            "resolve_after",
            INTEGER,
            3,
            "consecutive clean windows that resolve an incident (windows with too little data do not count)",
            "Resolve after (windows)",
            minimum=1,
            maximum=MAX_COUNT,
        )
    )
    r.register_setting(
        Setting(
            "multivariate_variance",
            NUMBER,
            0.65,
            "multivariate drift: share of the reference's variance the PCA's kept components explain "
            "(the fewest whose share exceeds it; NannyML's default)",
            "Multivariate PCA variance",
            minimum=0.05,
            maximum=0.99,
        )
    )
    r.register_setting(
        Setting(
            "segment_top_values",
            INTEGER,
            20,
            "segments: how many of each segment field's most frequent values are followed on their own; "
            "the rest are grouped as `other` (docs/segments.md)",
            "Segment values followed",
            minimum=1,
            maximum=100,
        )
    )
    r.register_setting(
        Setting(
            "retention_days",
            INTEGER,
            90,
            "days raw rows (predictions, labels) are kept; older ones are dropped by whole partitions, so a row "
            "stays up to a week longer. Drift results, sketches and incidents stay. none: the tenant's default",
            "Retention (days)",
            minimum=1,
            maximum=36_500,
        )
    )
    r.register_setting(
        Setting(
            "notifications",
            CHANNELS,
            None,
            "channels that receive each incident change (opened, escalated, resolved): "
            '[{"type": "slack"|"webhook", "url"}, {"type": "sns", "topic_arn"?}, ...]; none: the tenant\'s default',
            "Notifications",
        )
    )
    r.register_setting(
        Setting("webhook_url", URL, None, "one more webhook channel (Seia's signed JSON)", "Webhook URL")
    )
    return r


REGISTRY = _default_registry()


def register_metric(metric: Metric) -> Metric:
    """Register a drift metric in :data:`REGISTRY` (see :meth:`Registry.register_metric`)."""
    return REGISTRY.register_metric(metric)


def metric_names(kinds: Iterable[str] = (NUMERIC, CATEGORICAL)) -> list[str]:
    """Names of the registered metrics that apply to any of `kinds`."""
    wanted = set(kinds)
    return [m.name for m in REGISTRY.metrics() if wanted & set(m.kinds)]
