from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zegel.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from zegel.core import checks  # noqa: F401 - registers the deploy checks
        from zegel.core.sessions import stamp_login

        user_logged_in.connect(stamp_login, dispatch_uid="zegel.core.sessions.stamp_login")
