from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "chorus.jobs"
    verbose_name = _("Jobs")

    def ready(self) -> None:
        # Every app's tasks.py registers its jobs with the queue, so any worker can run them.
        autodiscover_modules("tasks")
