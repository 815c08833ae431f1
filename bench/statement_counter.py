"""Counts every SQL statement a Django connection sends (``connection.execute_wrapper``; nests, unlike the query
log). Standard library only: FlowMart's benchmarks and the oscar sandbox's WSGI wrapper (its own venv) use it."""


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)
