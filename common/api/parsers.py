"""Request parsers for the API (a module of its own: DRF imports it while its views load)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested too deeply to parse as a bad request (not a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        """Return the parsed JSON, or raise ParseError."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
