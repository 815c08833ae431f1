"""The production profile: secrets required, and Django's deployment checklist clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    dropped = {"SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if not k.endswith("SECRET") and k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "FLOWMART_ENV": "production", "FLOWMART_EXTRA_APPS": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "shop.example.com",
    "CARRIER_WEBHOOK_SECRET": "carrier-webhook-secret",
    "SANDBOX_WEBHOOK_SECRET": "sandbox-webhook-secret",
}


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_default_webhook_secret():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "CARRIER_WEBHOOK_SECRET"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "CARRIER_WEBHOOK_SECRET" in result.stderr


def test_demo_logins_are_refused_in_production():
    result = manage("setup_demo", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "refused in production" in result.stderr
