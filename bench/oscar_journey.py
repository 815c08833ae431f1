"""The peer, side by side: django-oscar 4.2's sandbox and FlowMart on the same storefront journey, in one run.

    .venv/bin/python bench/oscar_journey.py --orders 200 --clients 8 [--web-workers 2] [--worker-concurrency 2]
        [--oscar-database NAME] [--only oscar|flowmart]

Both shops run under gunicorn with ``--web-workers`` sync workers, one after the other (never at once: they
would share the 2 cores), with ``--clients`` shoppers each, and the same figures are measured for both with
``journey_bench``'s code: orders per second, machine CPU per order split web / worker / database, SQL
statements per order, new PostgreSQL connections and transactions per order. A table puts them side by side.

**oscar**: on the first run this creates ``bench/.oscar/venv`` (gitignored) and installs django-oscar 4.2.1 and
what its sandbox uses, at pinned versions, from PyPI; nothing of oscar's code is in this repository. The sandbox's
settings and URLs are mirrored in ``bench/oscar_site/`` (what differs from the sandbox, and why, is listed
there: no DEBUG, the cached template loader and persistent connections, as FlowMart runs). Its database
(``--oscar-database``, default ``<FlowMart's database>_oscar``) is created on FlowMart's PostgreSQL server if
missing, migrated, and seeded by ``bench/oscar_site/seed.py``: 20 products with stock, one signed-in customer per
client (signed in before the clock starts). The sandbox's own checkout is used as it ships: one free shipping
method (chosen for the shopper, the page redirects) and the default payment step, which takes no payment.

Journey (oscar): product page, add to basket, checkout (signed in: on to the address), shipping address,
shipping method, payment method and payment details, preview, place order, thank-you page, the order's page in
the account. Oscar does all its work in the request: an order is fully processed when the thank-you page
answers. SQL per order: the statements of one journey's requests, counted by the sandbox's WSGI wrapper.

**FlowMart**: ``journey_bench``'s storefront journey (guests, the order page through the confirmation link),
its gunicorn and Celery worker (``--worker-concurrency``) on ``DATABASE_URL`` (migrated here if needed); an
order is fully processed when its events are handled. SQL per order counts the event handling too.

Database CPU is that of the shop's own database's PostgreSQL backends (``journey_bench.CpuMeter``); the whole
server's (the postmaster's tree, other databases' work included) is printed in a row of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from journey_bench import (
    CpuMeter,
    Shopper,
    _django,
    drive,
    machine_cpu,
    postmaster_pid,
    run_journey,
    settled_db_counters,
    setup_catalog,
    sql_per_order,
    start_gunicorn,
    start_stack,
    stop,
)

BENCH = Path(__file__).resolve().parent
SITE = BENCH / "oscar_site"
STATE = BENCH / ".oscar"
VENV = STATE / "venv"
PRODUCTS = 20
# django-oscar 4.2.1, the packages its sandbox settings use (environ, whitenoise, thumbnails, Whoosh, pycountry
# for the countries), gunicorn and psycopg as FlowMart pins them, and every dependency, as resolved together.
PINS = [
    "asgiref==3.13.0",
    "babel==2.19.0",
    "Django==5.2.19",
    "django-environ==0.14.0",
    "django-extra-views==0.16.0",
    "django-haystack==3.4.0",
    "django-oscar==4.2.1",
    "django-phonenumber-field==8.5.0",
    "django-tables2==2.7.0",
    "django-treebeard==7.0.3",
    "django-widget-tweaks==1.5.1",
    "easy-thumbnails==2.10.1",
    "factory_boy==3.3.3",
    "Faker==40.63.0",
    "gunicorn==27.0.1",
    "packaging==26.4",
    "phonenumbers==9.0.43",
    "pillow==13.0.0",
    "psycopg[binary]==3.3.9",
    "purl==1.6",
    "pycountry==26.2.16",
    "six==1.17.0",
    "sorl-thumbnail==13.4.0",
    "sqlparse==0.6.1",
    "typing_extensions==4.16.0",
    "whitenoise==6.12.0",
    "Whoosh==2.7.4",
]
ADDRESS = {  # the same buyer as FlowMart's journey (checkout_bench.ADDRESS), in oscar's address form
    "first_name": "Bench",
    "last_name": "Buyer",
    "line1": "1 Loopback Lane",
    "line4": "Localhost",
    "postcode": "12345",
    "country": "US",
}
COUNT_SQL = {"X-Bench-Count-SQL": "1"}
ORDER_NUMBER = re.compile(r"your order number is\s*<strong>([\w-]+)</strong>")


# -- oscar's venv and database ----------------------------------------------------------------------------------
def oscar_venv() -> Path:
    """bench/.oscar/venv with PINS installed (again only when PINS changed). Returns its python."""
    python = VENV / "bin" / "python"
    marker = VENV / "bench-pins.txt"
    wanted = "\n".join(PINS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"installing django-oscar 4.2.1 and its sandbox's packages into {VENV} (once) …", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    log = STATE / "pip.log"
    with log.open("w") as out:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *PINS], stdout=out, stderr=out
        )
    if installed.returncode != 0:
        raise SystemExit(f"pip could not install oscar's packages: see {log}")
    marker.write_text(wanted)
    return python


def database_settings(name: str) -> dict:
    """The sandbox's database variables: FlowMart's PostgreSQL server, database ``name``."""
    from django.db import connection

    db = connection.settings_dict
    return {
        "DATABASE_NAME": name,
        "DATABASE_HOST": db.get("HOST") or "",
        "DATABASE_PORT": str(db.get("PORT") or ""),
        "DATABASE_USER": db.get("USER") or "",
        "DATABASE_PASSWORD": db.get("PASSWORD") or "",
    }


def database_ensure(name: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')


def oscar_env(database: str) -> dict:
    (STATE / "static").mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders; STATIC_ROOT unused
    return {
        **os.environ,
        **database_settings(database),
        "DJANGO_SETTINGS_MODULE": "settings",
        "OSCAR_BENCH_STATE": str(STATE),
        "PYTHONPATH": os.pathsep.join([str(SITE), str(BENCH)]),
    }


def oscar_prepare(python: Path, env: dict, customers: int) -> dict:
    """Migrate and seed oscar's database; returns the seed's products and customers."""
    for command in (
        [str(python), "-m", "django", "migrate", "--noinput", "-v0"],
        [str(python), str(SITE / "seed.py"), str(customers), str(PRODUCTS)],
    ):
        done = subprocess.run(command, cwd=SITE, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[1:3])} failed in oscar's venv:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- oscar's shopper --------------------------------------------------------------------------------------------
class OscarShopper(Shopper):
    """A signed-in customer in oscar's sandbox; counts the SQL of its requests while ``counting``."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.counting = False
        self.statements = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        if not self.counting:
            return super().request(method, path, body, headers)
        answer = super().request(method, path, body, {**(headers or {}), **COUNT_SQL})
        self.statements += int(self.last_response.getheader("X-Bench-SQL") or 0)
        return answer

    def follow(self, path: str):
        """GET ``path`` and the redirects it answers with; (status, final path, page)."""
        for _ in range(5):
            status, location, page = self.request("GET", path)
            if status not in (301, 302, 303) or not location:
                return status, path, page
            path = location
        return status, path, page

    def sign_in(self, email: str, password: str) -> None:
        _, _, page = self.request("GET", "/en-gb/accounts/login/")
        fields = {"login-username": email, "login-password": password, "login_submit": "Log In"}
        status, _, _ = self.form("/en-gb/accounts/login/", fields, page)
        if status != 302:
            raise SystemExit(f"{email} could not sign in to oscar's sandbox (answer {status})")

    def journey(self, product: dict) -> bool:
        _, _, page = self.request("GET", product["url"])
        status, _, _ = self.form(f"/en-gb/basket/add/{product['id']}/", {"quantity": 1}, page)
        if status != 302:
            return False
        status, path, page = self.follow("/en-gb/checkout/")  # signed in: straight on to the shipping address
        if not path.endswith("/checkout/shipping-address/"):
            return False
        status, location, _ = self.form(path, ADDRESS, page)
        if status != 302:
            return False
        # shipping method (one: chosen for the shopper), payment method, on to payment details
        status, path, page = self.follow(location)
        if status != 200 or not path.endswith("/checkout/payment-details/"):
            return False
        _, _, page = self.request("GET", "/en-gb/checkout/preview/")
        status, location, _ = self.form("/en-gb/checkout/preview/", {"action": "place_order"}, page)
        if status != 302 or not location.endswith("/checkout/thank-you/"):
            return False
        _, _, page = self.request("GET", location)
        number = ORDER_NUMBER.search(page)
        if number is None:
            return False
        status, _, _ = self.request("GET", f"/en-gb/accounts/orders/{number.group(1)}/")
        return status == 200


# -- the two runs -----------------------------------------------------------------------------------------------
def run_oscar(args, python: Path) -> dict:
    env = oscar_env(args.oscar_database)
    seed = oscar_prepare(python, env, args.clients)
    web, port = start_gunicorn(
        VENV / "bin" / "gunicorn",
        "wsgi:application",
        workers=args.web_workers,
        cwd=SITE,
        env=env,
        health_path="/en-gb/catalogue/",
    )
    try:
        shoppers = [OscarShopper(port) for _ in range(args.clients)]
        for shopper, email in zip(shoppers, seed["customers"], strict=True):
            shopper.sign_in(email, seed["password"])
        products = seed["products"]
        counted = shoppers[0]
        counted.counting = True
        if not counted.journey(products[0]):
            raise SystemExit("oscar: the journey did not reach the order page (run the steps by hand to see why)")
        counted.counting = False

        pids = {"web": web.pid, "worker": 0, "postgres": postmaster_pid() or 0}
        counters_before = settled_db_counters(args.oscar_database)
        meter = CpuMeter(pids, args.oscar_database)
        meter.start()
        failures, seconds = drive(shoppers, lambda s, n: s.journey(products[n % len(products)]), args.orders)
        cpu = meter.stop()
        counters_after = settled_db_counters(args.oscar_database)
    finally:
        stop([web])
    done = args.orders - failures
    per_order = max(done, 1)
    return {
        "orders": done,
        "failures": failures,
        "processed_per_s": done / seconds,
        "cpu_ms": {name: 1000 * used / per_order for name, used in cpu.items()},
        "sql_per_order": counted.statements,
        "connections_per_order": (counters_after["sessions"] - counters_before["sessions"]) / per_order,
        "xacts_per_order": (counters_after["xacts"] - counters_before["xacts"]) / per_order,
    }


def run_flowmart(args) -> dict:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    setup_catalog()
    sql = sql_per_order("storefront")
    metrics_dir = tempfile.mkdtemp(prefix="flowmart-bench-metrics-")
    web, worker, port = start_stack(
        web_workers=args.web_workers, worker_concurrency=args.worker_concurrency, metrics_dir=metrics_dir
    )
    try:
        pids = {"web": web.pid, "worker": worker.pid, "postgres": postmaster_pid() or 0}
        return run_journey("storefront", orders=args.orders, clients=args.clients, port=port, pids=pids, sql=sql)
    finally:
        stop([web, worker])
        shutil.rmtree(metrics_dir, ignore_errors=True)


# -- the table --------------------------------------------------------------------------------------------------
ROWS = [
    ("orders fully processed per second", lambda r: r["processed_per_s"], "{:.2f}"),
    ("machine CPU per order (ms)", lambda r: machine_cpu(r["cpu_ms"]), "{:.0f}"),
    ("  web (gunicorn)", lambda r: r["cpu_ms"]["web"], "{:.0f}"),
    ("  worker (Celery)", lambda r: r["cpu_ms"]["worker"], "{:.0f}"),
    ("  database (the shop's PostgreSQL backends)", lambda r: r["cpu_ms"]["database"], "{:.0f}"),
    ("PostgreSQL server in all (ms, shared)", lambda r: r["cpu_ms"]["postgres"], "{:.0f}"),
    ("SQL statements per order", lambda r: r["sql_per_order"], "{:d}"),
    ("new PostgreSQL connections per order", lambda r: r["connections_per_order"], "{:.2f}"),
    ("DB transactions per order", lambda r: r["xacts_per_order"], "{:.1f}"),
    ("orders placed (failed)", lambda r: f"{r['orders']} ({r['failures']})", "{}"),
]


def table(results: dict[str, dict]) -> None:
    shops = [shop for shop in ("FlowMart", "oscar") if shop in results]
    print(f"\n| per order | {' | '.join(shops)} |" + (" FlowMart ÷ oscar |" if len(shops) == 2 else ""))
    print("|---" * (len(shops) + 1 + (len(shops) == 2)) + "|")
    for label, value, fmt in ROWS:
        cells = [fmt.format(value(results[shop])) for shop in shops]
        ratio = ""
        if len(shops) == 2:
            ratio = " — |"
            if not label.startswith("orders placed") and value(results["oscar"]):
                ratio = f" {value(results['FlowMart']) / value(results['oscar']):.2f} |"
        print(f"| {label} | {' | '.join(cells)} |{ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2, help="FlowMart's Celery worker")
    parser.add_argument("--oscar-database", help="default: FlowMart's database name + _oscar")
    parser.add_argument("--only", choices=["oscar", "flowmart"], help="run one shop (the table has one column)")
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 64))
    args.orders = max(args.clients, args.orders)

    from django.db import connection

    args.oscar_database = args.oscar_database or f"{connection.settings_dict['NAME']}_oscar"
    results = {}
    if args.only != "flowmart":
        python = oscar_venv()
        database_ensure(args.oscar_database)
        print(f"oscar: {args.orders} orders, {args.clients} clients, gunicorn -w {args.web_workers} …", flush=True)
        results["oscar"] = run_oscar(args, python)
    if args.only != "oscar":
        print(
            f"FlowMart: {args.orders} orders, {args.clients} clients, gunicorn -w {args.web_workers}, "
            f"celery --concurrency {args.worker_concurrency} …",
            flush=True,
        )
        results["FlowMart"] = run_flowmart(args)
    table(results)
    print(
        "\nMachine CPU = web + worker + the shop's own database backends; the PostgreSQL server's whole CPU (other"
        " databases' work included) is the row below it."
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # FlowMart as deployed: no query log, cached templates
    _django()
    sys.exit(main())
