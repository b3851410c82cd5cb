import pytest

from tests.factories import KnowledgePointFactory, QuestionFactory, subject
from tutoring.core.errors import ServiceError
from tutoring.knowledge.models import KnowledgePoint, TagSource
from tutoring.knowledge.services import ImportSummary, knowledge_point_import
from tutoring.knowledge.sources import KnowledgePointRecord as Record
from tutoring.questions.models import QuestionKnowledgePoint

pytestmark = pytest.mark.django_db

TAXONOMY = [
    Record("numbers", "数与运算", min_grade=1, max_grade=6),
    Record("add", "加法", "numbers", ("加一加", "求和"), 1, 2, "把两个数合起来"),
    Record("subtract", "减法", "numbers", ("减一减",), 1, 2),
]


def points() -> list[tuple]:
    """The maths points, in the taxonomy's order."""
    return list(
        KnowledgePoint.objects.filter(subject=subject())
        .order_by("position", "pk")
        .values_list(
            "code", "name", "parent__code", "aliases", "min_grade", "max_grade", "description", "position", "is_active"
        )
    )


def test_an_import_creates_the_points_with_their_parents():
    summary = knowledge_point_import(subject=subject(), records=TAXONOMY)

    assert summary == ImportSummary(created=3, updated=0, deactivated=0)
    assert points() == [
        ("numbers", "数与运算", None, [], 1, 6, "", 0, True),
        ("add", "加法", "numbers", ["加一加", "求和"], 1, 2, "把两个数合起来", 1, True),
        ("subtract", "减法", "numbers", ["减一减"], 1, 2, "", 2, True),
    ]


def test_an_import_again_updates_by_code_and_deactivates_what_it_no_longer_lists_keeping_its_tags():
    knowledge_point_import(subject=subject(), records=TAXONOMY)
    subtract = KnowledgePoint.objects.get(code="subtract")
    question = QuestionFactory()
    QuestionKnowledgePoint.objects.create(question=question, point=subtract, source=TagSource.TEACHER)
    physics = KnowledgePointFactory(subject=subject("physics"), code="subtract", name="物理的减法")

    summary = knowledge_point_import(
        subject=subject(),
        records=[
            Record("add", "加法运算", aliases=("求和",)),
            Record("times", "乘法", "add", min_grade=2, max_grade=3),
        ],
    )

    assert summary == ImportSummary(created=1, updated=1, deactivated=2)
    assert points() == [
        ("numbers", "数与运算", None, [], 1, 6, "", 0, False),
        ("add", "加法运算", None, ["求和"], None, None, "", 0, True),
        ("times", "乘法", "add", [], 2, 3, "", 1, True),
        ("subtract", "减法", "numbers", ["减一减"], 1, 2, "", 2, False),
    ]
    assert QuestionKnowledgePoint.objects.get().point == subtract
    physics.refresh_from_db()
    assert (physics.name, physics.is_active) == ("物理的减法", True)  # another subject's taxonomy is its own


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "知识点体系中没有任何知识点。"),
        ([Record("", "加法")], "第1个知识点：编码缺失或过长。"),
        ([Record("a", "加法"), Record("a", "减法")], "第2个知识点：编码a重复出现。"),
        ([Record("a", "")], "第1个知识点（a）：名称缺失或过长。"),
        ([Record("a", "加" * 65)], "第1个知识点（a）：名称缺失或过长。"),
        ([Record("a", "加法", min_grade=3, max_grade=2)], "第1个知识点（a）：年级无效。"),
        ([Record("a", "加法", min_grade=0)], "第1个知识点（a）：年级无效。"),
        ([Record("a", "加法", max_grade=10)], "第1个知识点（a）：该学科不开设它的年级。"),
        ([Record("a", "加法", "b")], "第1个知识点（a）：上级b不在列表中。"),
        ([Record("a", "加法", "b"), Record("b", "减法", "a")], "第1个知识点（a）是它自己的上级。"),
    ],
)
def test_a_taxonomy_with_a_fault_is_refused_whole_naming_the_point(records, message):
    KnowledgePointFactory(code="kept", name="保留")

    with pytest.raises(ServiceError) as refused:
        knowledge_point_import(subject=subject(), records=[*records])

    assert str(refused.value.message) == message
    assert list(KnowledgePoint.objects.values_list("code", "is_active")) == [("kept", True)]
