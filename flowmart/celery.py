import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")

app = Celery("flowmart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Registered by dotted name: the step module reads Django settings, which are not loaded yet here.
app.steps["consumer"].add("flowmart.worker_heartbeat:WorkerHeartbeat")


@task_prerun.connect
@task_postrun.connect
def _recycle_old_connections(**kwargs) -> None:
    """Between tasks, treat a task like a web request: keep the connection (CELERY_DB_REUSE_MAX stops the
    fix-up closing it), but drop it when older than CONN_MAX_AGE, unusable after an error, or (health
    check on first use) dead, so a terminated backend is replaced instead of failing the next task."""
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return  # an eager task runs inside the caller's request and transaction
    from django.db import close_old_connections

    close_old_connections()


@worker_process_shutdown.connect
def _forget_process_metrics(pid=None, **kwargs) -> None:
    from flowmart.metrics_multiprocess import process_exited

    process_exited(pid or os.getpid())
