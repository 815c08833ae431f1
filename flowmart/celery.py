import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")

app = Celery("flowmart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Registered by dotted name: the step module reads Django settings, which are not loaded yet here.
app.steps["consumer"].add("flowmart.worker_heartbeat:WorkerHeartbeat")
