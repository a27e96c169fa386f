from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from exeml.api.cursor import CursorPagination
from exeml.api.views import TenantReadOnlyViewSet
from exeml.jobs import services
from exeml.jobs.models import Job
from exeml.jobs.serializers import JobSerializer


class JobViewSet(TenantReadOnlyViewSet):
    serializer_class = JobSerializer
    # Jobs grow without bound (every sync, export, prediction): keyset pages, newest first.
    pagination_class = CursorPagination

    def safely_get_queryset(self):
        qs = Job.objects.order_by("-created_at")
        params = self.request.query_params
        if params.get("target_id"):
            qs = qs.filter(target_id=params["target_id"])
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a sync, export, upload, dataset version, dataset deletion, pre-labelling, label-check, batch-prediction or deploy job.

        A queued job is cancelled at once; a running one gets ``cancel_requested`` and stops
        within seconds (even inside a hung storage call). A cancelled deploy leaves its service
        failed with "deploy cancelled by the user". 409 once the job ended.
        """
        job = services.job_cancel(job_id=self.get_object().pk)
        return Response(JobSerializer(job).data)
