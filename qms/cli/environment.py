"""Every environment variable `qms` reads: one list, shown in `qms --help` and in docs/reference.

The CLI is the only reader of the environment (the library never is); a test keeps this
list and the names the command modules read the same.
"""

from __future__ import annotations

__all__ = ["VARIABLES", "help_text"]

VARIABLES: dict[str, str] = {
    "QMS_HOME": "your own qmskit folder: keys, identities, trusted CAs, sessions (default: the platform's "
                "user config folder, e.g. ~/.config/qms); never inside a repository",
    "QMS_USER": "who is acting when no identity is unlocked (`qms session unlock`); never used for signatures",
    "QMS_DATABASE_URL": "the record store, over the project's database_url (e.g. postgresql+psycopg://host/db); "
                        "keep a password here or in ~/.pgpass, never in the configuration",
    "QMS_DEBUG": "1 shows an internal error's traceback (as --debug does)",
    "QMS_SIGNING_PASSPHRASE": "a CI service identity's signing passphrase (a person types it at each signing)",
    "QMS_SIGNING_PASSPHRASE_FILE": "a file holding a CI service identity's signing passphrase",
    "QMS_NEW_PASSPHRASE": "the passphrase of a key being created (`qms user add | import | rotate-key`), "
                          "instead of the prompt",
    "QMS_CA_PASSPHRASE": "the CA key's passphrase (`qms ca init`, issuing certificates), instead of the prompt",
    "QMS_IMPORT_PASSPHRASE": "the passphrase of a PKCS#12 file being imported (`qms user import`)",
}


def help_text() -> str:
    """The variables as a help section, one per paragraph (click rewraps each)."""
    return "Environment:\n\n" + "\n\n".join(f"{name}: {text}." for name, text in VARIABLES.items())
