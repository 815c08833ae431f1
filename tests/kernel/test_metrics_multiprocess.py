"""/metrics adds up every process's counters when they share PROMETHEUS_MULTIPROC_DIR (issue 17): the worker's
checkout and event metrics and each web process's, not one random process's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.faults.database import database_url

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowmart.settings")
django.setup()
"""


def run(code: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP) + textwrap.dedent(code)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def shared_env(transactional_db, tmp_path):
    return {**os.environ, "DATABASE_URL": database_url(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}


def test_a_scrape_shows_the_sum_of_every_processs_counters(shared_env):
    run('from orders.metrics import CHECKOUTS\nCHECKOUTS.labels("confirmed").inc(2)', shared_env)  # a web process
    run(  # the worker: handled events
        "from flowmart.events.metrics import DELIVERIES_RUN, HANDLED_LAG\n"
        'DELIVERIES_RUN.labels("succeeded").inc(7)\nHANDLED_LAG.observe(0.2)',
        shared_env,
    )
    run('from orders.metrics import CHECKOUTS\nCHECKOUTS.labels("confirmed").inc(3)', shared_env)

    page = run(  # a third process serves the scrape
        """
        from django.test import RequestFactory
        from flowmart.metrics import metrics_view
        print(metrics_view(RequestFactory().get("/metrics")).content.decode())
        """,
        shared_env,
    )

    assert re.search(r'^flowmart_orders_checkouts_total\{outcome="confirmed"\} 5\.0$', page, re.M), page
    assert re.search(r'^flowmart_event_deliveries_run_total\{status="succeeded"\} 7\.0$', page, re.M)
    assert re.search(r"^flowmart_event_handled_lag_seconds_count 1\.0$", page, re.M)
    assert re.search(r"^flowmart_outbox_undispatched\{[^}]*\} 0\.0$|^flowmart_outbox_undispatched 0\.0$", page, re.M)
