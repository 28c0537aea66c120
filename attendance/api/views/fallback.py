from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


# Exempt, or Django's CSRF check would answer a POST here with its HTML 403
# page; the view changes nothing, so there is nothing to forge.
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown /api/ URLs answer in the API's envelope, not with the site's HTML 404 page."""
    return JsonResponse(
        {"error": "not_found", "detail": "There is no such API endpoint."}, status=404
    )
