"""Starts daphne (same arguments) without Twisted's parsing of multipart request bodies.

``twisted.web.http.Request`` parses every multipart POST body into ``request.args``
on the event-loop thread unless it is built with ``parsePOSTFormSubmission=False``.
Daphne never reads ``args``: it hands the raw body to Django, which parses it again.
Measured on photo submits, that parsing took a quarter of a web process's CPU and
stalled every other connection meanwhile. Usage: ``python -m config.web [daphne args]``.
"""

from daphne import http_protocol
from daphne.cli import CommandLineInterface


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


def main() -> None:
    # daphne's HTTPFactory.buildProtocol looks the request class up in its module.
    http_protocol.WebRequest = WebRequest  # type: ignore[misc]
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
