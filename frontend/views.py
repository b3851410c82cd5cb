"""Pages of the phone-first web UI. Each view resolves what the user may see and renders it.

User-facing strings that JavaScript shows are translated here and handed to the
page with ``json_script``; the modules under ``static/frontend/js`` hold no text.
Placeholders use Python's ``%(name)s`` form so that translators' tools check them.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tutoring.accounts.models import User
from tutoring.core.errors import ServiceError
from tutoring.insights import engagement, exports
from tutoring.insights.clusters import cluster_get, cluster_questions, clusters_filters, clusters_of
from tutoring.insights.live import LIVE_FIGURES, live_figures_read, live_query
from tutoring.insights.metrics import COMMENTS, COVERAGE, FIGURE_BY_CODE, FIGURES, STAFFING_FORMULA
from tutoring.insights.rollups import insights_refresh_due
from tutoring.insights.selectors import (
    BREAKDOWNS,
    insights_breakdown,
    insights_figures,
    insights_filters,
    insights_heatmap,
    insights_places,
    insights_questions,
    insights_reader,
    insights_scope,
)
from tutoring.knowledge.selectors import knowledge_point_choices, knowledge_point_names
from tutoring.lectures.api import lecture_slides_data
from tutoring.lectures.models import MAX_POLL_OPTIONS, Lecture, LectureRecording
from tutoring.lectures.selectors import (
    access_lecture,
    lecture_entry_list,
    lecture_list_for_student,
    lecture_recording_get,
    lecture_replay_chapters,
    lecture_role,
    lecture_signed_up_ids,
)
from tutoring.library.models import Entry
from tutoring.library.selectors import (
    entry_browse_list,
    entry_knowledge_point_list,
    entry_list,
    library_editor,
    library_reader,
)
from tutoring.questions.selectors import access_question, question_list_visible
from tutoring.questions.serializers import QuestionSerializer
from tutoring.schools.models import MAX_GRADE, MIN_GRADE
from tutoring.schools.selectors import grade_band_list, grade_label, subject_list
from tutoring.sessions.selectors import access_session, session_role
from tutoring.stipends.models import Adjustment, Objection, SchoolMonth
from tutoring.stipends.selectors import (
    PUBLISHED,
    is_principal,
    ledger_days,
    school_month_access,
    school_month_adjustments,
    school_month_flags,
    school_month_rows,
    school_months_reviewed,
    school_totals,
    schools_overseen,
    stated_months,
    teacher_statement,
    teacher_statements,
    teacher_term,
)

RECENT_ENTRIES = 10
# The insights page: the figures its breakdown table shows, and the trend chart's lines.
BREAKDOWN_COLUMNS = (
    "asked", "understood", "match_rate", "deflection", "sent_to_teacher", "answered", "cancelled", "wait_p50",
    "wait_p90", "session_mean", "rating_mean",
)  # fmt: skip
TREND_SERIES = ("asked", "solved_by_library", "sent_to_teacher", "answered")
INSIGHTS_QUESTIONS_PAGE = 20
LIBRARY_PAGE_SIZE = 20


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a ``login_required`` page: its user is signed in. Only an annotation for the type checker
    (django-stubs' recommended pattern): the views still receive Django's ``HttpRequest``."""

    user: User


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Students ask; teachers and staff see the questions they may read; administrators go to the admin."""
    user = request.user
    if user.is_superuser or user.role == User.Role.ADMINISTRATOR:
        return render(request, "frontend/administrator_home.html")
    if user.is_student:
        return _ask_page(request, user)
    return _question_board(request, user)


def _ask_page(request: HttpRequest, student: User) -> HttpResponse:
    """The grade and subject start at those of the student's latest question (on any device), else at their
    profile's grade and the first subject taught in it."""
    subjects = subject_list()
    highest_grade = max((subject.max_grade for subject in subjects), default=MIN_GRADE)
    questions = question_list_visible(user=student)
    latest = questions[0] if questions else None
    profile = getattr(student, "student_profile", None)
    grade = latest.grade if latest is not None else profile.grade if profile is not None else MIN_GRADE
    grade = min(max(grade, MIN_GRADE), highest_grade)
    taught = [subject for subject in subjects if subject.teaches_grade(grade)]
    chosen = next(
        (s for s in taught if latest is not None and s.pk == latest.subject_id), taught[0] if taught else None
    )
    limits = settings.XUEWEN
    labels = _ask_labels(limits)
    context = {
        "grade": grade,
        "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, highest_grade + 1)],
        "subjects": taught,
        "subject_code": chosen.code if chosen is not None else "",
        "placeholder": labels["typePlaceholder"] % {"subject": chosen.name if chosen is not None else ""},
        "all_subjects": [
            {"code": s.code, "name": s.name, "min_grade": s.min_grade, "max_grade": s.max_grade} for s in subjects
        ],
        "questions": questions,
        **_lecture_list_context(student),
        "config": {
            "createUrl": reverse("questions:question-list"),
            "questionUrl": _url_template("frontend:question", "question_id"),
            "maxPhotos": limits["MAX_PHOTOS"],
            "maxPhotoBytes": limits["MAX_PHOTO_BYTES"],
            "maxVoiceBytes": limits["MAX_VOICE_BYTES"],
            "maxVoiceSeconds": limits["MAX_VOICE_SECONDS"],
            "maxTextChars": limits["MAX_TEXT_CHARS"],
        },
        "labels": labels,
    }
    return render(request, "frontend/ask.html", context)


def _lecture_list_context(student: User) -> dict[str, object]:
    """The student's live and coming lectures with their sign-ups, for the home page's 讲座 section; the live ones
    it lists get no notice of their start."""
    lectures = lecture_list_for_student(student=student)
    signed_up = lecture_signed_up_ids(student=student, lecture_ids=[lecture.pk for lecture in lectures])
    return {
        "lectures": lectures,
        "signed_up": signed_up,
        "signup_labels": _signup_labels(),
        "lecture_notices": lecture_notices_data(
            live_shown=[lecture.pk for lecture in lectures if lecture.status == Lecture.Status.LIVE]
        ),
    }


def lecture_notices_data(*, live_shown: Sequence[int] = ()) -> dict[str, object]:
    """What a student's page needs for the notices of the lectures they signed up for (lecture-notices.js, in
    base.html on each of their pages by ``context_processors.lecture_notices``): the socket, the lectures'
    address, the texts, and ``live_shown``, the live lectures the page lists itself (no notice of their start)."""
    return {
        "config": {
            "socketPath": "/ws/lectures/notices/",
            "lectureUrl": _url_template("frontend:lecture", "lecture_id"),
            "liveShown": list(live_shown),
        },
        "labels": _lecture_notice_labels(),
    }


def _question_board(request: HttpRequest, user: User) -> HttpResponse:
    questions = question_list_visible(user=user)
    context = {
        "questions": questions,
        "library_editor": library_editor(user),
        "library_reader": library_reader(user),
        "insights_reader": insights_reader(user),
    }
    return render(request, "frontend/question_board.html", context)


@login_required
def question_detail(request: AuthenticatedHttpRequest, question_id: int) -> HttpResponse:
    """One question and its live understanding status; 404 unless the user may see it."""
    question = access_question(request.user, question_id)
    can_edit = question.student_id == request.user.pk
    context = {
        "question": question,
        "can_edit": can_edit,
        "state": QuestionSerializer(question).data,
        "config": {
            "socketPath": f"/ws/questions/{question.pk}/",
            "detailUrl": reverse("questions:question-detail", kwargs={"question_id": question.pk}),
            "feedbackUrl": reverse("library:question-feedback", kwargs={"question_id": question.pk}),
            "stopWaitingUrl": reverse("routing:stop-waiting", kwargs={"question_id": question.pk}),
            "sessionUrl": _url_template("frontend:session", "session_id"),
            "canEdit": can_edit,
            "maxTextChars": settings.XUEWEN["MAX_TEXT_CHARS"],
        },
        "labels": _question_labels(),
        "grade_labels": _grade_labels(),
    }
    return render(request, "frontend/question.html", context)


@login_required
def duty(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The on-duty teacher's console; 404 for anyone else."""
    if not request.user.is_teacher:
        raise Http404
    context = {
        "config": {"socketPath": "/ws/duty/", "sessionUrl": _url_template("frontend:session", "session_id")},
        "labels": _duty_labels(),
        "grade_labels": _grade_labels(),
    }
    return render(request, "frontend/duty.html", context)


@login_required
def session_room(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """The same-screen room of a session: board, voice and chat; 404 unless the user may be in it."""
    session = access_session(request.user, session_id)
    role = session_role(session, request.user)
    question = session.question
    limits = settings.XUEWEN
    context: dict[str, object] = {
        "session": session,
        "role": role,
        "config": {
            "role": role,
            "socketPath": f"/ws/sessions/{session.pk}/",
            "apiUrl": f"/api/v1/sessions/{session.pk}/",
            "maxPhotoBytes": limits["MAX_PHOTO_BYTES"],
            "maxVoiceSeconds": limits["MAX_VOICE_SECONDS"],
        },
        "labels": _session_labels(limits),
        "grade_labels": _grade_labels(),
        "scores": range(1, 6),
        "teacher": role == "teacher",
        # No lecture notices in the room: the student is with a teacher, and a lecture's start would call them away.
        "lecture_notices": None,
        **_board_tool_choices(),
    }
    if role == "teacher":
        context |= {
            "grade": question.grade,
            "subject_code": question.subject.code,
            "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, MAX_GRADE + 1)],
            "subjects": subject_list(),
            "knowledge_point_names": knowledge_point_names(subject=question.subject),
        }
    return render(request, "frontend/session.html", context)


def _board_tool_choices() -> dict[str, list[tuple[Any, str]]]:
    """The colours and line widths of a board's toolbar (frontend/_board_toolbar.html)."""
    return {
        "tool_colors": [
            ("#1a1a1a", _("Black")),
            ("#d93025", _("Red")),
            ("#1b6fd8", _("Blue")),
            ("#188038", _("Green")),
        ],
        "tool_widths": [(3, _("Thin")), (6, _("Medium")), (12, _("Thick"))],
    }


@login_required
def lecture_studio(request: AuthenticatedHttpRequest, lecture_id: int) -> HttpResponse:
    """The lecturer's studio: the lecture's board and voice, going live and ending; 404 for anyone else."""
    lecture = access_lecture(request.user, lecture_id)
    if lecture.lecturer_id != request.user.pk:
        raise Http404
    context = {
        "lecture": lecture,
        "config": {
            "socketPath": f"/ws/lectures/{lecture.pk}/",
            "slidesUrl": reverse("lectures:slides", args=[lecture.pk]),
            "slides": lecture_slides_data(lecture),
        },
        "labels": _studio_labels(),
        "poll_option_numbers": range(1, MAX_POLL_OPTIONS + 1),
        "max_slides": settings.XUEWEN["MAX_SLIDES"],
        **_board_tool_choices(),
    }
    return render(request, "frontend/studio.html", context)


@login_required
def lecture_detail(request: AuthenticatedHttpRequest, lecture_id: int) -> HttpResponse:
    """A lecture: what and when, the sign-up, a countdown before the start and the live board during it; 404
    unless the user may see it."""
    lecture = access_lecture(request.user, lecture_id)
    role = lecture_role(lecture, request.user)
    signed_up = lecture_signed_up_ids(student=request.user, lecture_ids=[lecture.pk])
    labels = _lecture_labels()
    recording = lecture_recording_get(lecture) if lecture.status == Lecture.Status.ENDED else None
    context = {
        "lecture": lecture,
        "role": role,
        "signed_up": signed_up,
        "may_sign_up": request.user.is_student and lecture.status in (Lecture.Status.SCHEDULED, Lecture.Status.LIVE),
        "config": {
            "role": role,
            "socketPath": f"/ws/lectures/{lecture.pk}/",
            "slidesPath": f"{reverse('lectures:slides', args=[lecture.pk])}/",
            "questionPhotosUrl": reverse("lectures:question-photos", args=[lecture.pk]),
            "maxPhotoBytes": settings.XUEWEN["MAX_PHOTO_BYTES"],
            "status": lecture.status,
            "startsAt": lecture.starts_at.isoformat(),
        },
        "labels": labels,
        "status_label": labels[f"status_{lecture.status}"],
        "signup_labels": _signup_labels(),
        "poll_option_numbers": range(1, MAX_POLL_OPTIONS + 1),
        "recording": recording,
    }
    if recording is not None and recording.status == LectureRecording.Status.PUBLISHED:
        context |= {
            "chapters": lecture_replay_chapters(recording),
            "entries": lecture_entry_list(lecture),
            "replay_config": {
                "watchedUrl": reverse("lectures:replay-watched", kwargs={"lecture_id": lecture.pk}),
                "duration": recording.duration_seconds,
            },
        }
    return render(request, "frontend/lecture.html", context)


@login_required
def library_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Teachers and administrators add an answered question to the library; 404 for anyone else. From a hot
    cluster (``?cluster=``, one the user may read) the form starts with its representative question and points."""
    user = request.user
    if not library_editor(user):
        raise Http404
    subjects = subject_list()
    highest_grade = max((subject.max_grade for subject in subjects), default=MIN_GRADE)
    grade, subject_code = _teaching_default(user)
    draft = _cluster_video_draft(user, request.GET.get("cluster", ""))
    if draft is not None:
        grade, subject_code = draft["grade"], draft["subject_code"]
    grade = min(max(grade, MIN_GRADE), highest_grade)
    limits = settings.XUEWEN
    context = {
        "draft": draft,
        "grade": grade,
        "subject_code": subject_code,
        "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, highest_grade + 1)],
        "subjects": [subject for subject in subjects if subject.teaches_grade(grade)],
        "all_subjects": [
            {"code": s.code, "name": s.name, "min_grade": s.min_grade, "max_grade": s.max_grade} for s in subjects
        ],
        "entries": _recent_entries(user),
        "knowledge_point_names": knowledge_point_names(),
        "config": {
            "createUrl": reverse("library:entry-list"),
            "maxTextChars": limits["MAX_TEXT_CHARS"],
            "maxVideoBytes": limits["MAX_VIDEO_BYTES"],
            "maxPhotoBytes": limits["MAX_PHOTO_BYTES"],
        },
        "labels": _library_labels(),
        "grade_labels": _grade_labels(),
    }
    return render(request, "frontend/library_new.html", context)


@login_required
def library_browse(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Teachers, staff and administrators browse and search the library; 404 for anyone else."""
    if not library_reader(request.user):
        raise Http404
    subjects = subject_list()
    highest_grade = max((subject.max_grade for subject in subjects), default=MIN_GRADE)
    query = request.GET
    subject_code = query.get("subject", "")
    grade = query.get("grade", "")
    grade_number = int(grade) if grade.isdigit() and MIN_GRADE <= int(grade) <= highest_grade else None
    knowledge_point = query.get("knowledge_point", "").strip()
    text = query.get("text", "").strip()
    entries = entry_browse_list(
        subject=subject_code if any(s.code == subject_code for s in subjects) else "",
        grade=grade_number,
        knowledge_point=knowledge_point,
        text=text,
    )
    context = {
        "subjects": subjects,
        "subject_code": subject_code,
        "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, highest_grade + 1)],
        "grade": grade_number,
        "knowledge_point": knowledge_point,
        "text": text,
        "filtered": bool(subject_code or grade or knowledge_point or text),
        "knowledge_points": entry_knowledge_point_list(),
        "page": Paginator(entries, LIBRARY_PAGE_SIZE).get_page(query.get("page")),
        "library_editor": library_editor(request.user),
    }
    return render(request, "frontend/library.html", context)


def _cluster_video_draft(user: User, cluster_id: str) -> dict[str, Any] | None:
    if not cluster_id.isdigit():
        return None
    try:
        cluster = cluster_get(user=user, cluster_id=int(cluster_id))
    except Http404:
        return None  # not a cluster this user reads: the form starts empty
    return {
        "text": cluster.representative.text,
        "grade": cluster.representative.grade,
        "subject_code": cluster.subject.code,
        "knowledge_points": "，".join(point.name for point in cluster.knowledge_points.order_by("name")),
    }


def _teaching_default(user: User) -> tuple[int, str]:
    """The lowest grade and the first subject a teacher teaches, to preselect them in the form."""
    profile = getattr(user, "teacher_profile", None) if user.is_teacher else None
    if profile is None:
        return MIN_GRADE, ""
    grades = [band.min_grade for band in profile.grade_bands.all()]
    subject = profile.subjects.order_by("position", "id").first()
    return min(grades, default=MIN_GRADE), subject.code if subject else ""


def _recent_entries(user: User) -> list[Entry]:
    """The entries this user added, newest first (administrators: everyone's)."""
    administrator = user.is_superuser or user.role == User.Role.ADMINISTRATOR
    return entry_list(created_by=None if administrator else user, limit=RECENT_ENTRIES)


def _url_template(name: str, argument: str) -> str:
    """A page's address with ``{id}`` in place of its id argument, for scripts that link to it."""
    return reverse(name, kwargs={argument: 0}).replace("/0/", "/{id}/")


def _grade_labels() -> dict[int, str]:
    return {number: grade_label(number) for number in range(MIN_GRADE, MAX_GRADE + 1)}


def _ask_labels(limits: Mapping[str, object]) -> dict[str, str]:
    return {
        "send": _("Send question"),
        "sending": _("Sending…"),
        "sendingProgress": _("Sending… %(percent)s%%"),
        "retry": _("Try again"),
        "sent": _("Sent! Opening your question…"),
        "networkError": _("The question could not be sent. Check your connection and try again."),
        "serverError": _("Something went wrong on our side. Please try again."),
        "empty": _("Type the question, take a photo or record your voice."),
        "typePlaceholder": _("Type the %(subject)s question as it is written"),
        "photoLimit": _("You can add at most %(count)s photos.") % {"count": limits["MAX_PHOTOS"]},
        "photoTooLarge": _("This photo is too large. Please take a smaller one."),
        "notAnImage": _("Please choose a photo."),
        "photoAlt": _("Photo %(number)s"),
        "remove": _("Remove"),
        "removePhoto": _("Remove photo %(number)s"),
        "photoCount": _("%(count)s of %(max)s photos"),
        **_recorder_labels(limits),
        "voiceUnsupported": _("This browser cannot record voice on this page. Type the question or take a photo."),
    }


def _recorder_labels(limits: Mapping[str, object]) -> dict[str, str]:
    """The hold-to-record button's texts (recorder.js)."""
    return {
        "holdToRecord": _("Hold to record"),
        "releaseToStop": _("Release to stop"),
        "recording": _("Recording… %(seconds)s s"),
        "recordingLimit": _("Recordings stop after %(seconds)s seconds.") % {"seconds": limits["MAX_VOICE_SECONDS"]},
        "recordTooShort": _("Hold the button down while you speak."),
        "recorded": _("Voice clip, %(seconds)s s"),
        "deleteVoice": _("Delete recording"),
        "voiceDeleted": _("Recording deleted."),
        "micDenied": _("The microphone is not allowed. Allow it in the browser settings to record."),
        "micUnavailable": _("No microphone could be used."),
    }


def _question_labels() -> dict[str, str]:
    return {
        "status_received": _("Received"),
        "status_processing": _("Working on your question…"),
        "status_reading_photo": _("Reading the photo…"),
        "status_listening": _("Listening to the voice clip…"),
        "status_understood": _("Understood"),
        "status_failed": _("Not understood"),
        "status_resolved": _("Solved"),
        "status_waiting_teacher": _("Waiting for a teacher"),
        "status_with_teacher": _("A teacher is answering"),
        "status_answered": _("Answered by a teacher"),
        "status_cancelled": _("You stopped waiting"),
        "queueNext": _("You are next."),
        "queueAhead": _("%(count)s students are ahead of you."),
        "queueAheadAbout": _("About %(count)s students are ahead of you."),
        "queueSoon": _("A teacher will take it in a moment."),
        "queueEstimate": _("About %(minutes)s min to wait."),
        "queueNobody": _("No teacher is on duty now. Your question waits for the next shift."),
        "queueNextShift": _(
            "No teacher is on duty now. The next shift starts at %(time)s; we will tell you when it is answered."
        ),
        "stopError": _("That did not work. Please try again."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "offline": _("You are offline. The status will update when you are back online."),
        "refused": _("The live status is not available. Reload the page."),
        "lowConfidence": _("Please check the recognised text and correct any mistakes."),
        "failedHint": _("Please type your question in the box below."),
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "saveError": _("The text could not be saved. Please try again."),
        "emptyText": _("The question text cannot be empty."),
        **_attachment_labels(),
        # Matches from the library of answered questions
        "matching": _("Looking for answered questions like yours…"),
        "sameTitle": _("This is your question"),
        "sameIntro": _("A teacher has already answered this question."),
        "similarIntro": _("No answered question is exactly the same, but these are close. Do they help?"),
        "noneMatched": _("No answered question fits yours. A teacher will answer it."),
        "labelSame": _("Same question"),
        "labelSimilar": _("Similar question"),
        "subjectGrade": _("%(subject)s · %(grade)s"),
        "videoAnswer": _("Video answer"),
        "videoAnswerDuration": _("Video answer, %(duration)s"),
        "solution": _("Worked solution"),
        "showAnswer": _("Show the answer"),
        "noAnswer": _("The answer is being prepared."),
        "knowledgePoints": _("Knowledge points"),
        "feedbackError": _("Your answer could not be sent. Please try again."),
        "resolvedStudent": _("Well done! This question is marked as solved."),
        "waitingStudent": _("Waiting for a teacher. We will let you know when they answer."),
        "resolvedOther": _("The student solved it with an answered question."),
        "waitingOther": _("Waiting for a teacher to answer."),
        "enterSession": _("Enter the session"),
        "seeSession": _("See the session"),
    }


def _attachment_labels() -> dict[str, str]:
    return {
        "photoAlt": _("Photo %(number)s of the question"),
        "openPhoto": _("Open photo %(number)s in full size"),
        "photoPending": _("Processing the photo…"),
        "photoFailed": _("This photo could not be processed."),
        "voicePending": _("Processing the voice clip…"),
        "voiceFailed": _("This voice clip could not be processed."),
        "voiceLabel": _("Voice clip"),
        "voiceDuration": _("Voice clip, %(seconds)s s"),
        "recognitionError": _("Not recognised: %(reason)s"),
    }


def _duty_labels() -> dict[str, str]:
    return {
        **_attachment_labels(),
        "onDuty": _("On duty: %(subject)s · %(band)s"),
        "offDuty": _("Off duty"),
        "waitingForShift": _("Ready. You go on duty when your shift starts."),
        "load": _("Answering %(load)s of %(capacity)s students"),
        "goOn": _("Go on duty"),
        "goOff": _("Go off duty"),
        "notConnected": _("Not connected. Wait a moment and try again."),
        "subjectGrade": _("%(subject)s · %(grade)s"),
        "noText": _("(no text: see the photo or voice clip)"),
        "accept": _("Accept"),
        "decline": _("Decline"),
        "countdown": _("%(seconds)s s left to accept"),
        "finish": _("Answered"),
        "since": _("Since %(time)s"),
        "shift": _("%(start)s – %(end)s · %(subject)s · %(band)s · %(capacity)s at once"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "refused": _("The duty console is not available. Reload the page."),
        "enterSession": _("Enter the session"),
    }


def _session_labels(limits: Mapping[str, object]) -> dict[str, str]:
    return {
        **_attachment_labels(),
        **_recorder_labels(limits),
        "title": _("%(teacher)s answers %(student)s"),
        "teacherHere": _("The teacher is here."),
        "teacherAway": _("The teacher is not connected."),
        "studentHere": _("The student is here."),
        "studentAway": _("The student is not connected."),
        "subjectGrade": _("%(subject)s · %(grade)s"),
        "noText": _("(no text: see the photo or voice clip)"),
        "pageOf": _("Page %(page)s of %(count)s"),
        "placePhoto": _("Put photo %(number)s on the board"),
        "confirmEnd": _("End the session for both of you?"),
        "notConnected": _("Not connected. Wait a moment and try again."),
        "watch": _("Watch and listen; ask in the messages below."),
        "mayDraw": _("The teacher lets you draw on the board."),
        "maySpeak": _("The teacher lets you speak: turn your microphone on."),
        "mayDrawSpeak": _("The teacher lets you draw and speak."),
        "micOn": _("Microphone on"),
        "micOff": _("Microphone off"),
        "me": _("Me"),
        "chatPhoto": _("Photo in the messages"),
        "uploading": _("Sending…"),
        "uploadingProgress": _("Sending… %(percent)s%%"),
        "uploadError": _("It could not be sent. Check your connection and try again."),
        "photoTooLarge": _("This photo is too large. Please take a smaller one."),
        "networkError": _("That did not work. Check your connection and try again."),
        "error": _("That did not work. Please try again."),
        "error_not_allowed": _("The teacher has not allowed that."),
        "error_rate_limited": _("Too fast: wait a moment."),
        "ended": _("The teacher ended the session."),
        "endedAbandoned": _("The session ended because nobody was in the room."),
        "chooseScore": _("Choose from 1 to 5 stars."),
        "rated": _("Thank you! You gave %(score)s stars."),
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "recording_pending": _("The video will be made shortly."),
        "recording_rendering": _("The video is being made…"),
        "recording_awaiting_approval": _(
            "The video is ready. Other students are shown it once the teacher publishes it."
        ),
        "recording_published": _("The video is published."),
        "recording_failed": _("The video could not be made."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "offline": _("You are offline. The session goes on when you are back online."),
        "refused": _("The session is not available. Reload the page."),
    }


def _studio_labels() -> dict[str, str]:
    return {
        "pageOf": _("Page %(page)s of %(count)s"),
        "status_scheduled": _("Not live yet: press Go live when you are ready."),
        "status_live": _("Live"),
        "status_ended": _("The lecture has ended."),
        "status_cancelled": _("This lecture was cancelled."),
        "confirmEnd": _("End the lecture for everyone?"),
        "micOn": _("Microphone on"),
        "micOff": _("Microphone off"),
        "error": _("That did not work. Please try again."),
        "error_rate_limited": _("Too fast: wait a moment."),
        "refused": _("The studio is not available. Reload the page."),
        "error_unknown_slide": _("Only this lecture's slides can be placed."),
        "slidePage": _("Slide %(number)s"),
        "slidePhoto": _("Question photo %(number)s"),
        "slidesNone": _("No slides yet."),
        "slides_pending": _("The slides are being prepared…"),
        "slides_rendering": _("The slides are being prepared…"),
        "slides_ready": _("Tap a slide to put it on this page."),
        "slides_failed": _("The slides could not be prepared: %(error)s"),
        "slidesLive": _("Go live first, then put slides on the pages."),
        "slidesUploading": _("Uploading… %(percent)s%%"),
        "slidesUploadFailed": _("The upload did not get through. Please try again."),
        **_lecture_socket_labels(),
        **_interaction_labels(),
    }


def _lecture_socket_labels() -> dict[str, str]:
    """What the studio and the lecture page say of the lecture's socket and its audience."""
    return {
        "audience": _("%(count)s students watching"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "offline": _("You are offline. The lecture goes on when you are back online."),
    }


def _signup_labels() -> dict[str, str]:
    """The 预约 toggle's texts (lecture-signup.js)."""
    return {
        "signUp": _("Sign up"),
        "signedUp": _("Signed up"),
        "error": _("That did not work. Please try again."),
    }


def _lecture_notice_labels() -> dict[str, str]:
    """What a student's pages say when a lecture they signed up for starts, moves or is cancelled."""
    return {
        "started": _("The lecture you signed up for, “%(title)s”, has started."),
        "moved": _("The lecture you signed up for, “%(title)s”, now starts at %(time)s."),
        "cancelled": _("The lecture you signed up for, “%(title)s”, has been cancelled."),
        "join": _("Join the lecture"),
        "open": _("See the lecture"),
    }


def _lecture_labels() -> dict[str, str]:
    return {
        "countdown": _("Starts in %(time)s"),
        "countdownDays": _("Starts in %(days)s d %(time)s"),
        "startingSoon": _("Starting soon: the teacher will begin in a moment."),
        "status_scheduled": _("Not started"),
        "status_live": _("Live"),
        "status_ended": _("Ended"),
        "status_cancelled": _("Cancelled"),
        "ended": _("The lecture has ended."),
        "cancelled": _("This lecture was cancelled."),
        "refused": _("The lecture is not available. Reload the page."),
        **_lecture_socket_labels(),
        **_interaction_labels(),
    }


def _interaction_labels() -> dict[str, str]:
    """The questions' and quick checks' texts (lecture-interaction.js), for students and moderators alike."""
    return {
        "pinned": _("Pinned by the teacher"),
        "answered": _("Answered"),
        "hidden": _("Hidden"),
        "upvote": _("Me too (%(count)s so far)"),
        "upvotes": _("%(count)s ▲"),
        "noQuestions": _("No questions yet."),
        "asked": _("Sent. The teacher sees your question."),
        "emptyQuestion": _("Write your question first."),
        "noFile": _("No file chosen"),
        "photoTooLarge": _("This photo is too large. Please take a smaller one."),
        "photoSending": _("Sending the photo… %(percent)s%%"),
        "photoNotSent": _("The photo did not get through. Please try again."),
        "photoOpen": _("See the photo sent with this question"),
        "photoLarge": _("The photo sent with the question"),
        "photoClose": _("Close the photo"),
        "pollOpen": _("Quick check"),
        "pollClosed": _("Quick check: the answers"),
        "pollAnswered": _("Your answer: %(answer)s"),
        "pollNumber": _("Your number"),
        "pollSend": _("Answer"),
        "pollCount": _("%(count)s (%(share)s%%)"),
        "pollAnswers": _("%(count)s answered"),
        "pollClose": _("Close and show the answers"),
        "markAnswered": _("Answered"),
        "pin": _("Pin"),
        "unpin": _("Unpin"),
        "hide": _("Hide"),
        "notConnected": _("Not connected. Wait a moment and try again."),
        "chatOn": _("Switch the chat on"),
        "chatOff": _("Switch the chat off"),
        "handRaise": _("Raise my hand"),
        "handLower": _("Lower my hand"),
        "handDone": _("I am done"),
        "handWaiting": _("Your hand is raised. The teacher may invite you."),
        "invited_speak": _("The teacher invites you to speak: press Start speaking."),
        "invited_draw": _("The teacher invites you to draw on the board."),
        "speakStart": _("Start speaking"),
        "micDenied": _("The microphone is not allowed. Allow it in the browser settings to record."),
        "micUnavailable": _("No microphone could be used."),
        "speakStop": _("Stop speaking"),
        "raised": _("%(count)s hands raised"),
        "invited_speak_badge": _("speaking"),
        "invited_draw_badge": _("drawing"),
        "inviteSpeak": _("Invite to speak"),
        "inviteDraw": _("Invite to draw"),
        "takeBack": _("Take back"),
        "turnDown": _("Lower"),
    }


def _library_labels() -> dict[str, str]:
    limits = settings.XUEWEN
    return {
        "save": _("Add to the library"),
        "saving": _("Uploading…"),
        "savingProgress": _("Uploading… %(percent)s%%"),
        "retry": _("Try again"),
        "saved": _("Added to the library."),
        "savedProcessing": _(
            "Added to the library. The video is being prepared; students are offered it once it is ready."
        ),
        "networkError": _("The answer could not be sent. Check your connection and try again."),
        "serverError": _("Something went wrong on our side. Please try again."),
        "emptyText": _("Type the question."),
        "noAnswer": _("Give a video or a worked solution."),
        "videoTooLarge": _("This video is larger than %(megabytes)s MB.")
        % {"megabytes": limits["MAX_VIDEO_BYTES"] // (1024 * 1024)},
        "notAVideo": _("Please choose a video."),
        "photoTooLarge": _("This photo is too large. Please take a smaller one."),
        "notAnImage": _("Please choose a photo."),
        "subjectGrade": _("%(subject)s · %(grade)s"),
        "answerVideo": _("Video"),
        "answerVideoProcessing": _("Video (being prepared)"),
        "answerSolution": _("Worked solution"),
        "noFile": _("No file chosen"),
    }


# --- Workload and stipends ---------------------------------------------------------------------


def _stipend_labels() -> dict[str, str]:
    return {
        "failed": _("That did not work. Check your connection and try again."),
        "confirmReport": _("Report these figures to the district? The month is locked afterwards."),
    }


def _flag_labels() -> dict[str, str]:
    """What each of a reviewer's flags (``school_month_flags``) says, with its count."""
    return {
        "no_activity": _("%(count)s sessions without board, voice or chat from the teacher"),
        "short_repeated": _("%(count)s very short sessions repeated with the same student"),
        "offers_expired": _("%(count)s offers left to expire while on duty"),
        "ratings_one_student": _("%(count)s ratings from one student, half or more of all"),
        "far_above_peers": _("workload %(count)s times the month's median or more"),
    }


@login_required
def stipends(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A teacher's own days, statements and their status; a school's administrators' months to review; a
    district's or the city's administrators' totals by school."""
    user = request.user
    if user.is_teacher:
        today = timezone.localdate()
        statements = teacher_statements(user)
        mine: dict[str, Any] = {
            "statements": statements,
            "days": ledger_days(teacher=user, first=today.replace(day=1), last=today),
            "term": teacher_term(user, statements[0]["statement"].month) if statements else None,
        }
        return render(request, "frontend/stipends_teacher.html", mine)
    if not (user.is_superuser or user.role == User.Role.ADMINISTRATOR):
        raise Http404
    context: dict[str, Any] = {"months": school_months_reviewed(user)}
    overseen = schools_overseen(user)
    if overseen is not None:
        months = stated_months(overseen)
        chosen = next((month for month in months if f"{month:%Y-%m}" == request.GET.get("month")), None)
        chosen = chosen or (months[0] if months else None)
        context |= {
            "stated_months": months,
            "month": chosen,
            "totals": school_totals(overseen, chosen) if chosen else [],
        }
    return render(request, "frontend/stipends_months.html", context)


@login_required
def stipend_month(request: AuthenticatedHttpRequest, school_month_id: int) -> HttpResponse:
    """A school month for its reviewers: every teacher's statement, the corrections, the objections and the next
    step; 404 for anyone else."""
    school_month = school_month_access(request.user, school_month_id)
    flags = school_month_flags(school_month)
    labels = _flag_labels()
    rows = [
        {**row, "flags": [labels[flag["code"]] % {"count": flag["count"]} for flag in flags.get(row["teacher"], [])]}
        for row in school_month_rows(school_month)
    ]
    context = {
        "school_month": school_month,
        "rows": rows,
        "adjustments": school_month_adjustments(school_month),
        "objections": school_month.objections.select_related("teacher", "answered_by"),
        "principal": is_principal(request.user, school_month.school),
        "config": {
            "stepUrl": reverse("stipends:step", kwargs={"school_month_id": school_month.pk, "step": "STEP"}),
            "adjustmentsUrl": reverse("stipends:adjustments", kwargs={"school_month_id": school_month.pk}),
            "answerUrl": reverse("stipends:answer", kwargs={"objection_id": 0}).replace("/0/", "/{id}/"),
        },
        "labels": _stipend_labels(),
    }
    return render(request, "frontend/stipend_month.html", context)


@login_required
def stipend_statement(request: AuthenticatedHttpRequest, month: str) -> HttpResponse:
    """A teacher's own statement of a month (``YYYY-MM``): its days, corrections, status and, during its
    publicity, the way to object; 404 for anyone else's."""
    statement = teacher_statement(request.user, month)
    school_month = SchoolMonth.objects.filter(school=statement.school, month=statement.month).first()
    context = {
        "statement": statement,
        "school_month": school_month,
        "days": statement.days.select_related("rule").order_by("day"),
        "adjustments": Adjustment.objects.filter(teacher=request.user, month=statement.month).order_by("id"),
        "objections": Objection.objects.filter(teacher=request.user, school_month=school_month),
        "may_object": school_month is not None and school_month.status == SchoolMonth.Status.PUBLICIZED,
        "published": school_month is not None and school_month.status in PUBLISHED,
        "config": {
            "objectionUrl": reverse("stipends:objections", kwargs={"school_month_id": school_month.pk})
            if school_month
            else "",
        },
        "labels": _stipend_labels(),
    }
    return render(request, "frontend/stipend_statement.html", context)


# --- Insights ---------------------------------------------------------------------------------


def _figure_shown(unit: str, value: float | None) -> str:
    """A figure as the page shows it: a count, a percentage, a duration or stars; "—" for none."""
    if value is None:
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        if value == math.inf:
            return _("over an hour")
        return (
            _("%(seconds)s s") % {"seconds": f"{value:.0f}"}
            if value < 120
            else _("%(minutes)s min") % {"minutes": f"{value / 60:.1f}"}
        )
    if unit == "stars":
        return f"{value:.2f}"
    return f"{value:.0f}"


def _figure_change(figure: dict[str, Any]) -> str:
    """The change against the period before, in percent of it; empty where either is missing or zero."""
    value, previous = figure["value"], figure["previous"]
    if value is None or not previous or value == math.inf or previous == math.inf:
        return ""
    return f"{(value - previous) / previous * 100:+.0f}%"


def _drill_query(query: QueryDict) -> str:
    """The filters of the page (and its breakdown, to come back to), for the links to the questions behind its
    figures."""
    kept = query.copy()
    for key in ("page", "figure"):
        kept.pop(key, None)
    return kept.urlencode()


# A breakdown row's questions: the filter its key stands for (hours and weekdays have none).
DRILL_KEYS = {"day": ("from", "to"), "district": ("district",), "school": ("school",), "grade": ("grade",)}


@login_required
def insights_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Teaching-research staff's and administrators' figures: filters, every figure with its definition and the
    change against the period before, a trend and a breakdown, with exports; 404 for anyone else."""
    scope = insights_scope(request.user)
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no beat runs beside the embedded default's one process
        insights_refresh_due()
    status, error = 200, None
    try:
        filters = insights_filters(user=request.user, query=request.GET)
        by = request.GET.get("by") or "day"
        rows = insights_breakdown(filters, by)
    except ServiceError as refused:
        status, error = 400, refused
        filters, by = insights_filters(user=request.user, query={}), "day"
        rows = insights_breakdown(filters, by)
    figures = insights_figures(filters)
    trend = rows if by == "day" else insights_breakdown(filters, "day")
    hours = None if filters.school is not None or scope.school_id is not None else insights_breakdown(filters, "hour")
    districts, schools = insights_places(scope)
    shown = [
        {**figure, "shown": _figure_shown(figure["unit"], figure["value"]), "change": _figure_change(figure)}
        for figure in figures["figures"]
    ]
    units = {figure.code: figure.unit for figure in FIGURES}
    context = {
        "filters": filters,
        "by": by,
        "error": error,
        "suppressed": figures["suppressed"],
        "figures": shown,
        "columns": [figure for figure in shown if figure["code"] in BREAKDOWN_COLUMNS],
        "rows": [
            {
                **row,
                "cells": [_figure_shown(units[code], row["values"][code]) for code in BREAKDOWN_COLUMNS],
                "drill": _row_drill(request.GET, by, row),
            }
            for row in rows
        ],
        "breakdowns": [(key, label) for key, label in exports.DIMENSIONS.items() if key in BREAKDOWNS],
        "districts": districts,
        "schools": schools,
        "subjects": subject_list(),
        "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, MAX_GRADE + 1)],
        "points": knowledge_point_choices(subject=filters.subject) if filters.subject else [],
        "query": request.GET.urlencode(),
        "drill": _drill_query(request.GET),
        "heatmap": insights_heatmap(filters),
        "charts": {
            "trend": {
                "labels": [row["label"] for row in trend],
                "series": [
                    {"label": str(FIGURE_BY_CODE[code].label), "values": [row["values"][code] for row in trend]}
                    for code in TREND_SERIES
                ],
            },
            "hours": None
            if hours is None
            else {
                "labels": [row["label"] for row in hours],
                "series": [
                    {"label": str(FIGURE_BY_CODE[code].label), "values": [row["values"][code] for row in hours]}
                    for code in ("asked", "sent_to_teacher")
                ],
            },
        },
    }
    return render(request, "frontend/insights.html", context, status=status)


@login_required
def insights_live_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Administrators' (and staff's) live view of a place within their scope: who is online, waiting, on duty,
    in a session or a lecture now; the socket keeps it current. 404 for anyone else."""
    scope = insights_scope(request.user)
    status, error = 200, None
    try:
        filters = insights_filters(user=request.user, query=live_query(request.GET))
    except ServiceError as refused:
        status, error = 400, refused
        filters = insights_filters(user=request.user, query={})
    reading = live_figures_read(filters)
    districts, schools = insights_places(scope)
    context = {
        "filters": filters,
        "error": error,
        "reading": reading,
        "at": timezone.localtime(datetime.fromisoformat(reading["at"])),
        "figures": [
            {
                "code": figure.code,
                "label": figure.label,
                "definition": figure.definition,
                "value": reading["values"][figure.code],
            }
            for figure in LIVE_FIGURES
        ],
        "districts": districts,
        "schools": schools,
        "labels": {
            "watching": _("%(count)s of these students watching"),
            "hidden": _("not shown"),
            "noLectures": _("No lecture is live now."),
            "reconnecting": _("Connection lost. Reconnecting…"),
            "offline": _("You are offline. The figures update when you are back online."),
            "refused": _("You may no longer see these figures. Reload the page."),
        },
    }
    return render(request, "frontend/insights_live.html", context, status=status)


def _row_drill(query: QueryDict, by: str, row: dict[str, Any]) -> str | None:
    """The filters of a breakdown row's questions, or None where the row stands for no filter (or shows none)."""
    keys = DRILL_KEYS.get(by)
    if keys is None or row["suppressed"]:
        return None
    kept = QueryDict(_drill_query(query), mutable=True)
    for key in keys:
        kept[key] = str(row["key"])
    if by == "school":
        kept.pop("district", None)
    return kept.urlencode()


@login_required
def insights_clusters_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The week's hot clusters of the viewer's city for teaching-research staff: each with its representative
    question, size and trend, what became of its questions and the best video, or the offer to record a video or
    schedule a lecture when no video answers it; 404 for anyone who may not read a whole city."""
    status, error = 200, None
    try:
        filters = clusters_filters(user=request.user, query=request.GET)
    except ServiceError as refused:
        status, error = 400, refused
        filters = clusters_filters(user=request.user, query={"city": request.GET.get("city", "")})
    user = request.user
    context = {
        "filters": filters,
        "error": error,
        "clusters": list(clusters_of(filters)),
        "subjects": subject_list(),
        "bands": grade_band_list(),
        "query": request.GET.urlencode(),
        "may_record": library_editor(user),
        "may_schedule": user.has_perm("lectures.add_lecture"),
    }
    return render(request, "frontend/insights_clusters.html", context, status=status)


@login_required
def insights_cluster_page(request: AuthenticatedHttpRequest, cluster_id: int) -> HttpResponse:
    """One hot cluster's questions, the most central first: only those the viewer may read, with their photos."""
    cluster = cluster_get(user=request.user, cluster_id=cluster_id)
    questions = cluster_questions(user=request.user, cluster=cluster).select_related("subject")
    context = {
        "cluster": cluster,
        "points": cluster.knowledge_points.order_by("name"),
        "page": Paginator(questions.prefetch_related("attachments"), INSIGHTS_QUESTIONS_PAGE).get_page(
            request.GET.get("page")
        ),
        "may_record": library_editor(request.user),
        "may_schedule": request.user.has_perm("lectures.add_lecture"),
    }
    return render(request, "frontend/insights_cluster.html", context)


@login_required
def insights_questions_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The questions behind one figure of the insights' filters (``?figure=``), newest first, a page at a time:
    only those the viewer may read, with their photos; 404 for anyone without insights."""
    insights_scope(request.user)
    try:
        filters = insights_filters(user=request.user, query=request.GET)
        code = request.GET.get("figure") or "asked"
        questions = insights_questions(user=request.user, filters=filters, code=code)
    except ServiceError as refused:
        return render(request, "frontend/insights_questions.html", {"error": refused}, status=400)
    listed = questions.select_related("subject").prefetch_related("attachments")
    query = request.GET.copy()
    query.pop("figure", None)
    query.pop("page", None)
    context = {
        "filters": filters,
        "figure": FIGURE_BY_CODE[code],
        "page": Paginator(listed, INSIGHTS_QUESTIONS_PAGE).get_page(request.GET.get("page")),
        "back": f"{reverse('frontend:insights')}?{query.urlencode()}",
    }
    return render(request, "frontend/insights_questions.html", context)


ENGAGEMENT_COMMENTS_PAGE = 20


def _cell_shown(unit: str, value: Any) -> str:
    """A cell of an engagement table as the page shows it (``_figure_shown`` for figures); "—" for none."""
    if value is None:
        return "—"
    if unit in ("text", "day"):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if unit == "hours" or (unit == "count" and isinstance(value, float) and not value.is_integer()):
        return f"{value:.2f}"
    return _figure_shown(unit, value)


def _table_shown(table: Any, query: str) -> dict[str, Any]:
    return {
        "code": table.code,
        "title": table.title,
        "columns": table.columns,
        "suppressed": table.suppressed,
        "unavailable": table.unavailable,
        "rows": [
            {
                "suppressed": row["suppressed"],
                "cells": [_cell_shown(column.unit, row["cells"][column.code]) for column in table.columns],
            }
            for row in table.rows
        ],
        "exports": _table_exports(table.code, query),
    }


def _table_exports(code: str, query: str) -> dict[str, str]:
    return {
        file_format: f"{reverse('insights:engagement-export', args=[code, file_format])}?{query}"
        for file_format in ("csv", "xlsx")
    }


@login_required
def insights_engagement_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Participation by school and grade, satisfaction with its trend and the students' comments (a page at a
    time), silent schools, lectures and their audiences, teachers on duty against the questions by hour and next
    week's staffing, for the insights' filters; each column's definition beside it; 404 for anyone else."""
    scope = insights_scope(request.user)
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no beat runs beside the embedded default's one process
        insights_refresh_due()
    status, error = 200, None
    query = request.GET.copy()
    query.pop("page", None)
    try:
        filters = insights_filters(user=request.user, query=request.GET)
    except ServiceError as refused:
        status, error = 400, refused
        filters, query = insights_filters(user=request.user, query={}), QueryDict()
    kept = query.urlencode()
    tables = {code: engagement.engagement_table(filters, code) for code in engagement.TABLES if code != "comments"}
    satisfaction = tables["satisfaction"]
    coverage = tables["coverage"]
    districts, schools = insights_places(scope)
    comments = Paginator(engagement.rating_comment_list(filters), ENGAGEMENT_COMMENTS_PAGE)
    context = {
        "filters": filters,
        "error": error,
        "districts": districts,
        "schools": schools,
        "subjects": subject_list(),
        "grades": [(number, grade_label(number)) for number in range(MIN_GRADE, MAX_GRADE + 1)],
        "query": kept,
        "back": f"{reverse('frontend:insights')}?{kept}",
        "tables": {code: _table_shown(table, kept) for code, table in tables.items()},
        "summary": engagement.satisfaction_summary(filters),
        "rating_mean": FIGURE_BY_CODE["rating_mean"],
        "comments": comments.get_page(request.GET.get("page")),
        "comment_columns": COMMENTS,
        "comment_exports": _table_exports("comments", kept),
        "small_schools": engagement.small_schools(filters),
        "staffing_formula": STAFFING_FORMULA,
        "suggestions": [
            _("Add %(count)s teachers for %(subject)s, %(band)s: %(weekday)s %(hour)s")
            % {
                "count": row["cells"]["add"],
                "subject": row["cells"]["subject"],
                "band": row["cells"]["grade_band"],
                "weekday": row["cells"]["weekday"],
                "hour": row["cells"]["hour"],
            }
            for row in tables["staffing"].rows
            if row["cells"]["add"]
        ],
        "charts": {
            "trend": {
                "labels": [row["cells"]["period"] for row in satisfaction.rows],
                "series": [
                    {
                        "label": str(FIGURE_BY_CODE["rating_mean"].label),
                        "values": [row["cells"]["rating_mean"] for row in satisfaction.rows],
                    }
                ],
            },
            "hours": {
                "labels": [row["cells"]["hour"] for row in coverage.rows],
                "series": [
                    {"label": str(column.label), "values": [row["cells"][column.code] for row in coverage.rows]}
                    for column in COVERAGE[:2]
                ],
            },
        },
    }
    return render(request, "frontend/insights_engagement.html", context, status=status)
