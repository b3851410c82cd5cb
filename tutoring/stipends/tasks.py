from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tutoring.stipends import ledger

REBUILT_DAYS = 2  # yesterday and the day before: a rating or a late "went off duty" may come the next day


@shared_task
def ledger_build_recent() -> int:
    """The ledger of the last days, built anew from the facts (run nightly by beat); the lines written."""
    today = timezone.localdate()
    return sum(ledger.ledger_build(today - timedelta(days=back)) for back in range(1, REBUILT_DAYS + 1))
