"""Serving stored files: permission checks happen before; this answers Range requests so phones can seek."""

import re
from collections.abc import Iterator

from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def stored_file_response(request: HttpRequest, name: str, content_type: str) -> HttpResponseBase:
    """The stored file ``name``: whole, or the byte range asked for (206), or 416 for a range outside it.

    Remote storage (S3) answers with a short-lived signed URL, which serves ranges itself.
    """
    if not isinstance(default_storage, FileSystemStorage):
        return redirect(default_storage.url(name))
    size = default_storage.size(name)
    match = RANGE.match(request.headers.get("Range", "").strip())
    if match is None or not any(match.groups()):
        response: HttpResponseBase = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    else:
        first, last = match.groups()
        start, end = (size - int(last), size - 1) if not first else (int(first), min(int(last or size - 1), size - 1))
        if start < 0 or start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        file = default_storage.open(name, "rb")
        file.seek(start)
        remaining = end - start + 1

        def chunks() -> Iterator[bytes]:
            nonlocal remaining
            with file:
                while remaining > 0:
                    data = file.read(min(CHUNK, remaining))
                    if not data:
                        return
                    remaining -= len(data)
                    yield data

        response = FileResponse(chunks(), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response
