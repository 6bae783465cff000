"""``python -m dintero_django.emulator``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from .app import DEFAULT_ACCOUNT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator
from .persistence import StateFileError

ENV_PREFIX = "DINTERO_EMULATOR_"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dintero_django.emulator",
        description="Stateful Dintero emulator (Orders + Checkout APIs). Every flag also "
        f"reads an environment variable {ENV_PREFIX}<FLAG>, e.g. {ENV_PREFIX}PORT.",
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8765")))
    parser.add_argument("--account-id", default=_env("ACCOUNT_ID", DEFAULT_ACCOUNT_ID))
    parser.add_argument("--client-id", default=_env("CLIENT_ID", DEFAULT_CLIENT_ID))
    parser.add_argument("--client-secret", default=_env("CLIENT_SECRET", DEFAULT_CLIENT_SECRET))
    parser.add_argument(
        "--signature-secret",
        default=_env("SIGNATURE_SECRET", ""),
        help="sign callbacks with Dintero-Signature (empty: unsigned)",
    )
    parser.add_argument(
        "--state-file",
        default=_env("STATE_FILE", "") or None,
        help="keep the records (sessions, transactions, orders, ...) in this JSON file across "
        "restarts: read at start, written atomically after every change (default: memory only)",
    )
    parser.add_argument(
        "--callback-allow-http",
        action="store_true",
        default=_env("CALLBACK_ALLOW_HTTP", "").lower() in ("1", "true", "yes", "on"),
        help="deliver callbacks to plain-http and loopback URLs (a local shop); Dintero "
        "delivers only to HTTPS, so without this flag such callbacks are skipped",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    return parser.parse_args(argv)


def _secret_source(secret: str) -> str:
    """Where the client secret comes from: the secret itself is never printed (logs keep it)."""
    if secret == DEFAULT_CLIENT_SECRET:
        return "client_secret: the default (docs/emulator.md)"
    return f"client_secret: as given (--client-secret or {ENV_PREFIX}CLIENT_SECRET)"


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind serve_forever() the same way Ctrl-C does, so shutdown is one code path.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        emulator = Emulator(
            account_id=args.account_id,
            client_id=args.client_id,
            client_secret=args.client_secret,
            signature_secret=args.signature_secret,
            host=args.host,
            port=args.port,
            quiet=args.quiet,
            state_file=args.state_file,
            callback_allow_http=args.callback_allow_http,
        ).bind()
    except StateFileError as error:
        print(f"emulator: {error}", file=sys.stderr, flush=True)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signing = "signed (secret set)" if args.signature_secret else "unsigned"
    if args.callback_allow_http:
        signing += ", also to plain-http URLs (--callback-allow-http)"
    print(f"Dintero emulator listening on {emulator.url}", flush=True)
    secret = _secret_source(args.client_secret)
    print(f"  account_id={emulator.account_id} client_id={emulator.client_id} {secret}", flush=True)
    print(f"  callbacks: {signing}; control API: {emulator.url}/_emulator/", flush=True)
    print(f"  state: {_state_line(emulator, args.state_file)}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        emulator.stop()
    return 0


def _state_line(emulator: Emulator, state_file: str | None) -> str:
    if state_file is None:
        return "in memory only (--state-file keeps it across restarts)"
    if not emulator.restored:
        return f"new, kept in {state_file}"
    store = emulator.runtime.store
    return (
        f"restored from {state_file}: {len(store.sessions)} sessions, "
        f"{len(store.transactions)} transactions, {len(store.orders)} orders"
    )


if __name__ == "__main__":
    sys.exit(main())
