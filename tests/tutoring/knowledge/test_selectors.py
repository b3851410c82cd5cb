import pytest

from matching.knowledge import Point
from tests.factories import KnowledgePointFactory, subject
from tutoring.core.errors import ServiceError
from tutoring.knowledge.selectors import knowledge_point_names, knowledge_point_resolve, knowledge_point_terms

pytestmark = pytest.mark.django_db


def taxonomy() -> dict[str, object]:
    """A unit (倍的认识) with a point of the same name, points sharing an alias, and a deactivated point."""
    unit = KnowledgePointFactory(code="thread.倍的认识", name="倍的认识", position=0)
    return {
        "unit": unit,
        "times": KnowledgePointFactory(code="kp.倍的认识", name="倍的认识", parent=unit, position=1),
        "compare": KnowledgePointFactory(
            code="kp.比较", name="万以内数比较大小", aliases=["比大小", "数位不同直接比"], position=2, min_grade=2
        ),
        "decimals": KnowledgePointFactory(code="kp.小数比较", name="比较小数大小", aliases=["比大小"], position=3),
        "old": KnowledgePointFactory(code="kp.旧", name="旧知识点", is_active=False, position=4),
    }


def test_labels_are_codes_names_or_aliases_resolved_once_each_in_order():
    points = taxonomy()

    resolved = knowledge_point_resolve(
        subject=subject(), labels=[" 数位不同直接比", "倍的认识", "kp.小数比较", "万以内数比较大小", "thread.倍的认识"]
    )

    # A name shared by a unit and its point is the point; the unit is named by its code.
    assert resolved == [points["compare"], points["times"], points["decimals"], points["unit"]]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["比大小"], "「比大小」对应多个知识点，请选择其中一个：万以内数比较大小、比较小数大小。"),
        (["旧知识点"], "「旧知识点」不是数学的知识点。"),
        (["倍的认识", "炼金"], "「炼金」不是数学的知识点。"),
        (["倍的认识", " "], "知识点必须是文字。"),
    ],
)
def test_a_label_that_names_no_single_active_point_is_refused_with_the_reason(labels, message):
    taxonomy()

    with pytest.raises(ServiceError) as refused:
        knowledge_point_resolve(subject=subject(), labels=labels)

    assert (refused.value.field, str(refused.value.message)) == ("knowledge_points", message)


def test_another_subjects_points_are_not_resolved():
    taxonomy()

    with pytest.raises(ServiceError) as refused:
        knowledge_point_resolve(subject=subject("physics"), labels=["倍的认识"])

    assert str(refused.value.message) == "「倍的认识」不是物理的知识点。"


def test_the_names_suggested_are_the_active_points_in_the_taxonomys_order_once_each():
    taxonomy()
    KnowledgePointFactory(subject=subject("physics"), code="g", name="重力")

    assert knowledge_point_names(subject=subject()) == ["倍的认识", "万以内数比较大小", "比较小数大小"]
    assert knowledge_point_names() == ["倍的认识", "万以内数比较大小", "比较小数大小", "重力"]


def test_the_tagger_knows_each_active_point_by_its_name_and_aliases_within_the_subjects_grades():
    taxonomy()

    terms = knowledge_point_terms(subject=subject())

    assert terms == [
        Point("thread.倍的认识", ("倍的认识",), (1, 9)),
        Point("kp.倍的认识", ("倍的认识",), (1, 9)),
        Point("kp.比较", ("万以内数比较大小", "比大小", "数位不同直接比"), (2, 9)),
        Point("kp.小数比较", ("比较小数大小", "比大小"), (1, 9)),
    ]
