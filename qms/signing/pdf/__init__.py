"""PAdES signatures on PDF documents: roles declared first, then incremental signatures, then offline checks.

`roles` declares one empty signature field per required role; `sign` adds one signature
as an incremental update (to each document of a batch: `sign_pdfs`); `verify` checks every
signature and that every declared role is signed. Importing this package loads pyHanko: callers that must start fast import it
inside the function that signs or verifies.
"""

from qms.signing.pdf.document import is_pdf
from qms.signing.pdf.roles import RoleSpec, prepare_signature_fields
from qms.signing.pdf.sign import PdfToSign, sign_pdf, sign_pdfs
from qms.signing.pdf.verify import PdfReport, verify_pdf
from qms.signing.signatory import Signatory

__all__ = ["PdfReport", "PdfToSign", "RoleSpec", "Signatory", "is_pdf", "prepare_signature_fields", "sign_pdf", "sign_pdfs",
           "verify_pdf"]
