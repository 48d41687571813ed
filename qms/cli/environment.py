"""Every environment variable `qms` reads: one list, shown in `qms --help`, each command's --help and docs/reference.

The CLI is the only reader of the environment (the library never is); a test keeps this
list and the names the command modules read the same, and another each command's help
and `READ_BY`.
"""

from __future__ import annotations

import typer

__all__ = ["GENERAL", "READ_BY", "VARIABLES", "annotate", "help_text", "variables_of"]

VARIABLES: dict[str, str] = {
    "QMS_HOME": "your own qmskit folder: keys, identities, trusted CAs, sessions (default: the platform's "
                "user config folder, e.g. ~/.config/qms); never inside a repository",
    "QMS_USER": "the name recorded as `unverified:NAME` when no identity is unlocked (`qms session unlock`), only in "
                "a project with no enrolled identity (then such a command is refused); never used for signatures",
    "QMS_DATABASE_URL": "the record store, over the project's database_url (e.g. postgresql+psycopg://host/db); "
                        "keep a password here or in ~/.pgpass, never in the configuration",
    "QMS_DEBUG": "1 shows an internal error's traceback (as --debug does)",
    "QMS_SIGNING_PASSPHRASE": "a CI service identity's signing passphrase (a person types it at each signing)",
    "QMS_SIGNING_PASSPHRASE_FILE": "a file holding a CI service identity's signing passphrase",
    "QMS_NEW_PASSPHRASE": "the passphrase of a key being created or imported (`qms user add`, "
                          "`qms user rotate-key`), instead of the prompt",
    "QMS_CA_PASSPHRASE": "the CA key's passphrase (`qms ca init`, issuing certificates), instead of the prompt",
    "QMS_IMPORT_PASSPHRASE": "the passphrase of a CA-issued key being imported (`qms user add --pkcs12`, "
                             "`qms user add --cert --key`), instead of the prompt",
}


GENERAL = ("QMS_HOME", "QMS_USER", "QMS_DATABASE_URL", "QMS_DEBUG")
"""Read by every command that finds the project, its record store, the acting user or an error."""

_SIGNING = ("sign", "release", "protocol lock", "roster approve", "session unlock", "monitor run", "monitor labels",
            "selftest")
READ_BY: dict[str, tuple[str, ...]] = {
    "QMS_SIGNING_PASSPHRASE": _SIGNING,
    "QMS_SIGNING_PASSPHRASE_FILE": _SIGNING,
    "QMS_NEW_PASSPHRASE": ("user add", "user rotate-key"),
    "QMS_CA_PASSPHRASE": ("ca init", "ca issue-tsa", "ca crl", "user add", "user rotate-key", "user revoke"),
    "QMS_IMPORT_PASSPHRASE": ("user add",),
}
"""The other variables, each with the commands (`group command`) that read it."""


def variables_of(command: str) -> list[str]:
    """The variables `command` (e.g. "user add") reads, in VARIABLES' order."""
    return [name for name in VARIABLES if name in GENERAL or command in READ_BY.get(name, ())]


def help_text(names: list[str] | None = None) -> str:
    """The variables (all when None) as a help section, one per paragraph (click rewraps each)."""
    return "Environment:\n\n" + "\n\n".join(f"{name}: {VARIABLES[name]}." for name in names or VARIABLES)


def annotate(app: typer.Typer, prefix: str = "") -> None:
    """Give every command registered on `app` (and its groups) an epilog listing the variables it reads."""
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        command.epilog = help_text(variables_of(f"{prefix}{name}"))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            annotate(group.typer_instance, f"{prefix}{group.name or group.typer_instance.info.name} ")
