from django.urls import path

from zegel.dlp import views

app_name = "dlp_admin"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("rules/adopt-defaults", views.adopt_defaults, name="adopt_defaults"),
    path("rules/<int:rule_id>", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete", views.rule_delete, name="rule_delete"),
    path("patterns", views.pattern_list, name="patterns"),
    path("patterns/test", views.pattern_test, name="pattern_test"),
    path("patterns/<int:pattern_id>/delete", views.pattern_delete, name="pattern_delete"),
    path("terms", views.term_list, name="terms"),
    path("terms/<int:term_id>/remove", views.term_remove, name="term_remove"),
    path("allowed", views.allowed_list, name="allowed"),
    path("allowed/<int:entry_id>/remove", views.allowed_remove, name="allowed_remove"),
]
