#!/usr/bin/env bash
# The order-books state machine (tests/orders/test_order_books_state_machine.py) at length: random (not the
# regular run's derandomized) sequences, more and longer. Set DATABASE_URL, REDIS_URL and CELERY_QUEUE as for
# the tests. Arguments: examples (default 200), steps per example (default 30); extra pytest arguments after.
#   bench/order_books_stateful.sh 200 30
#   FLOWMART_STATEFUL_FLIP=AVOID_SHIPPING_A_HELD_ORDER bench/order_books_stateful.sh 50 20   # a known-broken path
# A failure prints the minimal sequence of steps and a @reproduce_failure blob.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-200}"
steps="${2:-30}"
shift $(( $# > 2 ? 2 : $# ))
export FLOWMART_ENV="${FLOWMART_ENV:-test}"
FLOWMART_STATEFUL_EXAMPLES="$examples" FLOWMART_STATEFUL_STEPS="$steps" FLOWMART_STATEFUL_RANDOM=1 \
  exec .venv/bin/python -m pytest -q -p no:randomly -p no:logging --show-capture=no --timeout 0 \
  "tests/orders/test_order_books_state_machine.py::test_the_books_balance_whatever_happens_to_the_orders" "$@"
