"""Rule versions and monthly statements.

A statement prices a teacher's month from the workload ledger (``ledger``): each day by the rule version in force
that day for the teacher's school (``rule_in_force``), its time by the slot of each hour, its sessions and its
lectures; the month's sum by version, times that version's quality factor (from the month's ratings), floored.
``statement_compute`` does the arithmetic on plain lines, so that ``statements_verify`` recomputes a month from
the facts themselves (not from the stored ledger) the same way and compares every figure.
"""

import calendar
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import TeacherProfile, User
from tutoring.core.errors import ServiceError
from tutoring.schools.models import School
from tutoring.stipends import ledger, pricing
from tutoring.stipends.models import LedgerLine, Statement, StatementDay, StipendRule

logger = logging.getLogger(__name__)

LINE_FIELDS = ("teacher_id", "day", "kind", "source", "counted_ms", "students", "rating", "flag", "details")
DAY_FIGURES = (
    "duty_ms",
    "session_ms",
    "sessions",
    "flagged",
    "students",
    "lectures",
    "audience",
    "videos",
    "helped",
    "ratings",
    "rating_sum",
    "good_ratings",
)
PRICED = ("time_fen", "session_fen", "lecture_fen", "credit")


def month_days(month: date) -> list[date]:
    first = month.replace(day=1)
    return [first + timedelta(days=n) for n in range(calendar.monthrange(first.year, first.month)[1])]


# --- Rule versions ------------------------------------------------------------------------------


class Rules:
    """The active rule versions, read once: which one is in force for a school on a day."""

    def __init__(self, versions: Iterable[StipendRule]) -> None:
        self.by_place: dict[tuple[str, int], list[StipendRule]] = defaultdict(list)
        for version in versions:
            self.by_place[place_of(version)].append(version)
        for place in self.by_place.values():
            place.sort(key=lambda version: version.effective_from, reverse=True)

    @classmethod
    def active(cls) -> "Rules":
        return cls(StipendRule.objects.filter(status=StipendRule.Status.ACTIVE))

    def in_force(self, school: School, day: date) -> StipendRule | None:
        """The school's version in force on ``day``; else its district's; else its city's."""
        for place in (("school", school.pk), ("district", school.district_id), ("city", school.district.city_id)):
            version = next((v for v in self.by_place.get(place, []) if v.effective_from <= day), None)
            if version is not None:
                return version
        return None


def place_of(rule: StipendRule) -> tuple[str, int]:
    """The place a version is for: its school, else its district, else its city."""
    if rule.school_id:
        return ("school", rule.school_id)
    if rule.district_id:
        return ("district", rule.district_id)
    return ("city", rule.city_id)


def rule_activate(*, rule: StipendRule, user: User) -> StipendRule:
    """Put a draft version in force. Refused: a version that does not start on a month's first day, one that
    starts in a month already stated for the place (a new version never changes a built month), and a second
    version of the place from the same day."""
    if rule.status != StipendRule.Status.DRAFT:
        raise ServiceError("rule_not_draft", _("Only a draft rule version can be put in force."), status=409)
    if rule.effective_from.day != 1:
        raise ServiceError(
            "rule_not_month_start", _("A rule version starts on the first day of a month."), field="effective_from"
        )
    with transaction.atomic():
        rivals = StipendRule.objects.select_for_update().filter(
            city_id=rule.city_id, status=StipendRule.Status.ACTIVE, effective_from=rule.effective_from
        )
        if any(place_of(rival) == place_of(rule) for rival in rivals):
            raise ServiceError(
                "rule_overlaps",
                _("This place already has a rule version in force from that month."),
                field="effective_from",
            )
        if _stated(rule).exists():
            raise ServiceError(
                "rule_backdated",
                _("Statements of that month or a later one already exist; start the version after them."),
                field="effective_from",
            )
        rule.status = StipendRule.Status.ACTIVE
        rule.activated_at = timezone.now()
        rule.save(update_fields=["status", "activated_at"])
    logger.info("stipends.rule_activated", extra={"rule_id": rule.pk, "user_id": user.pk})
    return rule


def _stated(rule: StipendRule) -> Any:
    """The statements of the rule's place from its first month on."""
    statements = Statement.objects.filter(month__gte=rule.effective_from)
    if rule.school_id:
        return statements.filter(school_id=rule.school_id)
    if rule.district_id:
        return statements.filter(school__district_id=rule.district_id)
    return statements.filter(school__district__city_id=rule.city_id)


# --- Statements ---------------------------------------------------------------------------------


@dataclass
class Computed:
    """A statement's figures before they are stored: the month's, and each day's (with its rule version)."""

    figures: dict[str, Any]
    days: list[dict[str, Any]]


def statement_compute(*, school: School, month: date, lines: Sequence[Mapping[str, Any]], rules: Rules) -> Computed:
    """Price one teacher's lines of a month (dicts of ``LedgerLine`` fields). A day with work and no rule version
    in force is refused."""
    by_day: dict[date, list[Mapping[str, Any]]] = defaultdict(list)
    for line in lines:
        by_day[line["day"]].append(line)
    days: list[dict[str, Any]] = []
    base: dict[int, int] = defaultdict(int)  # by rule version
    rated: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # rule version → [sum, count]
    versions: dict[int, StipendRule] = {}
    for day in sorted(by_day):
        rule = rules.in_force(school, day)
        if rule is None:
            raise ServiceError(
                "no_rule",
                _("No rule version is in force for %(school)s on %(day)s.") % {"school": school, "day": day},
            )
        versions[rule.pk] = rule
        totals = pricing.day_totals(by_day[day])
        priced = pricing.day_priced(day, totals, rule)
        days.append({"day": day, "rule_id": rule.pk, **{key: totals[key] for key in DAY_FIGURES}, **priced})
        base[rule.pk] += priced["time_fen"] + priced["session_fen"] + priced["lecture_fen"]
        rated[rule.pk][0] += totals["rating_sum"]
        rated[rule.pk][1] += totals["ratings"]
    quality = {}
    amount = 0
    for rule_id in sorted(versions):
        permille = pricing.quality_permille(rated[rule_id][0], rated[rule_id][1], versions[rule_id])
        paid = base[rule_id] * permille // 1000
        quality[str(rule_id)] = {"base_fen": base[rule_id], "permille": permille, "amount_fen": paid}
        amount += paid
    figures = {
        "month": month.replace(day=1).isoformat(),
        "school": school.pk,
        "workload_ms": sum(day["duty_ms"] + day["session_ms"] for day in days),
        "base_fen": sum(base.values()),
        "amount_fen": amount,
        "credit": sum(day["credit"] for day in days),
        "quality": quality,
    }
    return Computed(figures=figures, days=days)


def content_hash(figures: Mapping[str, Any], days: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of a statement's figures and days, in a canonical JSON."""
    canonical = json.dumps(
        {"figures": figures, "days": [{**day, "day": day["day"].isoformat()} for day in days]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _schools(teacher_ids: Iterable[int]) -> dict[int, School]:
    profiles = TeacherProfile.objects.filter(user_id__in=teacher_ids).select_related("school__district")
    return {profile.user_id: profile.school for profile in profiles}


def statements_build(month: date, *, now: Any = None) -> int:
    """Build the month's ledger anew from the facts, then every teacher's statement of the month with work in
    it; the number of statements. All or nothing: a day without a rule version in force refuses the month."""
    month = month.replace(day=1)
    built_at = now or timezone.now()
    upto = ledger.Upto.latest()
    for day in month_days(month):
        ledger.ledger_build(day, now=built_at, upto=upto)
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = LedgerLine.objects.filter(day__gte=month, day__lte=month_days(month)[-1]).values(*LINE_FIELDS)
    for line in rows.order_by("teacher_id", "day", "source"):
        lines[line["teacher_id"]].append(line)
    schools = _schools(lines)
    rules = Rules.active()
    with transaction.atomic():
        Statement.objects.filter(month=month).delete()
        for teacher_id in sorted(lines):
            if teacher_id not in schools:  # no teacher profile (an administrator who lectured): not paid here
                continue
            computed = statement_compute(school=schools[teacher_id], month=month, lines=lines[teacher_id], rules=rules)
            _store(teacher_id, month, computed, built_at, upto)
    logger.info("stipends.statements_built", extra={"month": month.isoformat(), "teachers": len(lines)})
    return Statement.objects.filter(month=month).count()


def _store(teacher_id: int, month: date, computed: Computed, built_at: Any, upto: ledger.Upto) -> Statement:
    figures = computed.figures
    statement = Statement.objects.create(
        teacher_id=teacher_id,
        month=month,
        school_id=figures["school"],
        workload_ms=figures["workload_ms"],
        base_fen=figures["base_fen"],
        amount_fen=figures["amount_fen"],
        credit=figures["credit"],
        quality=figures["quality"],
        content_hash=content_hash(figures, computed.days),
        built_at=built_at,
        facts_upto=upto.as_dict(),
    )
    StatementDay.objects.bulk_create([StatementDay(statement=statement, **day) for day in computed.days])
    return statement


def statement_stored(statement: Statement) -> Computed:
    """A stored statement's figures and days, in the form ``statement_compute`` gives them."""
    figures = {
        "month": statement.month.isoformat(),
        "school": statement.school_id,
        "workload_ms": statement.workload_ms,
        "base_fen": statement.base_fen,
        "amount_fen": statement.amount_fen,
        "credit": statement.credit,
        "quality": statement.quality,
    }
    fields = ("day", "rule_id", *DAY_FIGURES, *PRICED)
    days = list(statement.days.order_by("day").values(*fields))
    return Computed(figures=figures, days=days)


def statements_verify(month: date) -> list[str]:
    """Recompute the month's statements from the facts (the ledger read anew, not the stored lines), each with
    the facts and the time its build read, and compare them with the stored ones figure by figure: the
    differences, each a line of text; none when equal. (Facts that came after a build are not differences:
    they are the next build's, or a locked month's late facts.)"""
    month = month.replace(day=1)
    stored = list(Statement.objects.filter(month=month).select_related("school__district"))
    rules = Rules.active()
    builds: dict[tuple[Any, tuple[tuple[str, int], ...]], list[Statement]] = defaultdict(list)
    for statement in stored:
        builds[(statement.built_at, tuple(sorted(statement.facts_upto.items())))].append(statement)
    differences: list[str] = []
    for (built_at, upto), statements in builds.items():
        lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for day in month_days(month):
            for line in ledger.ledger_lines(day, now=built_at, upto=ledger.Upto(**dict(upto))):
                lines[line["teacher_id"]].append({key: line.get(key) for key in LINE_FIELDS})
        for statement in statements:
            recomputed = statement_compute(
                school=statement.school, month=month, lines=lines.pop(statement.teacher_id, []), rules=rules
            )
            differences += _differences(statement.teacher_id, statement_stored(statement), recomputed)
            if statement.content_hash != content_hash(recomputed.figures, recomputed.days):
                differences.append(f"teacher {statement.teacher_id}: content hash")
        schools = _schools(lines)
        differences += [f"teacher {teacher_id}: work in the facts, no statement" for teacher_id in sorted(schools)]
    return differences


def _differences(teacher_id: int, stored: Computed, recomputed: Computed) -> list[str]:
    found = [
        f"teacher {teacher_id}: {key} stored {stored.figures[key]!r}, from the facts {recomputed.figures[key]!r}"
        for key in recomputed.figures
        if stored.figures.get(key) != recomputed.figures[key]
    ]
    stored_days = {day["day"]: day for day in stored.days}
    for day in recomputed.days:
        kept = stored_days.pop(day["day"], {})
        found += [
            f"teacher {teacher_id} {day['day']}: {key} stored {kept.get(key)!r}, from the facts {value!r}"
            for key, value in day.items()
            if kept.get(key) != value
        ]
    found += [f"teacher {teacher_id} {day}: stored, not in the facts" for day in stored_days]
    return found
