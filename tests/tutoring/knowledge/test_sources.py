import json

import pytest

from tutoring.knowledge.sources import KnowledgePointRecord, SourceError, chalkbase_records, records_from_file


def test_chalkbase_gives_its_points_under_their_threads_and_topics_with_grades_and_aliases():
    records = chalkbase_records()

    by_code = {record.code: record for record in records}
    kinds = [record.code.split(".")[0] for record in records]
    assert (len(records), kinds.count("topic"), kinds.count("thread"), kinds.count("kp")) == (534, 8, 93, 433)
    assert len(by_code) == 534
    assert by_code["kp.na.10以内数的认识.count"] == KnowledgePointRecord(
        code="kp.na.10以内数的认识.count",
        name="10以内数的点数与认识",
        parent="thread.10以内数的认识",
        aliases=("数一数", "认数"),
        min_grade=1,
        max_grade=1,
        description="能正确点数10以内的物体数量，用基数词表示，建立数与物体数量的一一对应。",
    )
    assert by_code["thread.10以内数的认识"].parent == "topic.数与运算"
    assert all(record.parent in by_code for record in records if record.parent)
    assert all(1 <= record.min_grade <= record.max_grade <= 6 for record in records)


def test_a_json_lines_file_and_a_csv_file_give_the_same_records(tmp_path):
    rows = [
        {"code": "force", "name": "力", "min_grade": 8, "max_grade": 8},
        {
            "code": "gravity",
            "name": "重力",
            "parent": "force",
            "aliases": ["G=mg", "重力的大小"],
            "description": "地球",
        },
    ]
    jsonl = tmp_path / "physics.jsonl"
    jsonl.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n\n", encoding="utf-8")
    csv = tmp_path / "physics.csv"
    csv.write_text(
        "\ufeffcode,name,parent,aliases,min_grade,max_grade,description\n"
        "force,力,,,8,8,\n"
        "gravity,重力,force,G=mg| 重力的大小 ,,,地球\n",
        encoding="utf-8",
    )

    expected = [
        KnowledgePointRecord("force", "力", min_grade=8, max_grade=8),
        KnowledgePointRecord("gravity", "重力", "force", ("G=mg", "重力的大小"), description="地球"),
    ]
    assert records_from_file(jsonl) == expected
    assert records_from_file(csv) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"code": "a", "name": "甲"}\nnot json\n', "line 2: not JSON (Expecting value)"),
        ('["a", "甲"]\n', "line 1: expected an object"),
        ('{"code": "a", "name": "甲", "colour": "red"}\n', "line 1: unknown columns ['colour']"),
        ('{"code": "a", "name": "甲", "aliases": [1]}\n', "line 1: aliases must be a list of texts"),
        ('{"code": "a", "name": "甲", "min_grade": "三"}\n', "line 1: grade '三' is not a whole number"),
    ],
)
def test_a_file_that_cannot_be_read_names_the_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SourceError) as refused:
        records_from_file(path)

    assert str(refused.value) == message
