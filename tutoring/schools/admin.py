from django.contrib import admin

from tutoring.schools.models import City, District, GradeBand, School, Subject


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "city"]
    list_filter = ["city"]
    search_fields = ["name"]


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "district", "stage"]
    list_filter = ["stage", "district__city", "district"]
    search_fields = ["name"]


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "min_grade", "max_grade", "position"]  # the order is changed on its page


@admin.register(GradeBand)
class GradeBandAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "min_grade", "max_grade"]
