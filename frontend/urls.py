from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="frontend/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("questions/<int:question_id>/", views.question_detail, name="question"),
    path("library/", views.library_browse, name="library"),
    path("library/new/", views.library_new, name="library-new"),
    path("duty/", views.duty, name="duty"),
    path("sessions/<int:session_id>/", views.session_room, name="session"),
    path("lectures/<int:lecture_id>/", views.lecture_detail, name="lecture"),
    path("lectures/<int:lecture_id>/studio/", views.lecture_studio, name="lecture-studio"),
    path("stipends/", views.stipends, name="stipends"),
    path("insights/", views.insights_page, name="insights"),
    path("insights/questions/", views.insights_questions_page, name="insights-questions"),
    path("insights/engagement/", views.insights_engagement_page, name="insights-engagement"),
    path("insights/clusters/", views.insights_clusters_page, name="insights-clusters"),
    path("insights/clusters/<int:cluster_id>/", views.insights_cluster_page, name="insights-cluster"),
    path("insights/live/", views.insights_live_page, name="insights-live"),
    path("stipends/months/<int:school_month_id>/", views.stipend_month, name="stipend-month"),
    path("stipends/statements/<str:month>/", views.stipend_statement, name="stipend-statement"),
    path("", views.home, name="home"),
]
