import pytest
from django.core.management import CommandError, call_command

from tutoring.knowledge.models import KnowledgePoint

pytestmark = pytest.mark.django_db


def test_the_chalkbase_taxonomy_is_imported_for_maths_and_again_without_duplicates(capsys):
    call_command("import_knowledge_points", "--chalkbase")
    call_command("import_knowledge_points", "--chalkbase", "--subject", "math")

    assert capsys.readouterr().out.splitlines() == [
        "math: 534 created, 0 updated, 0 deactivated",
        "math: 0 created, 534 updated, 0 deactivated",
    ]
    point = KnowledgePoint.objects.get(code="kp.na.混合运算与运算律.distributive_law")
    assert (point.name, point.parent.name, point.parent.parent.name, point.subject.code) == (
        "乘法分配律",
        "混合运算与运算律",
        "数与运算",
        "math",
    )


def test_a_file_is_imported_for_the_subject_named(tmp_path, capsys):
    path = tmp_path / "physics.csv"
    path.write_text("code,name,parent\nforce,力,\ngravity,重力,force\n", encoding="utf-8")

    call_command("import_knowledge_points", "--subject", "physics", "--file", str(path))

    assert capsys.readouterr().out == "physics: 2 created, 0 updated, 0 deactivated\n"
    assert list(KnowledgePoint.objects.values_list("subject__code", "code", "parent__code")) == [
        ("physics", "force", None),
        ("physics", "gravity", "force"),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--subject", "alchemy", "--chalkbase"], "unknown subject 'alchemy'"),
        (["--subject", "physics", "--file", "missing.csv"], "No such file or directory"),
        (["--subject", "physics", "--file", "{bad}"], "line 1: not JSON"),
        (["--subject", "physics", "--chalkbase"], "第1个知识点（topic.数与运算）：该学科不开设它的年级。"),
    ],
)
def test_a_taxonomy_that_cannot_be_imported_is_refused_and_nothing_is_written(tmp_path, arguments, message):
    (tmp_path / "{bad}").write_text("{bad\n", encoding="utf-8")
    arguments = [
        str(tmp_path / argument) if argument in ("{bad}", "missing.csv") else argument for argument in arguments
    ]

    with pytest.raises(CommandError) as refused:
        call_command("import_knowledge_points", *arguments)

    assert message in str(refused.value)
    assert KnowledgePoint.objects.count() == 0
