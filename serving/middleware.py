"""The inference hot path, ahead of the middleware an inference call does not use.

Placed after SecurityMiddleware (HTTPS redirect, security headers), the request size limit
and X-Frame-Options, before WhiteNoise, sessions, CommonMiddleware, CSRF, auth and messages:
a plain warm ``POST /v1/infers/<id>`` with a token header is answered here
(``serving.infer_views.answer_plain_call``), which saves a web process about half a
millisecond of CPU per call. Anything else, including every session-authenticated call of
the console (CSRF-checked by DRF), passes through unchanged.
"""

from __future__ import annotations

from django.urls import Resolver404, resolve

from serving.infer_views import answer_plain_call

_PREFIX = "/v1/infers/"


class InferenceHotPathMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path_info.startswith(_PREFIX):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.url_name == "serving-infer":
                response = answer_plain_call(request, match.kwargs["service_id"])
                if response is not None:
                    return response
        return self.get_response(request)
