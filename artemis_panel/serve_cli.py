"""``artemis serve``: check the login configuration (``artemis_panel/auth_config.py``), then hand over to
``panel serve panel_serve.py`` with the flags and environment that switch it on.

    artemis serve [--port P] [--address A] [--num-procs N] [--num-threads N] [--sync-every INTERVAL
                  [--sync-from URI ...]] [--dry-run] [panel serve args]

A configuration that cannot work (login on without a cookie secret, a missing or malformed credentials
or access file, ...) is reported in full and nothing is started (exit status 2). Every server answers
``GET /health`` (store readable: ``artemis_panel/health.py``) and ``GET /liveness`` (Panel's own) without
a login. With ``--sync-every`` one scheduled sync (``artemis sync --every``) runs beside the server, in
one process whatever ``--num-procs`` says, and stops with it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from artemis_panel.auth_config import ROOT

# Flags of `panel serve` that the ARTEMIS_* variables set: given by hand they would bypass or break the
# hashed passwords and the access mapping.
RESERVED = ("--basic-auth", "--auth-module", "--cookie-secret", "--oauth-provider", "--oauth-key", "--oauth-secret",
            "--oauth-extra-params", "--oauth-redirect-uri", "--oauth-encryption-key", "--oauth-jwt-user",
            "--oauth-optional", "--oauth-guest-endpoints")


UNUSED_SESSION_LIFETIME_MS = 120_000
# Run by each server process before it answers (`--setup`): see artemis_panel/server_setup.py.
SETUP_SCRIPT = ROOT / "artemis_panel" / "server_setup.py"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (with the login ARTEMIS_AUTH configures)", allow_abbrev=False,
                       description="Serve the dashboard with `panel serve`; any further arguments go to it. "
                                   "Login: ARTEMIS_AUTH=none|basic|oidc and the variables of the README.")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default=None, help="address to listen on (default: all)")
    p.add_argument("--num-procs", type=int, default=1, help="worker processes (0: one per core)")
    p.add_argument("--num-threads", type=int, default=4, help="threads per process for the queries")
    p.add_argument("--sync-every", default=None, metavar="INTERVAL",
                   help="also run the scheduled sync (e.g. 15m): one per store, beside the server")
    p.add_argument("--sync-from", action="append", default=None, metavar="URI",
                   help="what the scheduled sync reads (repeatable; default: the runs folder and the demo run)")
    p.add_argument("--dry-run", action="store_true", help="check and print the command, start nothing")
    p.set_defaults(func=cmd_serve, extra_args=True)


def panel_command(args, panel_args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and the environment of ``panel serve``; AuthConfigError if the login is misconfigured."""
    from artemis_panel.auth_config import check, from_env, panel_launch

    cfg = check(from_env())
    auth_args, env_changes = panel_launch(cfg)
    argv = [sys.executable, "-m", "panel", "serve", str(ROOT / "panel_serve.py"), "--port", str(args.port),
            "--num-procs", str(args.num_procs), "--num-threads", str(args.num_threads),
            "--plugins", "artemis_panel.health", "--liveness", "--setup", str(SETUP_SCRIPT)]
    if not any(a.split("=")[0] == "--unused-session-lifetime" for a in panel_args):
        # A page's WebSocket connects after its HTML; on a busy server that can take longer than Bokeh's
        # default 15 s, and a session discarded as unused by then leaves that page dead.
        argv += ["--unused-session-lifetime", str(UNUSED_SESSION_LIFETIME_MS)]
    if args.address:
        argv += ["--address", args.address]
    if cfg.enabled:  # the title of the login and logout pages
        argv += ["--page-config", '{"title": "Artemis MMM"}']
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return argv + auth_args + list(panel_args), env


def cmd_serve(args) -> int:
    from artemis_panel.auth_config import AuthConfigError

    panel_args = list(getattr(args, "extra", []) or [])
    clash = [a for a in panel_args if a.split("=")[0] in RESERVED]
    if clash:
        print(f"error: {', '.join(clash)}: login is configured with the ARTEMIS_AUTH variables (see the README), "
              "not with panel serve's own flags", file=sys.stderr)
        return 2
    if args.num_procs < 0 or args.num_threads < 1 or not (0 < args.port < 65536):
        print("error: --port must be 1-65535, --num-procs 0 or more, --num-threads 1 or more", file=sys.stderr)
        return 2
    try:
        argv, env = panel_command(args, panel_args)
    except AuthConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        print("nothing was started.", file=sys.stderr)
        return 2
    mode = env.get("ARTEMIS_AUTH", "none")
    print(f"login: {mode}" + ("" if mode == "none" else f" (access: {env['ARTEMIS_ACCESS']})"), file=sys.stderr)
    print(shlex.join(argv), file=sys.stderr)
    sync_argv = None
    if getattr(args, "sync_every", None):
        from store.schedule import ScheduleError, parse_interval

        try:
            parse_interval(args.sync_every)
        except ScheduleError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        sync_argv = [sys.executable, "-m", "artemis_panel.cli", "sync", "--every", args.sync_every]
        for uri in args.sync_from or []:
            sync_argv += ["--from", uri]
        print("scheduled sync: " + shlex.join(sync_argv), file=sys.stderr)
    if args.dry_run:
        return 0
    from artemis_panel.startup import ensure_store

    print(f"store: {ensure_store(env.get('ARTEMIS_STORE') or None)}", file=sys.stderr)  # ready before the first visit
    sys.stdout.flush()
    sys.stderr.flush()
    if sync_argv is None:
        os.execve(argv[0], argv, env)
        return 0  # not reached
    return _serve_with_sync(argv, sync_argv, env)


def _serve_with_sync(argv: list[str], sync_argv: list[str], env: dict[str, str]) -> int:
    """Run the server and the scheduled sync side by side until the server ends or SIGTERM / Ctrl-C
    arrives, then stop both. A scheduler that ends early (another one already syncs this store) leaves
    the server serving. Returns the server's exit status (0 when stopped by a signal)."""
    import signal
    import subprocess
    import time

    sync = subprocess.Popen(sync_argv, env=env)
    server = subprocess.Popen(argv, env=env)
    stopping: list[bool] = []
    old = {sig: signal.signal(sig, lambda *_: stopping.append(True)) for sig in (signal.SIGTERM, signal.SIGINT)}
    said = False
    try:
        while not stopping and server.poll() is None:
            if not said and sync.poll() is not None:
                said = True
                print(f"the scheduled sync ended (status {sync.returncode}); the server goes on without it",
                      file=sys.stderr, flush=True)
            time.sleep(0.2)
    finally:
        for proc in (server, sync):
            if proc.poll() is None:
                proc.terminate()
        for proc in (server, sync):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0 if stopping else server.returncode
