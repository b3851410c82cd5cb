from django.utils.functional import Promise


class ServiceError(Exception):
    """A request the domain refuses, with a stable code and a message for the user.

    ``status`` is the HTTP status an API answers with; ``field`` names the input at fault.
    """

    def __init__(self, code: str, message: str | Promise, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
