"""Project.multi_label, decided for existing projects from their data.

Before this field an image dataset took any number of labels per sample, and training chose
sigmoid (multi-label) as soon as one training image had two labels. So an existing image
project whose dataset has a sample with two or more labels becomes multi-label (it trained,
and keeps training, as multi-label, and keeps its data valid); every other project becomes
single-label, which is how it trained (softmax) and how its labels already look.
"""

from django.db import migrations, models
from django.db.models import Count


def decide_from_data(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Sample = apps.get_model("datasets", "Sample")
    # The historical manager is the plain one: no tenant scope is needed (or set) here.
    for project in Project._base_manager.filter(task_type="image_classification"):
        several = (
            Sample._base_manager.filter(dataset_id=project.dataset_id)
            .annotate(n=Count("annotations__label", distinct=True))
            .filter(n__gt=1)
            .exists()
        )
        if several:
            Project._base_manager.filter(pk=project.pk).update(multi_label=True)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_label_column_header_names"),
        ("datasets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="project", name="multi_label", field=models.BooleanField(default=False)),
        migrations.RunPython(decide_from_data, migrations.RunPython.noop),
    ]
