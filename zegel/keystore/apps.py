from django.apps import AppConfig


class KeystoreConfig(AppConfig):
    name = "zegel.keystore"
    label = "keystore"
    default_auto_field = "django.db.models.BigAutoField"
