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

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import TeacherProfile, User
from tutoring.core.errors import ServiceError
from tutoring.schools.models import School
from tutoring.stipends import exports, ledger, pricing, selectors
from tutoring.stipends.models import (
    Adjustment,
    AuditEntry,
    LedgerLine,
    Objection,
    Publication,
    SchoolMonth,
    Statement,
    StatementDay,
    StipendRule,
)

logger = logging.getLogger(__name__)

LINE_FIELDS = ("teacher_id", "day", "kind", "source", "counted_ms", "students", "rating", "flag", "details")
STORE_BATCH = 1_000  # statements, or their days, written by one INSERT


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
            # The latest first; on the same day a draft (a preview's) before the version it would replace.
            place.sort(key=lambda v: (v.effective_from, v.status == StipendRule.Status.DRAFT), reverse=True)

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
        _audit(user, "rule_activated", f"rule:{rule.pk}", {"status": "draft"}, {"status": "active"})
    logger.info("stipends.rule_activated", extra={"rule_id": rule.pk, "user_id": user.pk})
    return rule


def _stated(rule: StipendRule) -> QuerySet[Statement]:
    """The statements of the rule's place from its first month on."""
    return _stated_place(rule).filter(month__gte=rule.effective_from)


def _stated_place(rule: StipendRule) -> QuerySet[Statement]:
    """The statements of the rule's place."""
    if rule.school_id:
        return Statement.objects.filter(school_id=rule.school_id)
    if rule.district_id:
        return Statement.objects.filter(school__district_id=rule.district_id)
    return Statement.objects.filter(school__district__city_id=rule.city_id)


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
    totals = {day: pricing.day_totals(day_lines) for day, day_lines in by_day.items()}
    return _statement_priced(school=school, month=month, totals=totals, rules=rules)


def _statement_priced(
    *, school: School, month: date, totals: Mapping[date, Mapping[str, Any]], rules: Rules
) -> Computed:
    """``statement_compute`` from each day's totals (``pricing.day_totals`` of the day's lines)."""
    days: list[dict[str, Any]] = []
    base: dict[int, int] = defaultdict(int)  # by rule version
    rated: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # rule version → [sum, count]
    versions: dict[int, StipendRule] = {}
    for day in sorted(totals):
        rule = rules.in_force(school, day)
        if rule is None:
            raise ServiceError(
                "no_rule",
                _("No rule version is in force for %(school)s on %(day)s.") % {"school": school, "day": day},
            )
        versions[rule.pk] = rule
        day_totals = totals[day]
        priced = pricing.day_priced(day, day_totals, rule)
        days.append({"day": day, "rule_id": rule.pk, **{key: day_totals[key] for key in pricing.DAY_FIGURES}, **priced})
        base[rule.pk] += priced["time_fen"] + priced["session_fen"] + priced["lecture_fen"]
        rated[rule.pk][0] += day_totals["rating_sum"]
        rated[rule.pk][1] += day_totals["ratings"]
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


def _month_totals(
    month: date, *, now: Any, upto: ledger.Upto, store: bool = False
) -> dict[int, dict[date, dict[str, Any]]]:
    """Each teacher's days of the month as the facts give them: ``pricing.day_totals`` of the teacher's lines of
    each day with work. The ledger is read a day at a time and only each day's totals are kept (a city's month is
    millions of lines); with ``store`` each day's lines are also written as the day's ledger, ``now`` its build
    time (on a thread of its own, while the next day is read: ``ledger.days_writer``)."""
    totals: dict[int, dict[date, dict[str, Any]]] = defaultdict(dict)
    with ledger.collections_spaced(), ledger.days_writer() as write:
        for day, lines in ledger.ledger_lines_by_day(month_days(month), now=now, upto=upto):
            if store:
                write(day, lines, built_at=now)
            by_teacher: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for line in lines:
                by_teacher[line["teacher_id"]].append(line)
            for teacher_id, teacher_lines in by_teacher.items():
                totals[teacher_id][day] = pricing.day_totals(teacher_lines)
    return totals


def statements_build(month: date, *, now: Any = None) -> int:
    """Build the month's ledger anew from the facts, then the statement of every teacher with work in it whose
    school's month is still a draft (one in review or later is frozen: ``late_facts_carry`` takes what changed);
    the number of statements built. All or nothing: a day without a rule version in force refuses the month."""
    month = month.replace(day=1)
    built_at = now or timezone.now()
    upto = ledger.Upto.latest()
    # The statements are priced from the very lines the ledger stores, as they are stored.
    totals = _month_totals(month, now=built_at, upto=upto, store=True)
    schools = _schools(totals)  # teachers without a profile (an administrator who lectured) are not paid here
    rules = Rules.active()
    with transaction.atomic():
        frozen = set(
            SchoolMonth.objects.select_for_update()
            .filter(month=month)
            .exclude(status=SchoolMonth.Status.DRAFT)
            .values_list("school_id", flat=True)
        )
        Statement.objects.filter(month=month).exclude(school_id__in=frozen).delete()
        built = [
            (
                teacher_id,
                _statement_priced(school=schools[teacher_id], month=month, totals=totals[teacher_id], rules=rules),
            )
            for teacher_id in sorted(schools)
            if schools[teacher_id].pk not in frozen
        ]
        _store_all(built, month, built_at, upto)
        opened = set(SchoolMonth.objects.filter(month=month).values_list("school_id", flat=True))
        new_months = dict.fromkeys(
            computed.figures["school"] for _, computed in built if computed.figures["school"] not in opened
        )
        SchoolMonth.objects.bulk_create([SchoolMonth(school_id=school_id, month=month) for school_id in new_months])
        _audit(
            None, "statements_built", f"month:{month:%Y-%m}", after={"statements": len(built), "upto": upto.as_dict()}
        )
    logger.info("stipends.statements_built", extra={"month": month.isoformat(), "statements": len(built)})
    return len(built)


def late_facts_carry(month: date, *, now: Any = None) -> list[Adjustment]:
    """What facts that came after a frozen month's build change in it, as adjustment lines of the next month
    (each teacher's difference from what was stated and already carried): nothing is paid twice or lost."""
    month = month.replace(day=1)
    following = month_days(month)[-1] + timedelta(days=1)
    frozen = SchoolMonth.objects.filter(month=month).exclude(status=SchoolMonth.Status.DRAFT)
    if not frozen.exists():
        return []
    now = now or timezone.now()
    upto = ledger.Upto.latest()
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for day in month_days(month):
        for line in ledger.ledger_lines(day, now=now, upto=upto):
            lines[line["teacher_id"]].append({key: line.get(key) for key in LINE_FIELDS})
    rules = Rules.active()
    carried: list[Adjustment] = []
    schools = _schools(lines)
    with transaction.atomic():
        for school_month in frozen.select_related("school__district"):
            stated = Statement.objects.filter(school=school_month.school, month=month)
            teachers = {statement.teacher_id: statement for statement in stated}
            teachers_now = {teacher for teacher, school in schools.items() if school.pk == school_month.school_id}
            for teacher_id in sorted(set(teachers) | teachers_now):
                recomputed = statement_compute(
                    school=school_month.school, month=month, lines=lines.get(teacher_id, []), rules=rules
                ).figures
                statement = teachers.get(teacher_id)
                already = Adjustment.objects.filter(
                    teacher_id=teacher_id, school=school_month.school, carried_from=month
                ).values_list("amount_fen", "credit")
                amount = recomputed["amount_fen"] - (statement.amount_fen if statement else 0)
                credit = recomputed["credit"] - (statement.credit if statement else 0)
                amount -= sum(row[0] for row in already)
                credit -= sum(row[1] for row in already)
                if amount or credit:
                    adjustment = Adjustment.objects.create(
                        teacher_id=teacher_id,
                        school=school_month.school,
                        month=following,
                        amount_fen=amount,
                        credit=credit,
                        reason=_("Facts of %(month)s that came after it was stated.") % {"month": f"{month:%Y-%m}"},
                        carried_from=month,
                    )
                    _audit(
                        None,
                        "late_facts_carried",
                        f"adjustment:{adjustment.pk}",
                        after={"teacher": teacher_id, "amount_fen": amount, "credit": credit, "from": f"{month:%Y-%m}"},
                    )
                    carried.append(adjustment)
    return carried


def _store(teacher_id: int, month: date, computed: Computed, built_at: Any, upto: ledger.Upto) -> Statement:
    return _store_all([(teacher_id, computed)], month, built_at, upto)[0]


def _store_all(built: Sequence[tuple[int, Computed]], month: date, built_at: Any, upto: ledger.Upto) -> list[Statement]:
    """Store statements (teacher id, computed) and their days, a few statements by one INSERT."""
    statements = Statement.objects.bulk_create(
        [
            Statement(
                teacher_id=teacher_id,
                month=month,
                school_id=computed.figures["school"],
                workload_ms=computed.figures["workload_ms"],
                base_fen=computed.figures["base_fen"],
                amount_fen=computed.figures["amount_fen"],
                credit=computed.figures["credit"],
                quality=computed.figures["quality"],
                content_hash=content_hash(computed.figures, computed.days),
                built_at=built_at,
                facts_upto=upto.as_dict(),
            )
            for teacher_id, computed in built
        ],
        batch_size=STORE_BATCH,
    )
    StatementDay.objects.bulk_create(
        (
            StatementDay(statement=statement, **day)
            for statement, (_, computed) in zip(statements, built, strict=True)
            for day in computed.days
        ),
        batch_size=STORE_BATCH,
    )
    return statements


def statement_stored(statement: Statement) -> Computed:
    """A stored statement's figures and days, in the form ``statement_compute`` gives them (its days read with
    it where they were prefetched)."""
    figures = {
        "month": statement.month.isoformat(),
        "school": statement.school_id,
        "workload_ms": statement.workload_ms,
        "base_fen": statement.base_fen,
        "amount_fen": statement.amount_fen,
        "credit": statement.credit,
        "quality": statement.quality,
    }
    fields = ("day", "rule_id", *pricing.DAY_FIGURES, *pricing.PRICED)
    stored = sorted(statement.days.all(), key=lambda day: day.day)
    days = [{field: getattr(day, field) for field in fields} for day in stored]
    return Computed(figures=figures, days=days)


def statements_verify(month: date) -> list[str]:
    """Recompute the month's statements from the facts (the ledger read anew, not the stored lines), each with
    the facts and the time its build read, and compare them with the stored ones figure by figure: the
    differences, each a line of text; none when equal. (Facts that came after a build are not differences:
    they are the next build's, or a locked month's late facts.)"""
    month = month.replace(day=1)
    stored = list(Statement.objects.filter(month=month).select_related("school__district").prefetch_related("days"))
    rules = Rules.active()
    builds: dict[tuple[Any, tuple[tuple[str, int], ...]], list[Statement]] = defaultdict(list)
    for statement in stored:
        builds[(statement.built_at, tuple(sorted(statement.facts_upto.items())))].append(statement)
    stated = {statement.teacher_id for statement in stored}
    differences: list[str] = []
    unstated: set[int] = set()
    for (built_at, upto), statements in builds.items():
        totals = _month_totals(month, now=built_at, upto=ledger.Upto(**dict(upto)))
        for statement in statements:
            recomputed = _statement_priced(
                school=statement.school, month=month, totals=totals.pop(statement.teacher_id, {}), rules=rules
            )
            differences += _differences(statement.teacher_id, statement_stored(statement), recomputed)
            if statement.content_hash != content_hash(recomputed.figures, recomputed.days):
                differences.append(f"teacher {statement.teacher_id}: content hash")
        # A teacher stated by another build (a school frozen earlier) is not missing from this one.
        unstated |= set(_schools(totals)) - stated
    differences += [f"teacher {teacher_id}: work in the facts, no statement" for teacher_id in sorted(unstated)]
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


# --- The way to publication (SchoolMonth) ---------------------------------------------------------


def _audit(actor: User | None, action: str, target: str, before: Any = None, after: Any = None) -> None:
    AuditEntry.objects.create(actor=actor, action=action, target=target, before=before or {}, after=after or {})


def _reviewer(user: User, school_month: SchoolMonth) -> None:
    if not selectors.may_review(user, school_month.school):
        raise ServiceError("not_reviewer", _("Only the school's administrators review its statements."), status=403)


def _status(school_month: SchoolMonth, *allowed: str) -> None:
    if school_month.status == SchoolMonth.Status.LOCKED:
        raise ServiceError("month_locked", _("This month is locked: nothing in it changes any more."), status=409)
    if school_month.status not in allowed:
        raise ServiceError(
            "wrong_status",
            _("Not possible while the month is %(status)s.") % {"status": school_month.get_status_display()},
            status=409,
        )


def _locked(school_month_id: int) -> SchoolMonth:
    school_month = SchoolMonth.objects.select_for_update().select_related("school").filter(pk=school_month_id).first()
    if school_month is None:
        raise ServiceError("unknown_month", _("No such month of statements."), status=404)
    return school_month


def _publication(school_month: SchoolMonth, kind: str, user: User) -> Publication:
    """Archive the school month as it is published (its figures and its notice, PDF) or reported (its figures
    and its spreadsheet, XLSX): the figures its exports show, in canonical JSON, with their SHA-256."""
    school, month = school_month.school, school_month.month
    figures = exports.export_figures(school, month)
    digest = exports.digest(figures)
    if kind == Publication.Kind.PUBLICITY:
        content, extension = exports.school_month_notice_pdf(school, month), "pdf"
    else:
        content, extension = exports.school_month_xlsx(school, month), "xlsx"
    name = default_storage.save(
        f"stipends/{school.pk}/{month:%Y-%m}/{kind}-{digest[:16]}.{extension}", ContentFile(content)
    )
    return Publication.objects.create(
        school_month=school_month,
        kind=kind,
        figures=json.loads(exports.canonical(figures)),
        content_hash=digest,
        file=name,
        actor=user,
    )


def review_start(*, school_month_id: int, user: User) -> SchoolMonth:
    """Freeze the draft's statements: from now on they change only by adjustment lines."""
    with transaction.atomic():
        school_month = _locked(school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.DRAFT)
        school_month.status = SchoolMonth.Status.REVIEW
        school_month.save(update_fields=["status"])
        _audit(user, "review_started", f"school_month:{school_month.pk}", {"status": "draft"}, {"status": "review"})
    return school_month


def adjustment_add(
    *, school_month_id: int, teacher_id: int, amount_fen: int, credit: int, reason: str, user: User
) -> Adjustment:
    """A reviewer's correction of one teacher's month, with its reason: only while in review."""
    if not reason.strip():
        raise ServiceError("reason_required", _("Give the reason for the correction."), field="reason")
    if not isinstance(amount_fen, int) or not isinstance(credit, int) or isinstance(amount_fen, bool):
        raise ServiceError("invalid_amount", _("Amounts are whole fen and whole points."), field="amount_fen")
    with transaction.atomic():
        school_month = _locked(school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.REVIEW)
        if not Statement.objects.filter(school=school_month.school, month=school_month.month, teacher_id=teacher_id):
            raise ServiceError("unknown_teacher", _("This teacher has no statement in this month."), field="teacher")
        adjustment = Adjustment.objects.create(
            teacher_id=teacher_id,
            school=school_month.school,
            month=school_month.month,
            amount_fen=amount_fen,
            credit=credit,
            reason=reason.strip(),
            author=user,
        )
        _audit(
            user,
            "adjustment_added",
            f"school_month:{school_month.pk}",
            after={"teacher": teacher_id, "amount_fen": amount_fen, "credit": credit, "reason": adjustment.reason},
        )
    return adjustment


def publicity_start(*, school_month_id: int, days: int, user: User) -> SchoolMonth:
    """公示: the figures as they stand are published to the school's teachers for ``days`` days."""
    if not 1 <= days <= 30:
        raise ServiceError("invalid_days", _("Publicity lasts from 1 to 30 days."), field="days")
    with transaction.atomic():
        school_month = _locked(school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.REVIEW)
        published = _publication(school_month, Publication.Kind.PUBLICITY, user)
        school_month.status = SchoolMonth.Status.PUBLICIZED
        school_month.publicity_ends_at = timezone.now() + timedelta(days=days)
        school_month.published_hash = published.content_hash
        school_month.save(update_fields=["status", "publicity_ends_at", "published_hash"])
        _audit(
            user,
            "publicized",
            f"school_month:{school_month.pk}",
            {"status": "review"},
            {
                "status": "publicized",
                "hash": published.content_hash,
                "ends_at": school_month.publicity_ends_at.isoformat(),
            },
        )
    return school_month


def review_reopen(*, school_month_id: int, user: User) -> SchoolMonth:
    """Back from publicity to review (an objection upheld calls for a correction); publicity starts again after."""
    with transaction.atomic():
        school_month = _locked(school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.PUBLICIZED)
        before = {"status": "publicized", "hash": school_month.published_hash}
        school_month.status = SchoolMonth.Status.REVIEW
        school_month.publicity_ends_at, school_month.published_hash = None, ""
        school_month.save(update_fields=["status", "publicity_ends_at", "published_hash"])
        _audit(user, "review_reopened", f"school_month:{school_month.pk}", before, {"status": "review"})
    return school_month


def objection_raise(*, school_month_id: int, teacher: User, reason: str) -> Objection:
    """A teacher objects to their statement while it is in publicity."""
    if not reason.strip():
        raise ServiceError("reason_required", _("Say what is wrong with the statement."), field="reason")
    with transaction.atomic():
        school_month = _locked(school_month_id)
        if not Statement.objects.filter(school=school_month.school, month=school_month.month, teacher=teacher):
            raise ServiceError("unknown_statement", _("You have no statement in this month."), status=404)
        ended = school_month.publicity_ends_at is not None and timezone.now() >= school_month.publicity_ends_at
        if school_month.status != SchoolMonth.Status.PUBLICIZED or ended:
            raise ServiceError("publicity_closed", _("Objections are taken only during the publicity."), status=409)
        objection = Objection.objects.create(teacher=teacher, school_month=school_month, reason=reason.strip())
        _audit(teacher, "objection_raised", f"objection:{objection.pk}", after={"reason": objection.reason})
    return objection


def objection_answer(*, objection_id: int, answer: str, user: User) -> Objection:
    if not answer.strip():
        raise ServiceError("answer_required", _("Write the answer."), field="answer")
    with transaction.atomic():
        objection = Objection.objects.select_for_update().filter(pk=objection_id).first()
        if objection is None:
            raise ServiceError("unknown_objection", _("No such objection."), status=404)
        school_month = _locked(objection.school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.PUBLICIZED, SchoolMonth.Status.REVIEW)
        if objection.answered_at is not None:
            raise ServiceError("already_answered", _("This objection has been answered."), status=409)
        objection.answer, objection.answered_by, objection.answered_at = answer.strip(), user, timezone.now()
        objection.save(update_fields=["answer", "answered_by", "answered_at"])
        _audit(user, "objection_answered", f"objection:{objection.pk}", after={"answer": objection.answer})
    return objection


def approve(*, school_month_id: int, user: User) -> SchoolMonth:
    """The principal approves the month once its publicity is over and every objection is answered."""
    with transaction.atomic():
        school_month = _locked(school_month_id)
        if not selectors.is_principal(user, school_month.school):
            raise ServiceError("not_principal", _("Only the school's principal approves."), status=403)
        _status(school_month, SchoolMonth.Status.PUBLICIZED)
        if school_month.publicity_ends_at is not None and timezone.now() < school_month.publicity_ends_at:
            raise ServiceError("publicity_running", _("The publicity has not ended yet."), status=409)
        if school_month.objections.filter(answered_at__isnull=True).exists():
            raise ServiceError("objections_open", _("Answer every objection first."), status=409)
        school_month.status, school_month.approved_by = SchoolMonth.Status.APPROVED, user
        school_month.save(update_fields=["status", "approved_by"])
        _audit(user, "approved", f"school_month:{school_month.pk}", {"status": "publicized"}, {"status": "approved"})
    return school_month


def report(*, school_month_id: int, user: User) -> SchoolMonth:
    """Lock the approved month and report it to the district: refused when its figures now differ from the
    published ones."""
    with transaction.atomic():
        school_month = _locked(school_month_id)
        _reviewer(user, school_month)
        _status(school_month, SchoolMonth.Status.APPROVED)
        if exports.figures_hash(school_month.school, school_month.month) != school_month.published_hash:
            raise ServiceError(
                "report_differs", _("The figures differ from those published; they cannot be reported."), status=409
            )
        reported = _publication(school_month, Publication.Kind.REPORT, user)
        school_month.status = SchoolMonth.Status.LOCKED
        school_month.reported_hash, school_month.reported_at = reported.content_hash, timezone.now()
        school_month.save(update_fields=["status", "reported_hash", "reported_at"])
        _audit(
            user, "reported", f"school_month:{school_month.pk}", {"status": "approved"}, {"hash": reported.content_hash}
        )
    return school_month


def rule_preview(rule: StipendRule) -> list[dict[str, Any]]:
    """What a draft version would have paid in the last month stated for its place, teacher by teacher, beside
    what was stated: the version taken as in force from that month (for a place without statements: nothing)."""
    stated = _stated_place(rule)
    month = stated.order_by("-month").values_list("month", flat=True).first()
    if month is None:
        return []
    draft = StipendRule(**{field.attname: getattr(rule, field.attname) for field in StipendRule._meta.concrete_fields})
    draft.effective_from = month
    rules = Rules([*StipendRule.objects.filter(status=StipendRule.Status.ACTIVE).exclude(pk=rule.pk), draft])
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    last = month_days(month)[-1]
    for line in LedgerLine.objects.filter(day__gte=month, day__lte=last).values(*LINE_FIELDS):
        lines[line["teacher_id"]].append(line)
    preview = []
    for statement in (
        stated.filter(month=month).select_related("teacher", "school__district").order_by("school", "teacher")
    ):
        computed = statement_compute(
            school=statement.school, month=month, lines=lines.get(statement.teacher_id, []), rules=rules
        )
        preview.append(
            {
                "month": month,
                "school": statement.school,
                "teacher": statement.teacher,
                "stated_fen": statement.amount_fen,
                "draft_fen": computed.figures["amount_fen"],
                "stated_credit": statement.credit,
                "draft_credit": computed.figures["credit"],
            }
        )
    return preview
