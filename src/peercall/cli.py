"""``peercall`` command line."""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import ValidationError

from peercall.recording import cli as recording_cli
from peercall.store import cli as db_cli
from peercall.turn import cli as turn_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peercall", description="Peer-to-peer WebRTC calls")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a call server (signaling, REST API, web client)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--tls", help="off | auto (self-signed) | CERT,KEY")
    serve.add_argument("--config", help="TOML config file (also PEERCALL_CONFIG)")
    serve.add_argument("--data-dir", help="where the database and generated secrets live")
    serve.add_argument(
        "--demo", action="store_true", default=None, help="enable /demo (creates rooms without a dashboard)"
    )
    turn_cli.add_subcommand(commands)
    recording_cli.add_subcommand(commands)
    db_cli.add_subcommand(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "turn":
        return turn_cli.run(args)
    if args.command == "recording":
        return recording_cli.run(args)
    if args.command == "db":
        return db_cli.run(args)
    if args.command == "serve":
        if args.config:
            os.environ["PEERCALL_CONFIG"] = args.config
        from peercall.config import load_settings
        from peercall.server.run import serve

        try:
            settings = load_settings(
                host=args.host, port=args.port, tls=args.tls, data_dir=args.data_dir, demo=args.demo
            )
        except ValidationError as exc:
            print(f"peercall: invalid configuration:\n{exc}", file=sys.stderr)
            return 2
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
