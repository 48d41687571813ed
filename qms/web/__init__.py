"""`qms serve`: review, approve and sign in the browser, on the same library the CLI calls.

The web application adds sessions, never business rules: every page reads through the
library functions the commands use (`qms.gate.verify`, `qms.traceability.trace`,
`qms.release.service.sign`, `qms.audit.log`...), and every change is made by them, with
the signed-in identity as the audit event's actor.

    from qms.web import WebSettings, create_app
    app = create_app(WebSettings.for_project(root, database_url, identity_dir))
"""

from qms.web.app import create_app
from qms.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
