"""``artemis serve``: check the login configuration (``artemis_panel/auth_config.py``), then hand over to
``panel serve panel_serve.py`` with the flags and environment that switch it on.

    artemis serve [--port P] [--address A] [--num-procs N] [--num-threads N] [--dry-run] [panel serve args]

A configuration that cannot work (login on without a cookie secret, a missing or malformed credentials
or access file, ...) is reported in full and nothing is started (exit status 2).
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


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (with the login ARTEMIS_AUTH configures)", allow_abbrev=False,
                       description="Serve the dashboard with `panel serve`; any further arguments go to it. "
                                   "Login: ARTEMIS_AUTH=none|basic|oidc and the variables of the README.")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default=None, help="address to listen on (default: all)")
    p.add_argument("--num-procs", type=int, default=1, help="worker processes (0: one per core)")
    p.add_argument("--num-threads", type=int, default=4, help="threads per process for the queries")
    p.add_argument("--dry-run", action="store_true", help="check and print the command, start nothing")
    p.set_defaults(func=cmd_serve, extra_args=True)


def panel_command(args, panel_args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and the environment of ``panel serve``; AuthConfigError if the login is misconfigured."""
    from artemis_panel.auth_config import check, from_env, panel_launch

    cfg = check(from_env())
    auth_args, env_changes = panel_launch(cfg)
    argv = [sys.executable, "-m", "panel", "serve", str(ROOT / "panel_serve.py"), "--port", str(args.port),
            "--num-procs", str(args.num_procs), "--num-threads", str(args.num_threads)]
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
    if args.dry_run:
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)
    return 0  # not reached
