"""The API's JSON parser: DRF's, plus an answer for JSON nested too deeply to decode.

Python's decoder recurses once per nesting level; a body of a few kilobytes of ``[[[[...`` exhausts the
stack and raised ``RecursionError`` (a 500). It is bad input like any other malformed JSON: a 400
``parse_error``. Bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` are refused before parsing
(``flowmart.api.problems``: 413 ``request_too_large``).
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class ProblemJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
