from exeml.api.views import TenantReadOnlyViewSet
from exeml.jobs.models import Job
from exeml.jobs.serializers import JobSerializer


class JobViewSet(TenantReadOnlyViewSet):
    serializer_class = JobSerializer

    def safely_get_queryset(self):
        qs = Job.objects.all()
        params = self.request.query_params
        if params.get("target_id"):
            qs = qs.filter(target_id=params["target_id"])
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs
