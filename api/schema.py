"""OpenAPI pieces shared by every endpoint: the error envelope and the token scheme."""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code, e.g. `not_found`.")
    detail = serializers.CharField(help_text="A sentence for people.")
    fields = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="On validation errors: the messages for each offending field.",
    )


_DESCRIPTIONS = {
    400: "Invalid input: a missing, unknown or wrongly typed field, or malformed JSON.",
    401: "Not authenticated: no credentials, or a bad or revoked token.",
    403: "Authenticated, but not allowed to reach this object.",
    404: "No such object (or page).",
    409: "The request conflicts with the current state.",
    413: "The body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
    415: "The body is not JSON.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema: every one has the same envelope."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[status])
        for status in statuses
    }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106
        )
        scheme["description"] = (
            "`Authorization: Token <key>`, with a key that staff create in admin. "
            "Only a hash of the key is stored."
        )
        return scheme


class StrictSerializerScheme(OpenApiSerializerExtension):
    """Bodies that reject unknown keys say so: `additionalProperties: false`."""

    target_class = "api.serializers.fields.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        mapped = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        mapped["additionalProperties"] = False
        return mapped
