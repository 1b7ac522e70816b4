"""The ``artemis users`` commands: who may log in (the credentials file, hashes only) and what they may
see (the access mapping file).

    artemis users add NAME --role analyst --brands artemis-burgers[,other] [--password-stdin]
    artemis users add NAME --role admin --brands all --no-password   # OIDC users: access only
    artemis users list
    artemis users remove NAME

The files default to ``$ARTEMIS_CREDENTIALS`` and ``$ARTEMIS_ACCESS`` (``--credentials`` and
``--access`` name others). Groups of an OIDC provider are granted by editing the access file
(``groups:``, see the README).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="manage the users who may log in, their role and brands")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def files(q: argparse.ArgumentParser) -> None:
        q.add_argument("--credentials", default=None,
                       help="credentials file (JSON, password hashes; default $ARTEMIS_CREDENTIALS)")
        q.add_argument("--access", default=None,
                       help="access mapping file (YAML, or JSON if it ends in .json; default $ARTEMIS_ACCESS)")

    q = users.add_parser("add", help="add a user (prompts for the password)")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=("analyst", "modeler", "admin"))
    q.add_argument("--brands", required=True,
                   help="comma-separated brand ids or names the user may see, or 'all'")
    q.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    q.add_argument("--no-password", action="store_true",
                   help="only grant access (users who log in through OIDC have no password here)")
    q.add_argument("--replace", action="store_true", help="replace the user if they exist (new password and access)")
    files(q)
    q.set_defaults(func=cmd_add)

    q = users.add_parser("list", help="list the users and groups, their role and brands")
    files(q)
    q.set_defaults(func=cmd_list)

    q = users.add_parser("remove", help="remove a user (their password and their access)")
    q.add_argument("name")
    files(q)
    q.set_defaults(func=cmd_remove)


class UsersError(Exception):
    pass


def _paths(args, need_credentials: bool) -> tuple[Path | None, Path]:
    access = args.access or os.environ.get("ARTEMIS_ACCESS")
    creds = args.credentials or os.environ.get("ARTEMIS_CREDENTIALS")
    if not access:
        raise UsersError("no access file: pass --access FILE or set ARTEMIS_ACCESS")
    if need_credentials and not creds:
        raise UsersError("no credentials file: pass --credentials FILE or set ARTEMIS_CREDENTIALS "
                         "(or --no-password for a user who logs in through OIDC)")
    return (Path(creds).expanduser() if creds else None), Path(access).expanduser()


def _read_password(from_stdin: bool) -> str:
    from artemis_panel.credentials import MIN_PASSWORD_LENGTH

    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise UsersError("the two passwords differ")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsersError(f"the password is too short (at least {MIN_PASSWORD_LENGTH} characters)")
    return password


def _load(creds: Path | None, access: Path):
    from artemis_panel.credentials import load_credentials
    from store.access import AccessMap, load_access

    users = load_credentials(creds) if creds is not None and creds.exists() else {}
    mapping = load_access(access) if access.exists() else AccessMap(source=str(access))
    return users, mapping


def _run(fn, args) -> int:
    from artemis_panel.credentials import CredentialsError
    from store.access import AccessFileError

    try:
        return fn(args)
    except (UsersError, CredentialsError, AccessFileError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def cmd_add(args) -> int:
    return _run(_add, args)


def _add(args) -> int:
    from artemis_panel.credentials import hash_password, save_credentials
    from store.access import Grant, parse_brands, save_access

    name = args.name.strip()
    if not name or name != args.name or any(c in name for c in "\n\r\t"):
        raise UsersError(f"invalid user name {args.name!r} (no surrounding spaces or control characters)")
    if args.no_password and args.password_stdin:
        raise UsersError("--no-password and --password-stdin exclude each other")
    creds, access = _paths(args, need_credentials=not args.no_password)
    users, mapping = _load(creds, access)
    exists = name in mapping.users or name in users
    if exists and not args.replace:
        raise UsersError(f"user {name!r} exists (in {access if name in mapping.users else creds}): "
                         "pass --replace to change them")
    brands = parse_brands(args.brands, f"--brands {args.brands!r}")
    if brands == ():
        raise UsersError("--brands names no brand (give brand ids or names, or 'all')")
    grant = Grant(args.role, brands)
    if not args.no_password:
        users[name] = hash_password(_read_password(args.password_stdin))
        save_credentials(users, creds)
    elif creds is not None and name in users and args.replace:
        del users[name]  # replaced by a user without a password here
        save_credentials(users, creds)
    mapping.users[name] = grant
    save_access(mapping, access)
    shown = "all brands" if brands is None else ", ".join(brands)
    print(f"{'updated' if exists else 'added'} {name}: {args.role}, {shown}"
          + ("" if args.no_password else f" (password hash in {creds})"))
    return 0


def cmd_list(args) -> int:
    return _run(_list, args)


def _list(args) -> int:
    creds, access = _paths(args, need_credentials=False)
    users, mapping = _load(creds, access)
    rows = []
    for name in sorted(set(users) | set(mapping.users)):
        g = mapping.users.get(name)
        rows.append(("user", name, g.role if g else "-", _brands(g) if g else "(no access: sees nothing)",
                     "yes" if name in users else "no"))
    for name, g in sorted(mapping.groups.items()):
        rows.append(("group", name, g.role, _brands(g), "-"))
    if not rows:
        print(f"no users in {access}")
        return 0
    head = ("kind", "name", "role", "brands", "password")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def _brands(g) -> str:
    return "all" if g.brands is None else (", ".join(g.brands) or "(none)")


def cmd_remove(args) -> int:
    return _run(_remove, args)


def _remove(args) -> int:
    from artemis_panel.credentials import save_credentials
    from store.access import save_access

    creds, access = _paths(args, need_credentials=False)
    users, mapping = _load(creds, access)
    if args.name not in users and args.name not in mapping.users:
        raise UsersError(f"no user {args.name!r} in {access}" + (f" or {creds}" if creds else ""))
    if args.name in users:
        del users[args.name]
        save_credentials(users, creds)
    if args.name in mapping.users:
        del mapping.users[args.name]
        save_access(mapping, access)
    print(f"removed {args.name}")
    return 0
