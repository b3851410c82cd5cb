"""What the base template of every page reads besides the view's own context (settings: TEMPLATES)."""

from django.http import HttpRequest

from frontend.views import lecture_notices_data


def lecture_notices(request: HttpRequest) -> dict[str, object]:
    """On each page of a student's, the notices of the lectures they signed up for: started, moved, cancelled.
    A view's own ``lecture_notices`` replaces these: with the live lectures its page lists (the home page), or
    None where no notice belongs (the session room)."""
    user = request.user
    if not (user.is_authenticated and user.is_student):
        return {}
    return {"lecture_notices": lecture_notices_data()}
