"""The PDFs authorities' portals give as receipts, kept beside the engine's data: the
incident's record holds the digest, this folder the document (owner-only, as every
file that may carry personal data)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

RECEIPT_LIMIT = 10 * 1024 * 1024
"""A receipt is a page or two; anything larger is not one."""


class NotAReceipt(ValueError):
    """The upload is not a PDF, or too large to be a receipt."""


def keep_receipt(data_dir: Path, reference: str, filing: int, pdf: bytes) -> str:
    """Store ``pdf`` once under its digest and return the digest (a second upload of
    the same document writes nothing)."""
    if len(pdf) > RECEIPT_LIMIT or not pdf.startswith(b"%PDF-"):
        raise NotAReceipt(reference)
    digest = hashlib.sha256(pdf).hexdigest()
    folder = data_dir / "receipts"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{reference}-{filing}-{digest[:16]}.pdf"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return digest
    with os.fdopen(fd, "wb") as out:
        out.write(pdf)
    return digest
