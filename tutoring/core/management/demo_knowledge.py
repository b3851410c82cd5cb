"""The demo's knowledge-point taxonomies: ChalkBase's for primary maths, and a few points of middle-school maths,
Chinese and physics (what the demo's questions need; a real deployment imports its own with
``import_knowledge_points --file``)."""

from tutoring.knowledge.services import knowledge_point_import
from tutoring.knowledge.sources import KnowledgePointRecord, chalkbase_records
from tutoring.schools.models import Subject

Record = KnowledgePointRecord

EXTRA = {
    "math": [
        Record("demo.方程与不等式", "方程与不等式（初中）", min_grade=7, max_grade=9),
        Record("demo.一元一次方程", "一元一次方程", "demo.方程与不等式", ("解一元一次方程", "移项"), 7, 7),
        Record("demo.二元一次方程组", "二元一次方程组", "demo.方程与不等式", ("消元", "代入消元"), 7, 7),
        Record("demo.函数", "函数（初中）", min_grade=8, max_grade=9),
        Record("demo.一次函数", "一次函数", "demo.函数", ("正比例函数",), 8, 8),
    ],
    "chinese": [
        Record("demo.积累与运用", "积累与运用"),
        Record("demo.成语", "成语", "demo.积累与运用", ("成语故事", "寓言")),
        Record("demo.古诗词", "古诗词", "demo.积累与运用", ("古诗", "诗句")),
    ],
    "physics": [
        Record("demo.运动和力", "运动和力", min_grade=8, max_grade=8),
        Record("demo.速度", "速度", "demo.运动和力", ("平均速度", "千米每小时"), 8, 8),
        Record("demo.重力", "重力", "demo.运动和力", ("G=mg", "重力的大小"), 8, 8),
        Record("demo.摩擦力", "摩擦力", "demo.运动和力", ("滑动摩擦",), 8, 8),
    ],
}


def knowledge_seed() -> list[str]:
    """Import the demo's taxonomies (idempotent); returns what to print."""
    lines = []
    for code, extra in EXTRA.items():
        records = (chalkbase_records() if code == "math" else []) + extra
        summary = knowledge_point_import(subject=Subject.objects.get(code=code), records=records)
        lines.append(f"Knowledge points of {code}: {summary.created + summary.updated} ({summary.created} new).")
    return lines
