from django.http import HttpRequest, JsonResponse


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown /api/ URLs answer in the API's envelope, not with the site's HTML 404 page."""
    return JsonResponse(
        {"error": "not_found", "detail": "There is no such API endpoint."}, status=404
    )
