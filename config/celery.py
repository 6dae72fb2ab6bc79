"""The Celery app. Tasks take the schema name and set it themselves."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("docassist")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
