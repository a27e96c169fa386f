"""A multipart parser that keeps each file's name exactly as the client sent it.

Django strips path components from upload names (``../x.jpg`` becomes ``x.jpg``), which
would silently accept names the rules refuse. The raw name is kept on ``file.raw_name`` and
checked by datasets.formats.filenames.check_file_name; it is never used as a path unchecked.
"""

from __future__ import annotations

from django.conf import settings
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser


class _RawNameParser(DjangoMultiPartParser):
    _raw_name = ""

    def sanitize_file_name(self, file_name):
        self._raw_name = file_name
        return super().sanitize_file_name(file_name) or "unnamed"

    def handle_file_complete(self, old_field_name, counters):
        super().handle_file_complete(old_field_name, counters)
        files = self._files.getlist(old_field_name)
        if files and not hasattr(files[-1], "raw_name"):
            files[-1].raw_name = self._raw_name


class RawNameMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            data, files = _RawNameParser(meta, stream, request.upload_handlers, encoding).parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}")
        return DataAndFiles(data, files)
