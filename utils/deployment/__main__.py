"""Command line: ``python -m utils.deployment serve MODEL_PATH --port 8000``.

Introduced in labs/w1_deploy_a_model.ipynb, which starts the same server from a notebook.
``--input-type text`` serves a text pipeline, such as the final project's spam filter (the
project's pages serve it from a notebook instead). ``--engine ray --replicas N`` serves the same
app from N replicas of the model on Ray Serve (week1/05_scaling_out.ipynb; module
``utils.deployment.engines.ray_serve``), an optional extra: without it, the option is refused
with the install line.

A bad option is reported on one line that names the option and what it accepts, with exit
status 2, before anything starts: the address is bound before the model is loaded, so an
unknown ``--host`` or a busy ``--port`` fails at once.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

#: uvicorn's log levels, the values ``--log-level`` accepts.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: The serving engines: one uvicorn process (the default), or Ray Serve.
ENGINES = ("uvicorn", "ray")

#: create_app's parameters and the options that set them, to name the option in an error.
_OPTIONS = {
    "class_names": "--class-names",
    "input_shape": "--input-shape",
    "model_version": "--model-version",
    "model_name": "--model-name",
    "max_request_rows": "--max-request-rows",
    "max_body_bytes": "--max-body-bytes",
    "max_text_chars": "--max-text-chars",
    "input_type": "--input-type",
    "micro_batch_rows": "--micro-batch-rows",
}


#: What to do when the address cannot be bound, by the option at fault.
_BIND_HINTS = {
    "host": "give a name or address of this machine, such as 127.0.0.1 or ::1 (this machine "
    "only) or 0.0.0.0 (every network interface)",
    "port": "choose a free port in 1..65535 (ports below 1024 need administrator rights)",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the option, the problem, the way out."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number_option(
    convert: Callable[[str], float], ok: Callable[[float], bool], expected: str
) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the text, keep it if ``ok``, else say what was expected."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number_option(int, lambda v: v >= 1, "a positive whole number")
_port = _number_option(int, lambda v: 0 < v < 65536, "a port number in 1..65535")
_seconds = _number_option(float, lambda v: v > 0, "a positive number of seconds")


def _timeout(text: str) -> float | None:
    """Seconds, or None for ``0`` and ``none`` (no time-out)."""
    if text.strip().lower() in ("none", "0", "0.0"):
        return None
    try:
        return float(_seconds(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, or 0 or none for no time-out, got {text!r}"
        ) from None


def _shape(text: str) -> list[int]:
    if not re.fullmatch(r"\s*\d+\s*(,\s*\d+\s*)*", text) or any(
        int(d) < 1 for d in text.split(",")
    ):
        raise argparse.ArgumentTypeError(
            f"expected positive whole numbers separated by commas, such as 28,28 or 28,28,1; "
            f"got {text!r}"
        )
    return [int(d) for d in text.split(",")]


def _names(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",")]
    if len(names) < 2 or not all(names):
        raise argparse.ArgumentTypeError(
            f"expected two or more non-empty names separated by commas, such as 'cat,dog'; "
            f"got {text!r}"
        )
    return names


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m utils.deployment", description="Serve a saved classifier over HTTP."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = sub.add_parser(
        "serve",
        help="serve a .keras, .joblib or .pkl model with uvicorn (or Ray Serve)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_model_options(serve)
    _add_engine_options(serve)
    _add_request_options(serve)
    _add_connection_options(serve)
    return parser


def _add_model_options(serve: argparse.ArgumentParser) -> None:
    """The model to serve, the address to serve it at, and what it is told about its inputs."""
    add = serve.add_argument
    add("model_path", help="the saved model (.keras, .joblib or .pkl)")
    add("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    add("--port", type=_port, default=8000, help="TCP port, 1..65535")
    add("--model-name", default=None, help="name shown by /metadata (the file's name if omitted)")
    add("--model-version", default="1", help="version in X-Model-Version")
    add(
        "--class-names",
        type=_names,
        default=None,
        help="comma-separated class names, one per model output",
    )
    add(
        "--input-type",
        choices=("numbers", "text"),
        default="numbers",
        help="what one example is: nested numbers or one string",
    )
    add(
        "--input-shape",
        type=_shape,
        default=None,
        help="shape of one example, e.g. 28,28 (read from the model if omitted)",
    )


def _add_engine_options(serve: argparse.ArgumentParser) -> None:
    """Which engine serves the app: one uvicorn process, or replicas on Ray Serve."""
    add = serve.add_argument
    add(
        "--engine",
        choices=ENGINES,
        default="uvicorn",
        help="uvicorn: one process; ray: Ray Serve, the model in --replicas replicas "
        "(needs the scale extra)",
    )
    add(
        "--replicas",
        type=_positive_int,
        default=argparse.SUPPRESS,  # absent unless given, so that the uvicorn engine can refuse it
        metavar="N",
        help="replicas of the model (--engine ray only; default 2)",
    )


def _add_request_options(serve: argparse.ArgumentParser) -> None:
    """How large a request may be, and how requests reach the model."""
    from utils.deployment.inference import DEFAULT_INFERENCE_TIMEOUT

    add = serve.add_argument
    add(
        "--max-request-rows",
        type=_positive_int,
        default=256,
        metavar="N",
        help="most examples one request may carry (more is answered 422)",
    )
    add("--max-body-bytes", type=_positive_int, default=2_000_000, help="largest request body")
    add(
        "--max-text-chars",
        type=_positive_int,
        default=5_000,
        help="longest text one example may be, in characters (text only)",
    )
    add(
        "--no-micro-batching",
        action="store_true",
        help="call the model once per request instead of merging requests",
    )
    add(
        "--micro-batch-rows",
        type=_positive_int,
        default=64,
        metavar="N",
        help="rows at which merging requests into one model call stops",
    )
    add(
        "--inference-timeout",
        type=_timeout,
        default=DEFAULT_INFERENCE_TIMEOUT,
        metavar="SECONDS",
        help="longest wait for the model before a 504 (0 or none: no time-out)",
    )


def _add_connection_options(serve: argparse.ArgumentParser) -> None:
    """The server's limits on connections (ConnectionLimits' defaults), and its log level."""
    from utils.deployment.connections import ConnectionLimits

    limits = ConnectionLimits()
    add = serve.add_argument
    add(
        "--header-timeout",
        type=_seconds,
        default=limits.header_timeout,
        metavar="SECONDS",
        help="time a client has to send a request's head before it is dropped (uvicorn only)",
    )
    add(
        "--timeout-keep-alive",
        type=_seconds,
        default=limits.keep_alive,
        metavar="SECONDS",
        help="an idle connection is closed after this",
    )
    add(
        "--limit-concurrency",
        type=_positive_int,
        default=limits.max_concurrency,
        metavar="N",
        help="connections or requests at once beyond which new requests get 503",
    )
    add("--log-level", type=str.lower, choices=LOG_LEVELS, default="info", help="server log")


def _fail(option: str | None, message: str) -> int:
    where = f"argument {option}: " if option else ""
    print(f"python -m utils.deployment serve: error: {where}{message}", file=sys.stderr)
    return 2


def _option_in(message: str) -> str | None:
    """The option whose create_app parameter an error message names first, if any."""
    found = [(message.find(name), option) for name, option in _OPTIONS.items() if name in message]
    return min(found)[1] if found else None


class _OptionError(Exception):
    """create_app refused a value; ``option`` is the command-line option that set it."""

    def __init__(self, option: str | None, message: str) -> None:
        super().__init__(message)
        self.option = option


def _app_options(args: argparse.Namespace) -> dict[str, Any]:
    """create_app's options, as the command line sets them."""
    return {
        "model_name": args.model_name or os.path.splitext(os.path.basename(args.model_path))[0],
        "model_version": args.model_version,
        "input_type": args.input_type,
        "input_shape": args.input_shape,
        "class_names": args.class_names,
        "max_request_rows": args.max_request_rows,
        "max_body_bytes": args.max_body_bytes,
        "max_text_chars": args.max_text_chars,
        "micro_batching": not args.no_micro_batching,
        "micro_batch_rows": args.micro_batch_rows,
        "inference_timeout": args.inference_timeout,
    }


def _build_app(args: argparse.Namespace) -> Any:
    from utils.deployment.serving import create_app, load_model

    predictor = load_model(args.model_path, input_type=args.input_type)
    try:
        return create_app(predictor, **_app_options(args))
    except (ValueError, TypeError) as exc:
        option = _option_in(str(exc))
        raise _OptionError(option, str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.engine != "ray" and hasattr(args, "replicas"):
        return _fail("--replicas", "applies to --engine ray only")
    if args.engine == "ray":
        from utils.deployment.engines import INSTALL_LINE, ray_available

        if not ray_available():
            return _fail("--engine", f"ray is not installed; install it with: {INSTALL_LINE}")
    for name, value in (
        ("TF_CPP_MIN_LOG_LEVEL", "3"),
        ("TF_ENABLE_ONEDNN_OPTS", "0"),
        ("KERAS_BACKEND", "tensorflow"),
    ):
        os.environ.setdefault(name, value)
    from utils.deployment.connections import BindError, ConnectionLimits, bind_socket

    limits = ConnectionLimits(
        header_timeout=args.header_timeout,
        keep_alive=args.timeout_keep_alive,
        max_concurrency=args.limit_concurrency,
    )
    if not os.path.isfile(args.model_path):
        return _fail("model_path", f"path {args.model_path!r} is not a file")
    try:  # before the slow part (loading the model), so that a bad address fails at once
        sock = bind_socket(args.host, args.port)
    except BindError as exc:
        return _fail(f"--{exc.option}", f"{exc}; {_BIND_HINTS[exc.option]}")
    if args.engine == "ray":
        sock.close()  # Serve's proxy binds the address itself
        return _serve_on_ray(args, limits)
    try:
        app = _build_app(args)
    except _OptionError as exc:
        sock.close()
        return _fail(exc.option, str(exc))
    except (OSError, ValueError, TypeError) as exc:  # the model file
        sock.close()
        return _fail("model_path", str(exc))
    return _serve(app, sock, args, limits)


def _serve(app: Any, sock: Any, args: argparse.Namespace, limits: Any) -> int:
    import uvicorn

    # Everything loaded so far (TensorFlow, the model) lives as long as the process: freezing it
    # keeps the garbage collector from walking those objects again, a source of long pauses.
    gc.collect()
    gc.freeze()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"note: binding {args.host} makes the server reachable from other machines",
            file=sys.stderr,
        )
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(f"serving {app.title} at {url} (docs: {url}/docs); Ctrl+C stops it", file=sys.stderr)
    server = uvicorn.Server(limits.uvicorn_config(app, log_level=args.log_level))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _serve_on_ray(args: argparse.Namespace, limits: Any) -> int:
    """Load the model, start it on Ray Serve, answer until Ctrl+C or SIGTERM, then stop Ray."""
    import signal
    import time

    from utils.deployment.engines.ray_instance import start_ray, stop_ray
    from utils.deployment.engines.ray_patterns import plan
    from utils.deployment.engines.ray_serve import serve_on_ray
    from utils.deployment.serving import load_model

    try:
        predictor = load_model(args.model_path, input_type=args.input_type)
    except (OSError, ValueError, TypeError) as exc:
        return _fail("model_path", str(exc))
    options, replicas = _app_options(args), getattr(args, "replicas", 2)
    try:
        plan(predictor, options)  # every option checked, before Ray starts
    except (ValueError, TypeError) as exc:
        return _fail(_option_in(str(exc)), str(exc))
    on_term = signal.getsignal(signal.SIGTERM)
    try:
        start_ray()
        # ray.init installs a handler that ends the process at once: ours stops Ray first
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server = serve_on_ray(
            predictor,
            replicas=replicas,
            host=args.host,
            port=args.port,
            keep_alive=limits.keep_alive,
            max_concurrency=limits.max_concurrency,
            log_level=args.log_level if args.log_level != "trace" else "debug",
            **options,
        )
        title = f"{options['model_name']} (version {options['model_version']})"
        print(
            f"serving {title} at {server.url} (docs: {server.url}/docs) on Ray Serve, "
            f"{replicas} replica(s); Ctrl+C stops it",
            file=sys.stderr,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as exc:  # Ray or Serve did not start
        print(f"python -m utils.deployment serve: error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_ray()
        signal.signal(signal.SIGTERM, on_term)
    return 0


if __name__ == "__main__":
    sys.exit(main())
