"""The move from free-text knowledge points to the taxonomy's rows keeps every label an entry had."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("library", "0004_verbose_names"), ("knowledge", "0001_initial")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_label_becomes_a_tag_of_the_point_it_names_or_of_a_point_of_its_own():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    math = old.get_model("schools", "Subject").objects.get(code="math")
    points = old.get_model("knowledge", "KnowledgePoint").objects
    subtract = points.create(subject=math, code="kp.subtract", name="减法", aliases=["还剩几个"])
    points.create(subject=math, code="kp.a", name="比较小数", aliases=["比大小"])
    points.create(subject=math, code="kp.b", name="比较整数", aliases=["比大小"])
    entries = old.get_model("library", "Entry").objects
    labels = ["还剩几个", "kp.subtract", "比大小", " 应用题 "]
    labelled = entries.create(text="小明有12个苹果", subject=math, grade=3, knowledge_points=labels)
    entries.create(text="3+5=?", subject=math, grade=1, knowledge_points=[])

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps
    tags = new.get_model("library", "EntryKnowledgePoint").objects.filter(entry_id=labelled.pk).order_by("rank")
    # An unambiguous alias and a code name the same point (kept once); an alias of two points and an unknown label
    # become points of their own.
    assert [(tag.point.code, tag.point.name, tag.source, tag.rank) for tag in tags.select_related("point")] == [
        ("kp.subtract", "减法", "import", 0),
        ("label.比大小", "比大小", "import", 2),
        ("label.应用题", "应用题", "import", 3),
    ]
    assert tags.model.objects.count() == 3
    assert subtract.pk == tags[0].point_id
