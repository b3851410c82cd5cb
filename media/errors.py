"""Exceptions raised by the media helpers.

``code`` is a stable identifier for programs and logs; ``message`` is a lazily
translated sentence that can be shown to the student as is.
"""

from django.utils.functional import Promise

StrOrPromise = str | Promise


class _MediaError(Exception):
    def __init__(self, code: str, message: StrOrPromise, detail: str = "") -> None:
        # args hold only plain strings, so str(exc) and logs never force a translation.
        super().__init__(*((code, detail) if detail else (code,)))
        self.code = code
        self.message = message


class InvalidUpload(_MediaError):
    """An uploaded file was rejected before any processing.

    Codes: empty_file, too_large, not_an_image, corrupt_image, too_many_pixels,
    not_audio, not_a_video, not_a_pdf, corrupt_pdf, too_many_pages.
    """


class MediaProcessingError(_MediaError):
    """Processing an accepted file failed; ``args`` carry details for the logs.

    Codes: photo_failed, ocr_failed, transcode_failed, asr_failed, pdf_failed.
    """
