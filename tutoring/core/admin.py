"""What every admin page shares: the site's titles, read-only records, file inputs and permission names in the
interface's language."""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.contrib.auth.models import Permission
from django.db import models
from django.forms import CheckboxSelectMultiple, Field, ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

admin.site.site_header = admin.site.site_title = _("Xuewen administration")
admin.site.index_title = _("Administration")

# Django's admin leaves these in English in Simplified Chinese (Django 5.2). Our catalogue, which Django reads
# first (LOCALE_PATHS), translates them; marked here so that `make messages` keeps them.
UNTRANSLATED_BY_DJANGO = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
)


class ReadOnlyPermissions:
    """Rows written by services only (live state, logs, facts, what happened): administrators read them, with
    no add, change or delete, on their own pages or inline."""

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    """The admin of rows written by services only."""


class FactAdmin(ReadOnlyAdmin):
    """Append-only facts: their ``data`` is shown as details, in the order of ``detail_labels``, each named, and
    each value a choice stands for labelled, in the interface's language."""

    exclude = ["data"]
    readonly_fields = ["details"]
    detail_labels: ClassVar[Mapping[str, Promise]] = {}
    detail_values: ClassVar[Mapping[str, Mapping[str, Promise]]] = {}

    @admin.display(description=_("details"))
    def details(self, fact: Any) -> str:
        order = {key: position for position, key in enumerate(self.detail_labels)}
        items = sorted(fact.data.items(), key=lambda item: order.get(item[0], len(order)))
        return format_html_join(
            mark_safe("<br>"),
            "{}：{}",
            ((self.detail_labels.get(key, key), self._detail_value(key, value)) for key, value in items),
        )

    def _detail_value(self, key: str, value: Any) -> Any:
        if value is None:
            return self.get_empty_value_display()
        if isinstance(value, list):
            return "、".join(str(item) for item in value)
        if isinstance(value, str):
            return self.detail_values.get(key, {}).get(value, value)
        return value


class FileInput(AdminFileWidget):
    """The browser draws its own file button in the browser's language ("Choose File"): this one hides it behind
    a label in the interface's language and shows the chosen file's name."""

    template_name = "admin/widgets/file_input.html"

    class Media:
        css = {"all": ["core/admin/file_input.css"]}
        js = ["core/admin/file_input.js"]


# Every admin form with a file field uses it: ``formfield_overrides = file_input_overrides``.
file_input_overrides: dict[type[models.Field], dict[str, Any]] = {models.FileField: {"widget": FileInput}}

# Many-to-many choices as checkboxes, for forms that would use Django's two-box filter (``filter_horizontal``):
# its JavaScript gives plain spans ARIA labels screen readers cannot use, and its arrows are 24 px, too small to
# tap. ``formfield_overrides = checkbox_choice_overrides``.
checkbox_choice_overrides: dict[type[models.Field], dict[str, Any]] = {
    models.ManyToManyField: {"widget": CheckboxSelectMultiple}
}

PERMISSION_NAMES = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


class PermissionChoiceField(ModelMultipleChoiceField):
    """Django stores permission names in English ("Can add match"): the default ones are named again from
    their model, and a model's own from its Meta, in the interface's language."""

    def label_from_instance(self, obj: Permission) -> str:
        action, _separator, model_name = obj.codename.partition("_")
        model = obj.content_type.model_class()
        if model is None:
            return str(obj)
        if action in PERMISSION_NAMES and model._meta.model_name == model_name:
            return f"{obj.content_type} | {PERMISSION_NAMES[action] % {'model': model._meta.verbose_name}}"
        declared = dict(model._meta.permissions)  # a model's own permissions, named in its Meta (translated)
        return f"{obj.content_type} | {declared.get(obj.codename, obj.name)}"


class PermissionsAdmin(admin.ModelAdmin):
    """For the admins of models with permissions to grant (users, groups): the permissions are checkboxes."""

    filter_horizontal = ()
    formfield_overrides = checkbox_choice_overrides

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Field | None:
        if db_field.many_to_many and db_field.related_model is Permission:
            kwargs["form_class"] = PermissionChoiceField
        return super().formfield_for_dbfield(db_field, request, **kwargs)
