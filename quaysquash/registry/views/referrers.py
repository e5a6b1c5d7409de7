"""``/v2/<name>/referrers/<digest>``: the manifests whose ``subject`` is a digest (OCI 1.1)."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from .. import errors, mediatypes
from ..access import PULL, authorize
from ..models import Manifest
from .base import RegistryView, check_digest, json_response
from .manifests import descriptor_of


class ReferrersView(RegistryView):
    def get(self, request: HttpRequest, name: str, digest: str) -> HttpResponse:
        # Distribution spec, "Listing Referrers": an invalid digest MUST be a 400, whatever
        # the repository; a registry with the API MUST NOT answer 404.
        check_digest(digest)
        try:
            repository = authorize(request, name, PULL)
        except errors.NameUnknown:
            # A repository that does not exist has no referrers: an empty index. A private
            # one the caller may not read answers the same, so the two stay indistinguishable
            # (anonymous callers get the usual 401 challenge for both instead).
            repository = None
        # A '+' left unencoded in the query (curl, hand-written URLs) arrives as a space; no
        # media type contains a space (RFC 6838), so it can only have been a '+'.
        artifact_type = request.GET.get("artifactType", "").replace(" ", "+")
        descriptors = []
        if repository is not None:
            referrers = Manifest.objects.filter(
                repository=repository, subject_digest=digest
            ).order_by("created", "pk")
            if artifact_type:
                # Rows with an empty artifact_type may still list one (see descriptor_of).
                referrers = referrers.filter(Q(artifact_type=artifact_type) | Q(artifact_type=""))
            descriptors = [descriptor_of(m) for m in referrers]
        headers = {}
        if artifact_type:
            descriptors = [d for d in descriptors if d.get("artifactType") == artifact_type]
            headers["OCI_Filters_Applied"] = "artifactType"
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": descriptors}
        response = json_response(index, **headers)
        response["Content-Type"] = mediatypes.OCI_INDEX
        return response
