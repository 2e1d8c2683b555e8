"""The server's Prometheus metrics: what ``GET /metrics`` exposes, in a registry of its own.

:class:`ServerMetrics` holds every metric of one app built by
:func:`utils.deployment.serving.create_app`, in its own ``CollectorRegistry`` (not
prometheus-client's global one), so that two apps in one process, such as the blue and green
servers of a notebook, neither share nor clash. ``GET /metrics`` answers them in Prometheus' text
exposition format (``text/plain; version=0.0.4``); a Prometheus server scrapes that path.

The metrics, by what they watch (names follow Prometheus' conventions: a unit suffix in base
units, ``_total`` on counters):

- **software**: ``http_requests_total`` and ``http_request_duration_seconds`` (a histogram) by
  route and status code, ``http_request_errors_total`` by route and status class (``4xx``: the
  client's mistake, ``5xx``: the server's failure), ``http_requests_in_flight`` by route,
  ``model_batch_rows`` (rows per model call, which micro-batching raises) and
  ``model_inference_duration_seconds``; ``process_*`` (memory, CPU) on Linux;
- **inputs**: ``model_input_rejections_total`` by reason (the ``kind`` of the
  :class:`~utils.deployment.serving.validation.InputError`, such as ``dtype`` for a missing
  value or ``not_finite``), and one statistic per accepted example for drift:
  ``model_input_text_length_chars`` (a histogram of characters) for text, and for numbers
  ``model_input_row_mean``, the mean of the example's values: a summary (a count and a sum, so
  a window's mean is ``rate(..._sum[w]) / rate(..._count[w])``), because prometheus-client
  leaves out the sum of a histogram whose buckets go below zero;
- **outputs**: ``model_predictions_total`` by predicted class and
  ``model_prediction_confidence`` (the top probability of each prediction);
- ``model_info``: the model's name and version as labels.

Routes are labelled by their path; a path the app does not serve is labelled ``other``, so that a
client cannot create new series by asking for made-up paths.

Used by :func:`utils.deployment.serving.create_app`. week1/04_monitoring.ipynb and
project/06_monitoring.ipynb scrape it with a real Prometheus
(:mod:`utils.deployment.prometheus`); tests/test_prometheus.py checks it with ``promtool``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    Summary,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "ServerMetrics"]

#: The content type of ``GET /metrics``: Prometheus' text exposition format, version 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Upper bounds of the latency buckets, in seconds (a millisecond to ten seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Rows per model call: powers of two up to the default largest request.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: The top class probability: from ten classes' chance level to near certainty.
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
#: Characters per text, roughly doubling.
TEXT_LENGTH_BUCKETS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

#: Label of a request whose path the app does not serve.
OTHER_ROUTE = "other"


class ServerMetrics:
    """The Prometheus metrics of one app, in a registry of its own (see the module docstring).

    Args:
        model_name, model_version: the labels of ``model_info``.
        class_names: one per model output; each gets a ``model_predictions_total`` series at 0,
            so that a class never predicted yet still shows.
        input_type: ``"text"`` (text lengths) or ``"numbers"`` (row means).
        predict_routes: the routes that call the model; their error series start at 0.
    """

    def __init__(
        self,
        *,
        model_name: str,
        model_version: str,
        class_names: Sequence[str],
        input_type: str,
        predict_routes: Iterable[str] = ("/predict",),
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._routes: frozenset[str] = frozenset()
        self._add_software_metrics()
        self._add_model_metrics(input_type)
        Info("model", "The model served.", registry=self.registry).info(
            {"model_name": model_name, "model_version": model_version}
        )
        ProcessCollector(registry=self.registry)
        self._classes = tuple(class_names)
        for name in self._classes:
            self.predictions.labels(name)
        for route in predict_routes:
            for status_class in ("4xx", "5xx"):
                self.errors.labels(route, status_class)

    def _add_software_metrics(self) -> None:
        """Requests, errors, latency and requests in flight, by route."""
        r = self.registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=r,
        )
        self.errors = Counter(
            "http_request_errors",
            "Answers with a status of 400 or more, by route and status "
            "class (4xx: the client's mistake, 5xx: the server's failure).",
            ["route", "status_class"],
            registry=r,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route and status code.",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being answered now.", ["route"], registry=r
        )

    def _add_model_metrics(self, input_type: str) -> None:
        """Model calls, inputs refused, the drift statistic of the inputs, the predictions."""
        r = self.registry
        self.batch_rows = Histogram(
            "model_batch_rows",
            "Rows per model call (micro-batching merges requests).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "model_inference_duration_seconds",
            "Time of one model call that answered.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejections = Counter(
            "model_input_rejections",
            "Requests whose inputs were refused before the model, by reason.",
            ["reason"],
            registry=r,
        )
        self.predictions = Counter(
            "model_predictions",
            "Predictions (one per example) by predicted class.",
            ["class"],
            registry=r,
        )
        self.confidence = Histogram(
            "model_prediction_confidence",
            "Top class probability of each prediction.",
            buckets=CONFIDENCE_BUCKETS,
            registry=r,
        )
        self.text = input_type == "text"
        self.input_stat: Histogram | Summary
        if self.text:
            self.input_stat = Histogram(
                "model_input_text_length_chars",
                "Characters in each text accepted.",
                buckets=TEXT_LENGTH_BUCKETS,
                registry=r,
            )
        else:
            self.input_stat = Summary(
                "model_input_row_mean", "Mean of the values of each example accepted.", registry=r
            )

    def set_routes(self, paths: Iterable[str]) -> None:
        """The paths the app serves; any other path is labelled ``other``."""
        self._routes = frozenset(paths)

    def route(self, path: str) -> str:
        """The ``route`` label of a request for ``path``."""
        return path if path in self._routes else OTHER_ROUTE

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count an answer and its duration."""
        code = str(status)
        self.requests.labels(route, code).inc()
        self.duration.labels(route, code).observe(seconds)
        if status >= 400:
            self.errors.labels(route, f"{code[0]}xx").inc()

    def observe_model_call(self, rows: int, seconds: float | None) -> None:
        """A model call on ``rows`` rows; ``seconds`` is None if the call failed."""
        self.batch_rows.observe(rows)
        if seconds is not None:
            self.inference.observe(seconds)

    def observe_inputs(self, x: npt.NDArray[Any]) -> None:
        """The drift statistic of each example accepted: its length (text) or mean (numbers)."""
        if self.text:
            values: Iterable[float] = (len(str(t)) for t in x)
        else:
            values = np.asarray(x, dtype=np.float64).reshape(len(x), -1).mean(axis=1).tolist()
        for v in values:
            self.input_stat.observe(v)

    def observe_rejection(self, reason: str) -> None:
        """A request refused before the model, for ``reason`` (an InputError's kind)."""
        self.rejections.labels(reason).inc()

    def observe_predictions(self, p: npt.NDArray[Any]) -> None:
        """The predicted class and the confidence of each row of probabilities ``p``."""
        top = p.argmax(axis=1)
        for i, n in zip(*np.unique(top, return_counts=True), strict=True):
            self.predictions.labels(self._classes[int(i)]).inc(int(n))
        for c in p[np.arange(len(p)), top].tolist():
            self.confidence.observe(c)

    def render(self) -> bytes:
        """Every metric in the text exposition format (the body of ``GET /metrics``)."""
        return generate_latest(self.registry)
