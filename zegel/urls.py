from django.urls import include, path

from zegel.api.views import api
from zegel.core import views as pages

urlpatterns = [
    path("", include("zegel.sender.urls")),
    path("", include("zegel.portal.urls")),
    path("", include("zegel.staff.urls")),
    path("api/v1/", api.urls),
    path("admin/dlp/", include("zegel.dlp.urls")),
    path("admin/contacts/", include("zegel.directory.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("brand/<int:org_id>.css", pages.brand_css, name="brand_css"),
    path("brand/<str:domain>/logo-<str:digest>.png", pages.logo_image, name="org_logo"),
    path("healthz", pages.healthz, name="healthz"),
]
# Captured mail and SMS, for the demo only: outside the demo both answer 404 (the views check
# settings.DEMO on every request, so a test can switch the demo on).
urlpatterns += [
    path("dev/outbox", pages.dev_outbox, name="dev_outbox"),
    path("dev/outbox/<int:item_id>.html", pages.dev_outbox_html, name="dev_outbox_html"),
]
