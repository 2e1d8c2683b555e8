"""Command line: ``python -m utils.deployment serve MODEL_PATH --port 8000``.

Introduced in labs/w1_deploy_a_model.ipynb, which starts the same server from a notebook.
``--input-type text`` serves a text pipeline, such as the final project's spam filter (the
project's pages serve it from a notebook instead).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utils.deployment",
                                     description="Serve a saved classifier over HTTP.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a .keras, .joblib or .pkl model with uvicorn")
    serve.add_argument("model_path", help="the saved model (.keras, .joblib or .pkl)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--model-name", default=None, help="name shown by /metadata")
    serve.add_argument("--model-version", default="1", help="version in X-Model-Version")
    serve.add_argument("--class-names", default=None,
                       help="comma-separated class names, one per model output")
    serve.add_argument("--input-type", choices=("numbers", "text"), default="numbers",
                       help="what one example is: nested numbers (default) or one string")
    serve.add_argument("--input-shape", default=None,
                       help="shape of one example, e.g. 28,28 (read from the model if omitted)")
    serve.add_argument("--max-batch-rows", type=int, default=256)
    serve.add_argument("--max-body-bytes", type=int, default=2_000_000)
    serve.add_argument("--max-text-chars", type=int, default=5_000,
                       help="longest text one example may be, in characters (text only)")
    serve.add_argument("--no-micro-batching", action="store_true",
                       help="call the model once per request instead of merging requests")
    serve.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port must be in 1..65535, got {args.port}", file=sys.stderr)
        return 2
    for name, value in (("TF_CPP_MIN_LOG_LEVEL", "3"), ("TF_ENABLE_ONEDNN_OPTS", "0"),
                        ("KERAS_BACKEND", "tensorflow")):
        os.environ.setdefault(name, value)
    import uvicorn

    from utils.deployment.serving import create_app, load_model

    try:
        predictor = load_model(args.model_path, input_type=args.input_type)
        names = [s.strip() for s in args.class_names.split(",")] if args.class_names else None
        shape = [int(s) for s in args.input_shape.split(",")] if args.input_shape else None
        app = create_app(
            predictor,
            model_name=args.model_name or os.path.splitext(os.path.basename(args.model_path))[0],
            model_version=args.model_version, input_type=args.input_type, input_shape=shape,
            class_names=names, max_batch_rows=args.max_batch_rows,
            max_body_bytes=args.max_body_bytes, max_text_chars=args.max_text_chars,
            micro_batching=not args.no_micro_batching,
        )
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Everything loaded so far (TensorFlow, the model) lives as long as the process: freezing it
    # keeps the garbage collector from walking those objects again, a source of long pauses.
    gc.collect()
    gc.freeze()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: binding {args.host} makes the server reachable from other machines",
              file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
