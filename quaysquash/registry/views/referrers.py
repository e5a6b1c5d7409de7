"""``/v2/<name>/referrers/<digest>``: the manifests whose ``subject`` is a digest (OCI 1.1)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from .. import mediatypes
from ..access import PULL, authorize
from ..models import Manifest
from .base import RegistryView, check_digest, json_response
from .manifests import descriptor_of


class ReferrersView(RegistryView):
    def get(self, request: HttpRequest, name: str, digest: str) -> HttpResponse:
        repository = authorize(request, name, PULL)
        check_digest(digest)
        referrers = Manifest.objects.filter(repository=repository, subject_digest=digest).order_by(
            "created", "pk"
        )
        headers = {}
        artifact_type = request.GET.get("artifactType")
        if artifact_type:
            referrers = referrers.filter(artifact_type=artifact_type)
            headers["OCI_Filters_Applied"] = "artifactType"
        index = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [descriptor_of(m) for m in referrers],
        }
        response = json_response(index, **headers)
        response["Content-Type"] = mediatypes.OCI_INDEX
        return response
