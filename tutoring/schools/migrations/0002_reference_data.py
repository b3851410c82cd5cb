"""Subjects and grade bands of compulsory education (grades 1-9); administrators may edit them later."""

from django.db import migrations

SUBJECTS = [
    ("chinese", "语文", 1, 9),
    ("math", "数学", 1, 9),
    ("english", "英语", 3, 9),
    ("physics", "物理", 8, 9),
    ("chemistry", "化学", 9, 9),
    ("biology", "生物", 7, 8),
    ("history", "历史", 7, 9),
    ("geography", "地理", 7, 8),
    ("ethics", "道德与法治", 1, 9),
    ("science", "科学", 1, 9),
]

GRADE_BANDS = [
    ("primary-lower", "小学低段", 1, 2),
    ("primary-middle", "小学中段", 3, 4),
    ("primary-upper", "小学高段", 5, 6),
    ("junior-middle", "初中", 7, 9),
]


def create(apps, schema_editor):
    Subject = apps.get_model("schools", "Subject")
    GradeBand = apps.get_model("schools", "GradeBand")
    for position, (code, name, low, high) in enumerate(SUBJECTS):
        Subject.objects.update_or_create(
            code=code, defaults={"name": name, "min_grade": low, "max_grade": high, "position": position}
        )
    for code, name, low, high in GRADE_BANDS:
        GradeBand.objects.update_or_create(code=code, defaults={"name": name, "min_grade": low, "max_grade": high})


def remove(apps, schema_editor):
    apps.get_model("schools", "Subject").objects.filter(code__in=[s[0] for s in SUBJECTS]).delete()
    apps.get_model("schools", "GradeBand").objects.filter(code__in=[b[0] for b in GRADE_BANDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
