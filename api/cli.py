"""`forecall`: serve the API, manage keys, train models."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from pydantic import ValidationError

DEMO_KEY = "fc_demo_admin_key_do_not_use_in_production"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from models.train.cli import main as train_main

        return train_main(argv[1:])
    if argv[:1] == ["check"]:
        from predictors.lint import main as check_main

        return check_main(argv[1:])
    parser = argparse.ArgumentParser(prog="forecall", description=__doc__)
    parser.add_argument("--config", help="YAML settings file (same as FORECALL_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="load a simulated population")
    serve.add_argument("--demo-customers", type=int, default=None)

    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated: ingest,ivr,desk,...")
    keys_sub.add_parser("list")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("key_id")

    sub.add_parser("worker", help="run a dispatcher worker (delivers the outbox)")
    sub.add_parser("sweep", help="run the daily sweep now (inactivity, birthdays)")
    replay = sub.add_parser("replay", help="what follow-ups would have done over past events")
    replay.add_argument("--customers", required=True, help="customers.jsonl")
    replay.add_argument("--events", required=True, help="events.jsonl")
    replay.add_argument("--followups", help="scenarios YAML (default: the built-in pack)")
    replay.add_argument("--channels", default="telegram,sms,email")
    sub.add_parser("train", help="train a model (forecall train --help)")
    sub.add_parser("check", help="lint scenario and action files (forecall check FILE...)")

    args = parser.parse_args(argv)
    if args.config:
        os.environ["FORECALL_CONFIG"] = args.config
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "worker":
            return asyncio.run(_worker())
        if args.command == "sweep":
            return asyncio.run(_sweep())
        if args.command == "replay":
            return asyncio.run(_replay(args))
        return asyncio.run(_keys(args))
    except ValidationError as exc:
        source = os.environ.get("FORECALL_CONFIG", "FORECALL_* environment")
        print(f"forecall: invalid settings (from {source}):", file=sys.stderr)
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            print(f"  {where}: {error['msg']}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"forecall: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from core.settings import Settings

    if args.demo:
        os.environ["FORECALL_DEMO"] = "true"
        os.environ.setdefault("FORECALL_ADMIN_KEY", DEMO_KEY)
    if args.demo_customers:
        os.environ["FORECALL_DEMO_CUSTOMERS"] = str(args.demo_customers)
    settings = Settings()  # fail here, with a readable message, not inside a worker
    if settings.demo and settings.admin_key and settings.admin_key.get_secret_value() == DEMO_KEY:
        print(f"forecall: demo mode; API key with every scope: {DEMO_KEY}", file=sys.stderr)
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )
    return 0


async def _worker() -> int:
    """Deliver the outbox until SIGTERM or SIGINT; the batch in hand is finished first."""
    import signal

    from api.logs import configure
    from connectors.outbox import open_outbox
    from connectors.store import open_store
    from core.clock import SystemClock
    from core.settings import Settings
    from proactive.runtime import (
        KEEP_ALIVE_SECONDS,
        http_client,
        keep_alive,
        make_dispatcher,
        open_channels,
    )

    settings = Settings()
    configure(settings.log_level)
    store = open_store(settings.store)
    outbox = open_outbox(settings.store)
    client = http_client()
    channels = open_channels(settings, client, store, SystemClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(
            make_dispatcher(settings, store, outbox, channels, SystemClock()).run(stop),
            keep_alive(channels, stop, KEEP_ALIVE_SECONDS),
        )
    finally:
        for channel in channels.values():
            await channel.aclose()
        await client.aclose()
        await outbox.close()
        await store.close()
    return 0


async def _sweep() -> int:
    """Find inactive customers and birthdays; schedule their follow-ups once."""
    from connectors.outbox import open_outbox
    from connectors.store import open_store
    from core.events import Catalogue
    from core.settings import Settings
    from proactive.followups import Followups
    from proactive.runtime import load_followups
    from proactive.sweep import sweep

    settings = Settings()
    store = open_store(settings.store)
    outbox = open_outbox(settings.store)
    catalogue = Catalogue.with_extensions(
        config.spec(name) for name, config in settings.event_types.items()
    )
    followups = Followups(
        store, outbox, load_followups(settings), catalogue, set(settings.channels)
    )
    try:
        result = await sweep(store, followups, catalogue, time.time(), settings.default_time_zone)
    finally:
        await outbox.close()
        await store.close()
    print(
        f"swept {result.customers} customers: {result.inactive} inactive, "
        f"{result.birthdays} birthdays"
    )
    return 0


async def _replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.events import Catalogue
    from predictors.scenarios import BUILTIN, load_scenarios
    from proactive.replay import render, replay

    catalogue = Catalogue.with_extensions()
    scenarios = load_scenarios(args.followups or BUILTIN, catalogue)
    for name in ("customers", "events"):
        if not Path(getattr(args, name)).is_file():
            print(f"forecall: --{name}: no file {getattr(args, name)}", file=sys.stderr)
            return 2
    tally = await replay(
        Path(args.customers),
        Path(args.events),
        scenarios,
        catalogue,
        [c.strip() for c in args.channels.split(",") if c.strip()],
    )
    print(render(tally))
    return 0


async def _keys(args: argparse.Namespace) -> int:
    from connectors.store import open_store
    from core.apikeys import new_key
    from core.settings import SCOPES, Settings

    store = open_store(Settings().store)
    try:
        if args.action == "create":
            scopes = frozenset(s.strip() for s in args.scopes.split(",") if s.strip())
            unknown = sorted(scopes - set(SCOPES))
            if unknown or not scopes:
                print(f"forecall: --scopes: choose from {', '.join(SCOPES)}", file=sys.stderr)
                return 2
            secret, key = new_key(args.name, scopes, time.time())
            await store.put_api_key(key)
            print(f"id {key.id}  scopes {','.join(sorted(scopes))}\n{secret}")
        elif args.action == "list":
            for key in await store.list_api_keys():
                print(f"{key.id}  {key.name}  {','.join(sorted(key.scopes))}")
        elif not await store.revoke_api_key(args.key_id):
            print(f"forecall: no key {args.key_id}", file=sys.stderr)
            return 1
        return 0
    finally:
        await store.close()


if __name__ == "__main__":
    raise SystemExit(main())
