"""One local Ray instance, with Serve's HTTP proxy: started quietly, ended with all its processes.

Used by :func:`~utils.deployment.engines.ray_serve.serve_on_ray` and by
week1/05_scaling_out.ipynb, which starts one instance for the page with :func:`start_ray` and
ends it with :func:`stop_ray`. The instance listens on loopback only (``127.0.0.1``), runs no
dashboard and sends no usage statistics; Serve's proxy listens where :func:`start_serve` says.

Ending it takes care. ``ray.shutdown()`` ends the processes that the driver started (Ray's
store, its scheduler, the raylet), and the raylet ends the workers, the replicas among them; but
two helpers of the raylet (its dashboard and runtime-environment agents) notice the end only by
polling, and on a busy machine outlive the instance by a minute or more. :func:`stop_ray` ends
those too, by their process ids, so that no Ray process is left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time

from utils.deployment.engines import require_ray
from utils.deployment.engines._ray_compat import fix_serve_for_protobuf7

require_ray()
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # before Ray reads it: no usage reports
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # Ray's future default, quietly
# Ray runs its workers at niceness 15, as background work; here the replicas are the service, and
# on a small machine a niced replica starves behind any other process, the load generator too.
os.environ.setdefault("RAY_worker_niceness", "0")

import ray  # noqa: E402
from ray import serve  # noqa: E402
from ray._private.ray_constants import WORKER_PROCESS_SETUP_HOOK_ENV_VAR  # noqa: E402

__all__ = ["APP_NAME", "start_ray", "start_serve", "stop_ray"]

#: The Serve application's name; one server runs at a time in a Ray instance.
APP_NAME = "mlprod"

#: Run in every worker of the Ray instance as it starts (module ``_ray_compat``).
_SETUP_HOOK = "utils.deployment.engines._ray_compat.fix_serve_for_protobuf7"

#: The port of the HTTP proxy that this process started Serve with (empty: not started).
_serve_port: list[int] = []


def start_ray(num_cpus: int | None = None, *, attempts: int = 2) -> bool:
    """Start a local Ray instance for this process, unless one runs; True if this call did.

    It offers ``num_cpus`` CPUs to schedule replicas on (default: the machine's). On a loaded
    machine Ray's node can miss its start-up deadline: it is tried ``attempts`` times (the second
    start is faster, its files being cached), then a RuntimeError says why.
    """
    if ray.is_initialized():
        return False
    fix_serve_for_protobuf7()
    # The workers run the fix as they start. Ray's documented way, runtime_env's
    # worker_process_setup_hook, gives the job a runtime environment, and then every replica
    # waits for a new worker process of its own (4 s more each, measured here); passed in the
    # environment that the raylet hands its workers, the hook runs in Ray's pre-started ones too.
    os.environ.setdefault(WORKER_PROCESS_SETUP_HOOK_ENV_VAR, _SETUP_HOOK)
    cpus = int(num_cpus) if num_cpus is not None else max(1, os.cpu_count() or 1)
    error: Exception | None = None
    for _ in range(attempts):
        try:
            ray.init(
                num_cpus=cpus,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                log_to_driver=False,
                logging_level=logging.WARNING,
                namespace="mlprod",
            )
        except Exception as exc:  # the node did not come up in time, as on a busy machine
            error = exc
            stop_ray()
            continue
        except BaseException:  # interrupted (Ctrl+C, SIGTERM) while it started: end what did
            stop_ray()
            raise
        serve_logger = logging.getLogger("ray.serve")
        serve_logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _KeptProxy) for f in serve_logger.filters):
            serve_logger.addFilter(_KeptProxy())
        return True
    raise RuntimeError(f"Ray could not start on this machine ({error})") from error


def start_serve(host: str, port: int | None, keep_alive: float, log_level: str) -> int:
    """Start Serve's HTTP proxy on ``host:port`` (a free port for None); the port it uses.

    A proxy this process started already is kept (a second one cannot bind another port).
    """
    from utils.deployment.serving import free_port

    if _serve_port:
        if port not in (None, _serve_port[0]):
            raise RuntimeError(
                f"Serve already listens on port {_serve_port[0]}; stop Ray (stop_ray) first"
            )
        return _serve_port[0]
    chosen = port or free_port(host)
    serve.start(
        http_options={"host": host, "port": chosen, "keep_alive_timeout_s": keep_alive},
        logging_config={"log_level": log_level.upper()},
    )
    _serve_port.append(chosen)
    return chosen


def stop_ray(grace: float = 5.0) -> None:
    """End the Ray instance and every process it started, Serve's among them.

    The application is deleted first, so that its replicas finish their requests; then
    ``ray.shutdown()`` ends Serve's controller and proxy with the instance (``serve.shutdown()``
    would do the same, and make the driver print Ray's notices about the controller's unfinished
    calls as it ends). Ray's processes still running ``grace`` seconds later are ended.
    """
    family = _ray_descendants()
    if ray.is_initialized():
        with contextlib.suppress(Exception):  # Serve was never started
            serve.delete(APP_NAME)
        ray.shutdown()
    # forget the controller, which ended with the instance
    serve.context._set_global_client(None)  # type: ignore[no-untyped-call]
    _serve_port.clear()
    _end(family, grace)


class _KeptProxy(logging.Filter):
    """Drops Serve's warning that ``serve.run``'s HTTP options differ from ``serve.start``'s.

    ``serve.run`` passes Serve's default options every time (ray/serve/api.py, ``_run_many``)
    and keeps the proxy that ``serve.start`` started, on our port, as the warning says.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("The new client HTTP config differs")


def _is_ray(pid: int) -> bool:
    """True while ``pid`` is a live Ray process (its command names Ray's package, or ``ray::``)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            command = file.read()
    except OSError:
        return False
    return command.startswith(b"ray::") or b"/ray/" in command


def _ray_descendants() -> list[int]:
    """The Ray processes among this process's descendants (read from /proc: Linux only)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry}/stat", "rb") as file:
                    stat = file.read()
                parent = int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "(name) state"
                children.setdefault(parent, []).append(int(entry))
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [pid for pid in found if _is_ray(pid)]


def _end(pids: list[int], grace: float) -> None:
    """Wait up to ``grace`` seconds for ``pids`` to end, then end the Ray ones still running."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_is_ray(pid) for pid in pids):
        time.sleep(0.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid in pids if _is_ray(pid)]
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 2.0
        while alive and time.monotonic() < deadline and any(_is_ray(pid) for pid in alive):
            time.sleep(0.1)
