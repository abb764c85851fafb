"""``peercall turn config`` and ``peercall turn test``.

Heavy imports (aioice, rich) happen only when a ``turn`` command runs, so ``peercall
serve`` does not pay for them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any


def add_subcommand(commands: Any) -> None:
    """Register ``turn config`` and ``turn test`` on the top-level subparsers."""
    turn = commands.add_parser("turn", help="coturn configuration and TURN server tests")
    sub = turn.add_subparsers(dest="turn_command", required=True)

    config = sub.add_parser("config", help="write a hardened coturn config matching this server's settings")
    config.add_argument("--config", help="peercall TOML config file (also PEERCALL_CONFIG)")
    config.add_argument("-o", "--output", help="file to write (mode 0600); default: standard output")
    config.add_argument("--secret", help="shared secret (default: turn_secret / PEERCALL_TURN_SECRET)")
    config.add_argument("--realm", help="TURN realm (default: turn_realm)")
    config.add_argument("--listening-ip", action="append", help="address to listen on (repeatable)")
    config.add_argument("--relay-ip", action="append", help="address to relay from (repeatable)")
    config.add_argument("--external-ip", help="PUBLIC or PUBLIC/PRIVATE when coturn is behind NAT")
    config.add_argument("--port", type=int, help="UDP and TCP listening port (default 3478)")
    config.add_argument("--tls-port", type=int, help="TLS listening port (default 443)")
    config.add_argument("--min-port", type=int, help="first relay port (default 49152)")
    config.add_argument("--max-port", type=int, help="last relay port (default 65535)")
    config.add_argument("--cert", type=Path, help="TLS certificate chain (PEM); without it TURNS is off")
    config.add_argument("--pkey", type=Path, help="TLS private key (PEM)")

    test = sub.add_parser("test", help="prove STUN and TURN over UDP, TCP and TLS really relay data")
    test.add_argument("urls", nargs="*", metavar="URL", help="stun:/turn:/turns: URLs (default: configured servers)")
    creds = test.add_mutually_exclusive_group()
    creds.add_argument(
        "--secret", help="TURN REST shared secret (default: turn_secret, e.g. PEERCALL_TURN_SECRET): makes credentials"
    )
    creds.add_argument("--username", help="a TURN username (with --password)")
    test.add_argument("--password", help="the TURN password for --username")
    test.add_argument("--json", action="store_true", help="print one JSON object (checks, dangerous, …)")
    test.add_argument("--ca", type=Path, help="extra CA certificate (PEM) to trust for TURNS")
    test.add_argument("--bind", help="local address for the probe's sockets (default: any)")
    test.add_argument("--timeout", type=float, default=5.0, help="seconds per step (default 5)")
    test.add_argument("--ttl", type=int, default=300, help="lifetime of credentials made from --secret (s)")
    test.add_argument("--no-negative", action="store_true", help="skip the probes that must be refused")
    test.add_argument("--config", help="peercall TOML config file, for the default URLs and secret")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "config", None):
        os.environ["PEERCALL_CONFIG"] = args.config
    if args.turn_command == "config":
        return _config(args)
    return _test(args)


def _fail(message: str) -> int:
    print(f"peercall turn: {message}", file=sys.stderr)
    return 2


def _config(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from peercall.config import load_settings
    from peercall.turn.coturn_config import CoturnConfigError, CoturnOptions, render_coturn_config

    try:
        settings = load_settings()
        overrides: dict[str, object] = {
            "secret": args.secret,
            "realm": args.realm,
            "listening_ips": tuple(args.listening_ip) if args.listening_ip else None,
            "relay_ips": tuple(args.relay_ip) if args.relay_ip else None,
            "external_ip": args.external_ip,
            "port": args.port,
            "tls_port": args.tls_port,
            "min_port": args.min_port,
            "max_port": args.max_port,
            "cert": args.cert,
            "pkey": args.pkey,
        }
        if args.secret and not settings.turn_secret:
            settings = settings.model_copy(update={"turn_secret": args.secret})
        text = render_coturn_config(CoturnOptions.from_settings(settings, **overrides))
    except (ValidationError, CoturnConfigError, ValueError) as exc:
        return _fail(str(exc))
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode on O_CREAT: the secret must not be readable
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _test(args: argparse.Namespace) -> int:
    from peercall.turn.report import ProbeReport

    if (args.username is None) != (args.password is None):
        return _fail("--username and --password go together")
    targets = [(list(args.urls), args.secret or _configured_secret(args))] if args.urls else _configured()
    if not targets:
        return _fail("give URLs, or configure turn_servers / turn_urls")
    reports = []
    for urls, secret in targets:
        report = _probe(args, urls, args.secret or secret)
        if isinstance(report, int):
            return report
        reports.append(report)
    merged = ProbeReport(
        [c for r in reports for c in r.checks],
        [n for r in reports for n in r.negative],
        reports[0].credential,
        round(sum(r.wall_ms for r in reports), 2),
    )
    if args.json:
        print(json.dumps(merged.to_dict(), default=str))
    else:
        from rich.console import Console

        from peercall.turn.report import render

        console = Console()
        if not console.is_terminal:
            console.width = 160  # a log or a pipe: do not wrap rows at 80 columns
        render(merged, console)
    return 0 if merged.ok else 1


def _probe(args: argparse.Namespace, urls: list[str], secret: str | None) -> Any:
    """One server's report, or an exit status for a usage error."""
    from peercall.turn.ice_servers import turn_credentials
    from peercall.turn.probe import ProbeOptions, run_probe, wrong_password
    from peercall.turn.urls import expand

    try:
        parsed = expand(urls)
    except ValueError as exc:
        return _fail(str(exc))
    needs_turn = any(u.is_turn for u in parsed)
    if secret:
        username, password = turn_credentials(secret, "peercall-probe", args.ttl)
    elif args.username:
        username, password = args.username, args.password
    elif needs_turn:
        return _fail("TURN URLs need --secret S or --username U --password P")
    else:
        username = password = ""
    options = ProbeOptions(
        username=username,
        password=password,
        wrong_password=wrong_password() if needs_turn else None,
        ca_file=args.ca,
        bind=args.bind,
        timeout_s=args.timeout,
        negative=not args.no_negative,
    )
    return asyncio.run(run_probe(parsed, options))


def _configured_secret(args: argparse.Namespace) -> str | None:
    """The configured secret (keeps it off the command line, where `ps` shows it)."""
    if args.username:
        return None
    from peercall.config import load_settings

    return load_settings().turn_secret


def _configured() -> list[tuple[list[str], str | None]]:
    """One target per configured region: its URLs and its secret."""
    from peercall.config import load_settings
    from peercall.turn.ice_servers import IceServerProvider

    provider = IceServerProvider.from_settings(load_settings())
    return [(list(region.urls), region.secret) for region in provider.regions]
