import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from tutoring.core.errors import ServiceError
from tutoring.stipends import ledger, services

logger = logging.getLogger(__name__)

REBUILT_DAYS = 2  # yesterday and the day before: a rating or a late "went off duty" may come the next day


@shared_task
def ledger_build_recent() -> int:
    """The ledger of the last days, built anew from the facts (run hourly by beat); the lines written."""
    today = timezone.localdate()
    return sum(ledger.ledger_build(today - timedelta(days=back)) for back in range(1, REBUILT_DAYS + 1))


@shared_task
def statements_build_last_month() -> int:
    """Last month's statements, built anew while its school months are drafts, and the late facts of the months
    already frozen carried into the next (run daily by beat, so a month is stated the day after it ends);
    the statements built."""
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    try:
        built = services.statements_build(last_month)
        services.late_facts_carry(last_month)
    except ServiceError as error:  # no rule version in force yet: nothing to state until an administrator sets one
        logger.warning("stipends.not_stated", extra={"month": last_month.isoformat(), "code": error.code})
        return 0
    services.late_facts_carry((last_month - timedelta(days=1)).replace(day=1))
    return built
