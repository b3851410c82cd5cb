from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tutoring.accounts.models import AdministratorProfile, StaffProfile, StudentProfile, TeacherProfile, User
from tutoring.core.admin import PermissionsAdmin, checkbox_choice_overrides


class StudentProfileInline(admin.StackedInline):
    model = StudentProfile
    can_delete = False
    autocomplete_fields = ["school"]


class TeacherProfileInline(admin.StackedInline):
    model = TeacherProfile
    can_delete = False
    autocomplete_fields = ["school"]
    formfield_overrides = checkbox_choice_overrides


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False


class AdministratorProfileInline(admin.StackedInline):
    model = AdministratorProfile
    can_delete = False
    autocomplete_fields = ["school"]


@admin.register(User)
class UserAdmin(PermissionsAdmin, DjangoUserAdmin):
    list_display = ["username", "display_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "display_name"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),  # always set; django-stubs type it as optional (BaseModelAdmin's)
        (_("Xuewen"), {"fields": ("role", "display_name")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Xuewen"), {"fields": ("role", "display_name")}),
    )

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[InlineModelAdmin]]:
        if obj is None:
            return []
        inlines: dict[str, list[type[InlineModelAdmin]]] = {
            User.Role.STUDENT: [StudentProfileInline],
            User.Role.TEACHER: [TeacherProfileInline],
            User.Role.STAFF: [StaffProfileInline],
            User.Role.ADMINISTRATOR: [AdministratorProfileInline],
        }
        return inlines.get(obj.role, [])


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionsAdmin, DjangoGroupAdmin):
    """Django's, with its permissions named in the interface's language."""
