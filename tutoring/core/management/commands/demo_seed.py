"""Demo data: a city with districts and schools, and people of every role with known passwords."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from tutoring.accounts.models import StaffProfile, StudentProfile, TeacherProfile, User
from tutoring.library.services import entry_save
from tutoring.schools.models import City, District, GradeBand, School, Subject

DEMO_PASSWORD = "xuewen-demo"

DISTRICTS = {
    "鹿城区": [("瓦市小学", School.Stage.PRIMARY), ("温州市第二中学", School.Stage.MIDDLE)],
    "瓯海区": [("瓯海实验小学", School.Stage.PRIMARY), ("瓯海区第一中学", School.Stage.MIDDLE)],
    "龙湾区": [("龙湾区实验学校", School.Stage.NINE_YEAR)],
}

STUDENTS = [
    ("student1", "小明", "瓦市小学", 3),
    ("student2", "小红", "瓯海实验小学", 5),
    ("student3", "小刚", "温州市第二中学", 8),
]

TEACHERS = [
    ("teacher1", "王老师", "瓦市小学", ["math"], ["primary-lower", "primary-middle", "primary-upper"]),
    ("teacher2", "李老师", "温州市第二中学", ["math", "physics"], ["junior-middle"]),
    ("teacher3", "陈老师", "瓯海实验小学", ["chinese", "english"], ["primary-middle", "primary-upper"]),
]


# A small library of answered questions, so that asking one of these (or a rewording) finds its answer.
LIBRARY = [
    ("demo-1", "数学", 3, "小明有12个苹果，吃了5个，还剩几个？", ["减法"], "12 - 5 = 7（个）。答：还剩7个苹果。"),
    (
        "demo-2",
        "数学",
        4,
        "一个数的3倍加5等于20，这个数是多少？",
        ["简易方程"],
        "设这个数为x：3x + 5 = 20，3x = 15，x = 5。答：这个数是5。",
    ),
    ("demo-3", "数学", 3, "一根绳子长24米，平均分成6段，每段长多少米？", ["除法"], "24 ÷ 6 = 4（米）。答：每段长4米。"),
    (
        "demo-4",
        "数学",
        5,
        "一个长方形的长是8厘米，宽是5厘米，它的面积是多少平方厘米？",
        ["长方形面积"],
        "8 × 5 = 40（平方厘米）。答：面积是40平方厘米。",
    ),
    (
        "demo-5",
        "数学",
        6,
        "一件衣服原价200元，打八折后多少元？",
        ["百分数", "折扣"],
        "200 × 80% = 160（元）。答：打八折后160元。",
    ),
    (
        "demo-6",
        "语文",
        3,
        "“守株待兔”这个成语告诉我们什么道理？",
        ["成语"],
        "不能把偶然的事当成必然，不努力而心存侥幸，是不会有收获的。",
    ),
    (
        "demo-7",
        "物理",
        8,
        "一辆汽车2小时行驶了120千米，它的平均速度是多少千米每小时？",
        ["速度"],
        "v = s ÷ t = 120 ÷ 2 = 60（千米/时）。",
    ),
]


class Command(BaseCommand):
    help = "Create demo places and people (idempotent) and print their logins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        city, _ = City.objects.get_or_create(name="温州市")
        schools: dict[str, School] = {}
        for district_name, district_schools in DISTRICTS.items():
            district, _ = District.objects.get_or_create(city=city, name=district_name)
            for school_name, stage in district_schools:
                schools[school_name], _ = School.objects.get_or_create(
                    district=district, name=school_name, defaults={"stage": stage}
                )

        logins: list[tuple[str, str, str]] = []
        for username, name, school, grade in STUDENTS:
            user = self._user(username, name, User.Role.STUDENT)
            StudentProfile.objects.update_or_create(user=user, defaults={"school": schools[school], "grade": grade})
            logins.append(("student", username, f"{name}, {school}, grade {grade}"))
        for username, name, school, subjects, bands in TEACHERS:
            user = self._user(username, name, User.Role.TEACHER)
            profile, _ = TeacherProfile.objects.update_or_create(user=user, defaults={"school": schools[school]})
            profile.subjects.set(Subject.objects.filter(code__in=subjects))
            profile.grade_bands.set(GradeBand.objects.filter(code__in=bands))
            logins.append(("teacher", username, f"{name}, {', '.join(subjects)}"))
        staff = self._user("staff1", "赵研究员", User.Role.STAFF)
        StaffProfile.objects.update_or_create(user=staff, defaults={"city": city, "district": None})
        logins.append(("staff", "staff1", "teaching research, whole city"))
        admin = self._user("admin", "管理员", User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
        logins.append(("administrator", admin.username, "Django admin at /admin/"))

        for external_id, subject, grade, text, points, solution in LIBRARY:
            entry_save(
                text=text,
                subject=subject,
                grade=grade,
                knowledge_points=points,
                solution=solution,
                external_id=external_id,
                created_by=User.objects.get(username="teacher1"),
            )
        self.stdout.write(f"Demo library: {len(LIBRARY)} answered questions with worked solutions.")

        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, username, description in logins:
            self.stdout.write(f"  {role:<14} {username:<10} {description}")

    def _user(self, username: str, name: str, role: str, **flags: bool) -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"display_name": name, "role": role, **flags}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user
