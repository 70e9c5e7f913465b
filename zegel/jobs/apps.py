from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "zegel.jobs"
    label = "jobs"
