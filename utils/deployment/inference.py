"""Model calls with a time-out, so that a model that hangs cannot hang the service.

:func:`utils.deployment.serving.create_app` runs every model call through a :class:`ModelRunner`
(introduced in labs/w1_deploy_a_model.ipynb, which documents ``/health`` and ``/ready``):

- each request waits at most ``timeout`` seconds for its answer, and is then answered
  ``504 Gateway Timeout`` with the server's usual error body;
- a model call still running after ``timeout`` seconds makes the model *stuck*: while it is,
  new requests are refused at once with ``503 Service Unavailable`` (they do not queue behind
  the stuck call), ``GET /ready`` answers 503 and the server log says so;
- when the stuck call returns, the runner recovers and the next request is served.

``GET /ready`` also needs one answer from the model: if no request has been answered yet, it
makes a warm-up call on a harmless example (zeros, or a short text) and reports its failure.
Python cannot stop a thread, so a call that never returns keeps its thread for good; the
runner only stops waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

logger = logging.getLogger("utils.deployment.serving")

#: Seconds a request waits for the model by default (``create_app`` and the command line).
DEFAULT_INFERENCE_TIMEOUT: float = 10.0


def check_timeout(value: Any, name: str = "inference_timeout") -> float | None:
    """Return ``value`` as a positive number of seconds, or None (no time-out); else ValueError."""
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a positive number of seconds or None (no time-out), got {value!r}"
        )
    return float(value)


class ModelUnavailable(Exception):
    """The model cannot answer now: a 503 or 504 with a message, a type and a Retry-After."""

    def __init__(self, status: int, msg: str, kind: str, retry_after: float | None = None) -> None:
        super().__init__(msg)
        self.status, self.msg, self.kind = status, msg, kind
        self.headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after else None


class _CallWatch:
    """The start time of every model call in progress; the oldest one says if the model is stuck."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._started: dict[int, float] = {}
        self._lock = threading.Lock()
        self._next = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            self._next += 1
            token = self._next
            self._started[token] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                del self._started[token]

    def oldest_age(self) -> float | None:
        with self._lock:
            oldest = min(self._started.values(), default=None)
        return None if oldest is None else time.monotonic() - oldest

    def stuck_for(self) -> float | None:
        """Seconds the oldest call has run, if that is longer than the time-out; else None."""
        age = self.oldest_age()
        if self.timeout is None or age is None or age < self.timeout:
            return None
        return age


class _MicroBatcher:
    """Collects concurrent requests into one model call on a worker thread.

    Whatever is queued when the worker is free goes into the next call (up to ``max_rows``
    rows), after waiting at most ``wait_ms`` for more. The event loop only awaits a future.
    Requests that stopped waiting (their time-out passed) are dropped from the next call.
    """

    def __init__(
        self, predict: Callable[[np.ndarray], np.ndarray], max_rows: int, wait_ms: float
    ) -> None:
        self._predict, self._max_rows, self._wait = predict, max_rows, wait_ms / 1000.0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.calls = 0

    def submit(self, x: np.ndarray) -> asyncio.Future[np.ndarray]:
        """Queue ``x``; the returned future (of the running loop) receives its probabilities."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._ensure_running()
        self._queue.put((x, loop, future))
        return future

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="micro-batcher", daemon=True)
                self._thread.start()

    def stop(self, wait: float = 5.0) -> None:
        """Let the worker finish its call and exit, waiting for it at most ``wait`` seconds."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=wait)

    def _next_batch(self, first: Any) -> tuple[list[Any], bool]:
        """``first`` and what else is queued (up to ``max_rows`` rows); True if told to stop."""
        items, rows = [first], len(first[0])
        deadline = time.monotonic() + self._wait
        while rows < self._max_rows:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    nxt = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if nxt is None:
                return items, True
            items.append(nxt)
            rows += len(nxt[0])
        return items, False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            items, stop = self._next_batch(item)
            self._run_batch([it for it in items if not it[2].done()])  # drop abandoned requests
            if stop:
                return

    def _run_batch(self, items: list[Any]) -> None:
        if not items:
            return
        self.calls += 1
        try:
            x = items[0][0] if len(items) == 1 else np.concatenate([it[0] for it in items])
            p = self._predict(x)
        except Exception as exc:
            for _, loop, fut in items:
                _deliver(loop, fut, None, exc)
            return
        start = 0
        for xi, loop, fut in items:
            part = p[start : start + len(xi)]
            start += len(xi)
            _deliver(loop, fut, part, None)


def _deliver(
    loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], value: Any, exc: BaseException | None
) -> None:
    """Hand a result to the request's event loop, unless the request or its loop is gone."""
    if fut.done():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed after the request gave up
        loop.call_soon_threadsafe(_resolve, fut, value, exc)


def _resolve(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.done():  # the client went away, or its time-out passed
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


class _DaemonThreads:
    """Reusable daemon threads for model calls without micro-batching.

    A thread whose call never returns is simply never reused; being a daemon, it does not keep
    the process alive when the server stops. Idle threads wait for the next call, so there are
    never more of them than calls that once ran at the same time.
    """

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[queue.SimpleQueue[Any]] = queue.SimpleQueue()

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on an idle thread, or on a new one if none is idle."""
        try:
            inbox = self._idle.get_nowait()
        except queue.Empty:
            inbox = queue.SimpleQueue()
            threading.Thread(
                target=self._work, args=(inbox,), name="model-call", daemon=True
            ).start()
        inbox.put(job)

    def _work(self, inbox: queue.SimpleQueue[Any]) -> None:
        while True:
            job = inbox.get()
            if job is None:
                return
            job()
            self._idle.put(inbox)

    def stop(self) -> None:
        """End the idle threads (a busy one ends when its call returns and it is told to)."""
        while True:
            try:
                self._idle.get_nowait().put(None)
            except queue.Empty:
                return


class ModelRunner:
    """Runs the model for the app's requests, on a worker thread, with a time-out.

    Args:
        predict: the model call, ``(n, ...) -> (n, k)`` probabilities.
        observe: ``observe(ms)`` records how long a request's model call took.
        probe: one harmless example (a batch of one) for the warm-up call of ``GET /ready``.
        check: ``check(p, n)`` returns ``p`` if it is ``n`` rows of probabilities, else raises.
        timeout: seconds a request waits for the model; None waits for ever.
        micro_batching, micro_batch_rows, batch_wait_ms: as in ``create_app``.
    """

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        *,
        observe: Callable[[float], None],
        probe: np.ndarray,
        check: Callable[[Any, int], np.ndarray],
        timeout: float | None,
        micro_batching: bool,
        micro_batch_rows: int,
        batch_wait_ms: float,
    ) -> None:
        self.timeout = timeout
        self._predict, self._observe, self._probe, self._check = predict, observe, probe, check
        self._watch = _CallWatch(timeout)
        self.batcher = (
            _MicroBatcher(self._watched(self._timed), micro_batch_rows, batch_wait_ms)
            if micro_batching
            else None
        )
        self._threads = _DaemonThreads()
        self.answered = False  # the model has answered once (a request or the warm-up)
        self.timed_out = 0  # requests answered 504
        self.refused = 0  # requests answered 503 because the model was stuck
        self._reported_stuck = False

    def _timed(self, x: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        p = self._predict(x)
        self._observe((time.perf_counter() - t0) * 1000.0)
        return p

    def _watched(
        self, fn: Callable[[np.ndarray], np.ndarray]
    ) -> Callable[[np.ndarray], np.ndarray]:
        def call(x: np.ndarray) -> np.ndarray:
            with self._watch.running():
                return fn(x)

        return call

    async def _in_thread(self, fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> Any:
        """``fn(x)`` on a worker thread, waited for at most the time-out (TimeoutError)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        call = self._watched(fn)

        def job() -> None:
            try:
                value, error = call(x), None
            except Exception as exc:
                value, error = None, exc
            _deliver(loop, future, value, error)

        self._threads.run(job)
        return await asyncio.wait_for(future, self.timeout)

    def _stuck_error(self) -> ModelUnavailable | None:
        age = self._watch.stuck_for()
        if age is None:
            self._reported_stuck = False
            return None
        if not self._reported_stuck:
            self._reported_stuck = True
            logger.error(
                "the model is stuck: a call has run for %.1f s (time-out %g s); "
                "predictions are refused with 503 until it returns",
                age,
                self.timeout,
            )
        return ModelUnavailable(
            503,
            f"the model is stuck: a call started {age:.1f} s ago has not returned "
            f"(time-out {self.timeout:g} s); no prediction is possible until it does",
            "model_stuck",
            retry_after=self.timeout,
        )

    async def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for ``x``. Raises ModelUnavailable (stuck or too slow), or the model's error."""
        stuck = self._stuck_error()
        if stuck is not None:
            self.refused += 1
            raise stuck
        try:
            if self.batcher is not None:
                raw = await asyncio.wait_for(self.batcher.submit(x), self.timeout)
            else:
                raw = await self._in_thread(self._timed, x)
        except TimeoutError:
            self.timed_out += 1
            logger.error(
                "the model did not answer a batch of shape %s within %g s", x.shape, self.timeout
            )
            raise ModelUnavailable(
                504,
                f"the model did not answer within {self.timeout:g} s (the server's "
                "inference time-out); the request was abandoned",
                "inference_timeout",
            ) from None
        p = self._check(raw, len(x))
        self.answered = True
        return p

    async def ready(self) -> None:
        """Return if the model can answer now; raise ModelUnavailable (503) if it cannot."""
        stuck = self._stuck_error()
        if stuck is not None:
            raise stuck
        if self.answered:
            return
        try:  # on a thread of its own, not timed: the warm-up is not a request
            self._check(await self._in_thread(self._predict, self._probe), len(self._probe))
        except TimeoutError:
            raise ModelUnavailable(
                503,
                f"the model did not answer its warm-up call within {self.timeout:g} s",
                "model_not_ready",
            ) from None
        except Exception as exc:
            raise ModelUnavailable(
                503,
                f"the model failed its warm-up call: {type(exc).__name__}: {exc}",
                "model_not_ready",
            ) from None
        self.answered = True

    @property
    def calls(self) -> int | None:
        """Model calls made by the micro-batcher (None without micro-batching)."""
        return self.batcher.calls if self.batcher is not None else None

    def stats(self) -> dict[str, Any]:
        """The time-out and what it did, for ``GET /metrics``."""
        age = self._watch.stuck_for()
        return {
            "timeout_s": self.timeout,
            "timed_out": self.timed_out,
            "refused_while_stuck": self.refused,
            "stuck_for_s": None if age is None else round(age, 3),
        }

    def stop(self) -> None:
        """Stop the worker threads; a stuck call is not waited for."""
        self._threads.stop()
        if self.batcher is not None:
            stuck = self._watch.stuck_for() is not None
            self.batcher.stop(wait=0.0 if stuck else min(5.0, self.timeout or 5.0))
