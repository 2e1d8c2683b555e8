"""A real Prometheus from Python: scrape a model server, query it with PromQL, check the rules.

:func:`start_prometheus` runs the ``prometheus`` program (installed apart from Python: see
:data:`INSTALL_HINT`) on this machine only (127.0.0.1, a free port), with a temporary data
folder and the configuration shipped with this package, ``prometheus_config/prometheus.yml``, whose target
(the server to watch) and intervals it fills in. The rules of ``prometheus_config/rules.yml``
are loaded with it. It returns once Prometheus has scraped every target once; the
:class:`PrometheusServer` it returns answers PromQL through Prometheus' HTTP API, as pandas
objects (:meth:`~PrometheusServer.query`, :meth:`~PrometheusServer.query_range`), and
:meth:`~PrometheusServer.stop` ends the program and deletes its data. :func:`promtool` runs
``promtool``, Prometheus' checker (``check rules``, ``test rules``, ``check metrics``).

When ``prometheus`` or ``promtool`` is missing, :class:`PrometheusNotFound` says how to install
it; :func:`prometheus_available` tells beforehand.

Introduced in week1/04_monitoring.ipynb and used in project/06_monitoring.ipynb, which watch a
model server (:func:`utils.deployment.serving.create_app`, metrics listed in
``utils.deployment.serving.metrics``) while traffic with a planted shift is sent;
tests/test_prometheus.py runs it against the command-line server.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import pandas as pd

from utils._validation import check_number
from utils.deployment.serving.background import free_port

__all__ = [
    "CONFIG_DIR",
    "INSTALL_HINT",
    "PrometheusNotFound",
    "PrometheusServer",
    "prometheus_available",
    "promtool",
    "start_prometheus",
]

#: Where the Prometheus files that ship with the package are (the template prometheus.yml,
#: rules.yml and rules_test.yml).
CONFIG_DIR = Path(__file__).resolve().parent / "prometheus_config"

#: How to install Prometheus, said whenever it is missing.
INSTALL_HINT = (
    "Install Prometheus: on Debian or Ubuntu, `sudo apt-get install prometheus` (it installs "
    "promtool too); elsewhere, download it from https://prometheus.io/download/ and put the "
    "`prometheus` and `promtool` programs on your PATH."
)

#: The lines of the template that start_prometheus fills in (one of each must be there).
_TEMPLATE_LINES = {
    "scrape_interval": re.compile(r"(?m)^(\s*scrape_interval:[ \t]*)\S+"),
    "evaluation_interval": re.compile(r"(?m)^(\s*evaluation_interval:[ \t]*)\S+"),
    "targets": re.compile(r"(?m)^(\s*-?\s*targets:[ \t]*)\[[^\]\n]*\]"),
}


class PrometheusNotFound(RuntimeError):
    """The ``prometheus`` or ``promtool`` program is not on the PATH; the message says how to
    install it."""

    def __init__(self, program: str) -> None:
        super().__init__(f"the program {program!r} was not found on the PATH. {INSTALL_HINT}")
        self.program = program


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PrometheusNotFound(name)
    return path


def prometheus_available() -> bool:
    """True when both ``prometheus`` and ``promtool`` are on the PATH."""
    return all(shutil.which(p) is not None for p in ("prometheus", "promtool"))


def promtool(
    *args: str | Path,
    stdin: str | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``promtool ARGS`` and return the finished process (``returncode``, ``stdout``,
    ``stderr``), whether or not it succeeded.

    For example ``promtool("test", "rules", "rules_test.yml", cwd=CONFIG_DIR)``, or
    ``promtool("check", "metrics", stdin=text)`` on the text of a ``GET /metrics``.
    Raises :class:`PrometheusNotFound` when promtool is not installed.
    """
    return subprocess.run(
        [_program("promtool"), *map(str, args)],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _duration(seconds: float) -> str:
    """``seconds`` as a Prometheus duration in milliseconds, such as ``500ms``."""
    return f"{round(seconds * 1000)}ms"


def _target(url: str) -> str:
    """``host:port`` of a server's base URL (``http://127.0.0.1:8000`` or ``127.0.0.1:8000``)."""
    if not isinstance(url, str) or not url:
        raise TypeError(f"a target must be a server's URL (a str), got {url!r}")
    parts = urlsplit(url if "//" in url else f"//{url}")
    if parts.port is None or parts.path not in ("", "/"):
        raise ValueError(
            f"a target must be a server's base URL with a port, such as "
            f"http://127.0.0.1:8000; got {url!r}"
        )
    return parts.netloc


def _config(template: str, targets: Sequence[str], interval: str) -> str:
    """The template with its intervals and its targets filled in."""
    values = {
        "scrape_interval": interval,
        "evaluation_interval": interval,
        "targets": json.dumps([_target(t) for t in targets]),
    }
    for key, pattern in _TEMPLATE_LINES.items():
        template, n = pattern.subn(r"\g<1>" + values[key].replace("\\", "\\\\"), template)
        if n != 1:
            raise ValueError(
                f"the Prometheus template must have exactly one {key!r} line "
                f"(found {n}); see utils/deployment/prometheus_config/prometheus.yml"
            )
    return template


def _unix(t: float | datetime | pd.Timestamp) -> float:
    """Seconds since 1970 of a time given as such, or as a datetime (naive means UTC)."""
    if isinstance(t, datetime):
        stamp = pd.Timestamp(t)
        return float((stamp if stamp.tzinfo else stamp.tz_localize("UTC")).timestamp())
    return check_number("time", t)


def _labels(series: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in series.get("metric", {}).items() if k != "__name__"}


@dataclass
class PrometheusServer:
    """A Prometheus program started by :func:`start_prometheus`; ``stop()`` ends it.

    Attributes: ``url`` (its web interface and HTTP API), ``scrape_interval`` (seconds),
    ``started`` (the Unix time it was first found ready, see :meth:`wait_until_ready`).
    """

    url: str
    scrape_interval: float
    started: float
    _process: subprocess.Popen[bytes] = field(repr=False)
    _folder: tempfile.TemporaryDirectory[str] = field(repr=False)
    _log: IO[bytes] = field(repr=False)
    _http: httpx.Client = field(init=False, repr=False)
    _ready: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.url, timeout=10.0)
        # ends the program when Python exits without stop() (a notebook's kernel shut down)
        self._end = weakref.finalize(self, _end, self._process, self._log, self._folder)

    def _api(self, path: str, **params: Any) -> Any:
        """``GET /api/v1/<path>``'s data; a PromQL mistake is a ValueError with Prometheus'
        message."""
        response = self._http.get(f"/api/v1/{path}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(
                f"Prometheus refused {params.get('query', path)!r}: "
                f"{body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    def query(self, promql: str, at: float | datetime | None = None) -> pd.DataFrame:
        """The value of ``promql`` now (or ``at``): one row per series, a column per label
        and ``value``."""
        params = {"query": promql} | ({} if at is None else {"time": _unix(at)})
        data = self._api("query", **params)
        if data["resultType"] == "scalar":
            return pd.DataFrame({"value": [float(data["result"][1])]})
        rows = [_labels(s) | {"value": float(s["value"][1])} for s in data["result"]]
        return pd.DataFrame(rows, columns=None if rows else ["value"])

    def query_value(self, promql: str, at: float | datetime | None = None) -> float:
        """The one number ``promql`` gives (NaN when it gives no series; ValueError if several)."""
        result = self.query(promql, at)
        if len(result) > 1:
            raise ValueError(
                f"{promql!r} gives {len(result)} series; aggregate it to one, "
                "for example with sum(...)"
            )
        return float(result["value"].iloc[0]) if len(result) else float("nan")

    def query_range(
        self,
        promql: str,
        start: float | datetime | None = None,
        end: float | datetime | None = None,
        step: float | None = None,
    ) -> pd.DataFrame:
        """``promql`` from ``start`` (default: when Prometheus started) to ``end`` (now) every
        ``step`` seconds (default: the scrape interval).

        Returns one column per series, indexed by time (UTC). A column is named by the labels
        that differ between the series (``class`` gives columns ``"not spam"`` and ``"spam"``),
        or by ``promql`` when there is one series.
        """
        step = self.scrape_interval if step is None else check_number("step", step, min=0.001)
        data = self._api(
            "query_range",
            query=promql,
            start=_unix(self.started if start is None else start),
            end=_unix(time.time() if end is None else end),
            step=step,
        )
        series = data["result"]
        labels = [_labels(s) for s in series]
        keys = sorted(
            {k for lab in labels for k in lab if len({other.get(k) for other in labels}) > 1}
        )
        frame = pd.DataFrame(
            {
                i: pd.Series(
                    [float(v) for _, v in s["values"]],
                    index=pd.to_datetime([float(t) for t, _ in s["values"]], unit="s", utc=True),
                )
                for i, s in enumerate(series)
            }
        )
        names = [tuple(lab.get(k, "") for k in keys) for lab in labels]
        if len(keys) > 1:
            frame.columns = pd.MultiIndex.from_tuples(names, names=keys)
        else:
            frame.columns = pd.Index(
                [n[0] if keys else promql for n in names], name=keys[0] if keys else None
            )
        frame.index.name = "time"
        return frame.sort_index()

    def targets(self) -> pd.DataFrame:
        """The scraped servers: ``url``, ``health`` (up, down, unknown), ``last_scrape`` (Unix
        time) and ``last_error``."""
        active = self._api("targets", state="active")["activeTargets"]
        return pd.DataFrame(
            [
                {
                    "url": t["scrapeUrl"],
                    "health": t["health"],
                    "last_scrape": pd.Timestamp(t["lastScrape"]).timestamp(),
                    "last_error": t["lastError"],
                }
                for t in active
            ],
            columns=["url", "health", "last_scrape", "last_error"],
        )

    def rules(self) -> pd.DataFrame:
        """The rules loaded: ``group``, ``name``, ``type`` (recording, alerting), ``health``
        and, for an alert, ``state`` (inactive, pending, firing)."""
        groups = self._api("rules")["groups"]
        return pd.DataFrame(
            [
                {
                    "group": g["name"],
                    "name": r["name"],
                    "type": r["type"],
                    "health": r["health"],
                    "state": r.get("state", ""),
                }
                for g in groups
                for r in g["rules"]
            ],
            columns=["group", "name", "type", "health", "state"],
        )

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Return once Prometheus answers and has scraped every target once, successfully.

        Prometheus 2 reads its list of targets about five seconds after it starts, so the
        first call waits about that long; later calls return at once.
        """
        deadline = time.monotonic() + check_number("timeout", timeout, min=0.0, min_open=True)
        while True:
            self._check_running()
            try:
                if self._http.get("/-/ready").status_code == 200:
                    t = self.targets()
                    if len(t) and (t["health"] == "up").all():
                        if not self._ready:
                            self.started, self._ready = time.time(), True
                        return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                try:
                    targets = self.targets().to_dict("records")
                except (httpx.HTTPError, ValueError):
                    targets = []
                raise TimeoutError(
                    f"Prometheus was not ready, or a target not up, within "
                    f"{timeout:g} s; targets: {targets}; its log:\n"
                    f"{self.log()[-2000:]}"
                )
            time.sleep(0.05)

    def wait_for_scrape(self, timeout: float = 30.0) -> float:
        """Wait until every target has been scraped after this call, and has answered.

        Returns a time (Unix seconds) at which a query (``at=``) sees those scrapes: every
        request answered before the call is counted there, and none sent after it returns.
        """
        since = time.time()
        deadline = since + check_number("timeout", timeout, min=0.0, min_open=True)
        while time.time() < deadline:
            t = self.targets()
            if len(t) and (t["last_scrape"] > since).all() and (t["health"] == "up").all():
                return float(t["last_scrape"].max()) + 0.001  # samples are stamped in ms
            self._check_running()
            time.sleep(min(0.1, self.scrape_interval / 4))
        raise TimeoutError(
            f"Prometheus did not scrape every target within {timeout:g} s: "
            f"{self.targets().to_dict('records')}"
        )

    def log(self) -> str:
        """What the Prometheus program has written so far."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def _check_running(self) -> None:
        if self._process.poll() is not None:
            raise RuntimeError(
                f"Prometheus exited with status {self._process.returncode}:\n{self.log()[-2000:]}"
            )

    def stop(self) -> None:
        """End the program (it saves nothing: its data folder is deleted)."""
        self._http.close()
        self._end()

    def __enter__(self) -> PrometheusServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end(
    process: subprocess.Popen[bytes],
    log: IO[bytes],
    folder: tempfile.TemporaryDirectory[str],
    timeout: float = 10.0,
) -> None:
    """Stop the program, close its log and delete its folder."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    log.close()
    folder.cleanup()


def start_prometheus(
    targets: str | Sequence[str],
    *,
    scrape_interval: float = 1.0,
    rules: str | Path | None = CONFIG_DIR / "rules.yml",
    template: str | Path = CONFIG_DIR / "prometheus.yml",
    wait: bool = True,
    timeout: float = 30.0,
) -> PrometheusServer:
    """Start Prometheus on 127.0.0.1 to scrape ``targets`` every ``scrape_interval`` seconds.

    Args:
        targets: the base URL of a server (``http://127.0.0.1:8000``), or a list of them; each
            must answer ``GET /metrics`` (as :func:`utils.deployment.serving.create_app` does).
        scrape_interval: seconds between two scrapes, and between two evaluations of the rules.
            Production uses 15 s or more; a notebook uses a second or less, so that a few
            seconds of traffic make a curve.
        rules: the rules file to load (None: no rules).
        template: the configuration to fill in (its ``scrape_interval``,
            ``evaluation_interval`` and ``targets`` lines).
        wait: return once Prometheus has scraped every target once
            (:meth:`PrometheusServer.wait_until_ready`), which takes about five seconds, or
            (False) at once, so that other work can go on while it starts.
        timeout: seconds to wait for Prometheus to be ready and to scrape every target once.

    Raises :class:`PrometheusNotFound` (with the install command) when Prometheus is missing,
    TimeoutError (with Prometheus' log) when it does not start in time or a target never
    answers. Introduced in week1/04_monitoring.ipynb.
    """
    interval = check_number("scrape_interval", scrape_interval, min=0.001)
    timeout = check_number("timeout", timeout, min=0.0, min_open=True)
    urls = [targets] if isinstance(targets, str) else list(targets)
    if not urls:
        raise ValueError("targets must name at least one server")
    config = _config(Path(template).read_text(), urls, _duration(interval))
    program = _program("prometheus")
    folder = tempfile.TemporaryDirectory(prefix="prometheus-")
    root = Path(folder.name)
    (root / "prometheus.yml").write_text(config)
    (root / "rules.yml").write_text(
        Path(rules).read_text() if rules is not None else "groups: []\n"
    )
    port = free_port()
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            program,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = PrometheusServer(
        f"http://127.0.0.1:{port}", interval, time.time(), process, folder, log
    )
    if wait:
        try:
            server.wait_until_ready(timeout)
        except BaseException:
            server.stop()
            raise
    return server
