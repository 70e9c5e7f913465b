from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zegel.core"
    label = "core"

    def ready(self) -> None:
        from zegel.core import checks  # noqa: F401 - registers the deploy checks
