from django.conf import settings
from django.urls import include, path

from zegel.api.views import api
from zegel.core import views as pages

urlpatterns = [
    path("", include("zegel.sender.urls")),
    path("", include("zegel.portal.urls")),
    path("", include("zegel.staff.urls")),
    path("api/v1/", api.urls),
    path("admin/dlp/", include("zegel.dlp.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("brand/<int:org_id>.css", pages.brand_css, name="brand_css"),
    path("healthz", pages.healthz, name="healthz"),
]
if settings.DEMO:
    # Captured mail and SMS, for the demo only: the page does not exist otherwise.
    urlpatterns.append(path("dev/outbox", pages.dev_outbox, name="dev_outbox"))
