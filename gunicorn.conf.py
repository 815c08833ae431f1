"""gunicorn reads this file from the working directory: tell the metrics when a web worker process exits."""


def child_exit(server, worker):
    from flowmart.metrics_multiprocess import process_exited

    process_exited(worker.pid)
