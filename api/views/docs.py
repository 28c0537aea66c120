"""The schema and its docs page: public, and their errors in the API's JSON envelope too."""

from django.http import JsonResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny


class _JsonErrors:
    # These views render with YAML or an HTML template; an error (a wrong
    # method, an unknown ?format=) would come out in that form instead of JSON.
    # OPTIONS too: DRF's metadata answer went through the HTML renderer (a 500).
    http_method_names = ["get", "head"]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        answer = JsonResponse(response.data, status=response.status_code)
        for header in ("Allow", "WWW-Authenticate"):
            if response.has_header(header):
                answer[header] = response[header]
        return answer


class SchemaView(_JsonErrors, SpectacularAPIView):
    permission_classes = [AllowAny]
    authentication_classes = []


class DocsView(_JsonErrors, SpectacularSwaggerSplitView):
    # The split view serves its start-up script from ?script, not inline (CSP).
    permission_classes = [AllowAny]
    authentication_classes = []
    url_name = "api:schema"
