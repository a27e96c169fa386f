from django.apps import AppConfig


def _project_usage(tenant) -> int:
    from projects.models import Project

    return Project.all_tenants.filter(tenant=tenant).count()


class ProjectsConfig(AppConfig):
    name = "projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register

        usage_register("max_projects", _project_usage)
