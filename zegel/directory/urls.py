from django.urls import path

from zegel.directory import views

app_name = "directory"
urlpatterns = [
    path("", views.contact_list, name="contacts"),
    path("new", views.contact_new, name="contact_new"),
    path("import", views.import_contacts, name="import"),
    path("import/apply", views.import_apply, name="import_apply"),
    path("export.csv", views.export_contacts, name="export"),
    path("letters", views.access_code_letters, name="letters"),
    path("shared-codes", views.shared_code_list, name="shared_codes"),
    path("shared-codes/<str:shared_id>", views.shared_code_edit, name="shared_code"),
    path("shared-codes/<str:shared_id>/delete", views.shared_code_delete,
         name="shared_code_delete"),
    path("<str:contact_id>", views.contact_edit, name="contact"),
    path("<str:contact_id>/delete", views.contact_delete, name="contact_delete"),
]
