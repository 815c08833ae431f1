"""One catalogue of error codes: each code has one status, every raised code is declared, the doc is current."""

from __future__ import annotations

import ast
import importlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from flowmart import errors
from flowmart.api.error_catalogue import error_catalogue
from payments import services as payment_services

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("flowmart", "inventory", "notifications", "orders", "payments", "shipping", "subscriptions")


def source_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.name == "__init__.py":
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            yield path, tree, ".".join(path.relative_to(ROOT).with_suffix("").parts)


def resolve(module_name: str, expr: ast.expr):
    """The object a (dotted) name in a module's source refers to, or None."""
    if isinstance(expr, ast.Name):
        return getattr(importlib.import_module(module_name), expr.id, None)
    if isinstance(expr, ast.Attribute):
        owner = resolve(module_name, expr.value)
        return getattr(owner, expr.attr, None)
    return None


def is_error_class(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, errors.FlowMartError)


def test_the_committed_doc_is_the_generated_one():
    out = StringIO()
    call_command("api_errors", stdout=out)
    assert (ROOT / "docs" / "api-errors.md").read_text() == out.getvalue()


def test_every_code_has_one_status():
    for code, declarations in error_catalogue().items():
        assert len({d.status for d in declarations}) == 1, code


def test_declaring_a_code_with_a_second_status_fails(monkeypatch):
    monkeypatch.setattr(errors, "_CATALOGUE", {})
    errors.error_code_declare("some_code", status=409, meaning="x", declared_by="a")
    with pytest.raises(errors.ErrorCodeConflict, match="'some_code' is 409 in a but 422 in b"):
        errors.error_code_declare("some_code", status=422, meaning="x", declared_by="b")


def test_a_code_passed_along_keeps_its_declared_status():
    passed_on = errors.FlowMartError("refused", code=payment_services.GatewayRefused.code)
    assert (passed_on.code, passed_on.status) == ("gateway_refused", 409)


def test_every_code_raised_in_the_source_is_in_the_catalogue():
    catalogue = error_catalogue()
    raised = {}
    for path, tree, module_name in source_modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            if not is_error_class(resolve(module_name, node.exc.func)):
                continue
            for keyword in node.exc.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    raised[keyword.value.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    assert len(raised) > 10, "the scan should find the raise sites that pass a code"
    assert {code: where for code, where in raised.items() if code not in catalogue} == {}


def test_every_error_class_in_the_source_is_in_the_catalogue():
    catalogue = error_catalogue()
    missing = []
    for _, tree, module_name in source_modules():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                cls = resolve(module_name, ast.Name(id=node.name))
                if is_error_class(cls) and cls.code not in catalogue:
                    missing.append(f"{module_name}.{node.name}")
    assert missing == []
