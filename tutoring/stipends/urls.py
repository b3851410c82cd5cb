from django.urls import path

from tutoring.stipends import api

app_name = "stipends"

urlpatterns = [
    path("stipends/months/<int:school_month_id>", api.SchoolMonthApi.as_view(), name="school-month"),
    path("stipends/months/<int:school_month_id>/adjustments", api.AdjustmentApi.as_view(), name="adjustments"),
    path("stipends/months/<int:school_month_id>/objections", api.ObjectionApi.as_view(), name="objections"),
    path("stipends/months/<int:school_month_id>/export/<str:file_format>", api.school_month_export, name="export"),
    path("stipends/months/<int:school_month_id>/<str:step>", api.SchoolMonthStepApi.as_view(), name="step"),
    path("stipends/objections/<int:objection_id>/answer", api.ObjectionAnswerApi.as_view(), name="answer"),
]
