"""What an excuse may carry: a PDF, JPEG or PNG, judged by its first bytes, never by
its name or the browser's word; at most EXCUSE_ATTACHMENT_MAX_BYTES."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

# (first bytes, content type, extension), the signatures the formats begin with.
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]
EXTENSIONS = {content_type: extension for _magic, content_type, extension in SIGNATURES}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidAttachment(ValueError):
    """A file that may not be attached; the message says why."""


@dataclass(frozen=True)
class CheckedAttachment:
    file: UploadedFile
    content_type: str
    extension: str
    name: str
    size: int


def sniff(head: bytes) -> tuple[str, str] | None:
    """The (content type, extension) the bytes begin with, or None."""
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def safe_name(original: str, extension: str) -> str:
    """The student's file name in letters, digits, dot, dash and underscore, ending in
    the extension of what the file really is; it cannot break a header."""
    stem = original.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    cleaned = _UNSAFE.sub("_", stem).strip("._-")[:80] or "attachment"
    return f"{cleaned}.{extension}"


def check_attachment(upload: UploadedFile) -> CheckedAttachment:
    """The upload, if it is a PDF, JPEG or PNG of the allowed size; else InvalidAttachment."""
    limit = settings.EXCUSE_ATTACHMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise InvalidAttachment(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; attach one of at most "
            f"{limit / 1024 / 1024:.0f} MB."
        )
    if not upload.size:
        raise InvalidAttachment("The file is empty.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    found = sniff(head)
    if found is None:
        raise InvalidAttachment(
            "Attach a PDF, JPEG or PNG: this file's content is none of those, whatever its name."
        )
    content_type, extension = found
    return CheckedAttachment(
        file=upload,
        content_type=content_type,
        extension=extension,
        name=safe_name(upload.name or "", extension),
        size=upload.size,
    )
