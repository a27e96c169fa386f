from django.apps import AppConfig


def _project_usage(tenant) -> int:
    from exeml.tenancy.scoping import tenant_scope
    from projects.models import Project

    with tenant_scope(tenant):
        return Project.objects.count()


class ProjectsConfig(AppConfig):
    name = "projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register

        usage_register("max_projects", _project_usage)
