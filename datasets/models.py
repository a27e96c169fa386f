"""Datasets, the objects listed from their input path, samples, their labels and annotations, versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from exeml.task_types import TaskType
from exeml.tenancy.scoping import TenantOwned


class Dataset(TenantOwned):
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    input_path = models.CharField(max_length=1024)  # s3://bucket/prefix/ (a folder)
    output_path = models.CharField(max_length=1024)
    # Predictive analytics: the CSV file and its profile (dialect, header, columns named by
    # the header or attr_1..attr_N). csv_has_header is the user's override of the header
    # detection (None: detect); every re-profile (sync, publish, training) applies it.
    csv_path = models.CharField(max_length=1024, blank=True)
    table_profile = models.JSONField(default=dict, blank=True)
    csv_has_header = models.BooleanField(null=True, blank=True)
    storage_bytes = models.BigIntegerField(default=0)
    last_sync_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_dataset_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class ObjectStatus(models.TextChoices):
    IMPORTED = "imported"  # produced samples (or a label file that was applied)
    INVALID = "invalid"  # rejected, see reason
    MISSING = "missing"  # gone from storage since the last sync
    IGNORED = "ignored"  # not a data file of this type (e.g. a README)


class SourceObject(TenantOwned):
    """Every object seen under the input path, so a re-sync only reads what changed."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="source_objects")
    key = models.CharField(max_length=1024)  # full object key in the dataset's bucket
    etag = models.CharField(max_length=128)
    size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ObjectStatus.choices)
    reason = models.TextField(blank=True)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "key"], name="uniq_source_object")]
        indexes = [models.Index(fields=["dataset", "status"])]

    def __str__(self) -> str:
        return self.key


class SampleStatus(models.TextChoices):
    OK = "ok"
    MISSING = "missing"  # its source object vanished from storage


class Sample(TenantOwned):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="samples")
    source_object = models.ForeignKey(SourceObject, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples")
    # s3://bucket/key of the file (text: of the file holding the line).
    source = models.CharField(max_length=1100)
    name = models.CharField(max_length=255)
    line_number = models.PositiveIntegerField(default=0)  # text: 1-based line in source
    status = models.CharField(max_length=10, choices=SampleStatus.choices, default=SampleStatus.OK)
    size = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=128, blank=True)
    # image / detection
    format = models.CharField(max_length=10, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # sound
    duration = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    bit_depth = models.PositiveSmallIntegerField(null=True, blank=True)
    # text
    text = models.TextField(blank=True)
    # Denormalised: kept in step on every annotation change (imports and labeling), so
    # list filters need no join and stay constant-query.
    labeled = models.BooleanField(default=False, db_index=True)
    # Optimistic concurrency for annotations (If-Match).
    revision = models.PositiveIntegerField(default=1)
    # Why an image with a VOC file is still unlabelled (box outside the image, ...).
    label_reason = models.TextField(blank=True)
    # Team labeling (labeling.tasks). The open task holding the sample and its assignee: only
    # they change its annotations while the task is open. Kept on the row the annotation
    # writes already lock, so the check needs no extra query and cannot race.
    task_id = models.UUIDField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The review of the sample's current annotations; any change to them resets it.
    review_status = models.CharField(max_length=10, blank=True, default="")  # "" | accepted | rejected
    review_comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Overlap (agreement): a second labeler labels the sample blind, in a task of their own.
    # Their answer ({"labels", "objects"}) stays here, apart from the sample's annotations,
    # until that task is submitted (then it is kept on the task's item).
    overlap_task_id = models.UUIDField(null=True, blank=True)
    overlap_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overlap_answer = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "source", "line_number"], name="uniq_sample_source_line")
        ]
        indexes = [
            models.Index(fields=["dataset", "labeled", "status"]),
            # Keyset pages of a labelled/unlabelled filter: the filter's rows already in list
            # order, so a deep page starts at its cursor (the unfiltered list uses the unique
            # (dataset, source, line_number) index).
            models.Index(fields=["dataset", "labeled", "source", "line_number"], name="sample_labeled_keyset"),
            # A labeling task's samples in list order (the labeler's view, the review).
            models.Index(fields=["task_id", "source", "line_number"], name="sample_task_keyset"),
            models.Index(fields=["overlap_task_id", "source", "line_number"], name="sample_overlap_task_keyset"),
        ]

    def __str__(self) -> str:
        return self.name


class Label(TenantOwned):
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=32)
    color = models.CharField(max_length=7, blank=True)  # "#rrggbb"
    shortcut = models.CharField(max_length=1, blank=True)  # sound: keyboard shortcut
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="uniq_label_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Annotation(TenantOwned):
    """One label on a sample; detection annotations carry a box in image pixels."""

    sample = models.ForeignKey("datasets.Sample", on_delete=models.CASCADE, related_name="annotations")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="annotations")
    xmin = models.FloatField(null=True, blank=True, db_column="box_xmin")
    ymin = models.FloatField(null=True, blank=True, db_column="box_ymin")
    xmax = models.FloatField(null=True, blank=True, db_column="box_xmax")
    ymax = models.FloatField(null=True, blank=True, db_column="box_ymax")
    annotated_by = models.CharField(max_length=64, default="human")  # or e.g. "modelarts/active-learning"
    confidence = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["sample"]), models.Index(fields=["label"]),
            # (sample, label) pairs: the counters' triggers ask "does this sample still carry
            # this label?" per changed row, and the label filter of the sample list asks it
            # per listed row; with only the label index a planner may scan a label's every row.
            models.Index(fields=["sample", "label"], name="annotation_sample_label"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.sample_id}"

    @property
    def bbox(self) -> list[float] | None:
        if self.xmin is None:
            return None
        return [self.xmin, self.ymin, self.xmax, self.ymax]


class DatasetVersion(TenantOwned):
    """An immutable freeze of the labelled samples with a train/eval split."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=40)  # V001 unless given
    number = models.PositiveIntegerField()
    train_ratio = models.FloatField(default=0.8)
    seed = models.PositiveIntegerField(default=0)
    manifest_path = models.CharField(max_length=1100)  # s3://.../<dataset>-<version>.manifest
    # {"total", "train", "eval", "per_label": {label: {"train", "eval"}}}
    counts = models.JSONField(default=dict, blank=True)
    # Predictive analytics: the frozen label column/type and CSV etag.
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="uniq_dataset_version_number"),
            models.UniqueConstraint(fields=["dataset", "name"], name="uniq_dataset_version_name"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.name}"


class VersionUsage(models.TextChoices):
    TRAIN = "TRAIN"
    EVAL = "EVAL"


class DatasetVersionItem(TenantOwned):
    """One frozen sample of a version, exactly as written in its manifest line."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey(Sample, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    usage = models.CharField(max_length=5, choices=VersionUsage.choices)
    source = models.CharField(max_length=1100)
    line_number = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # ["cat"]; detection: boxes [{"label","bbox":[xmin,ymin,xmax,ymax]}] and labels in use.
    labels = models.JSONField(default=list)
    boxes = models.JSONField(default=list, blank=True)
    # Who labelled (newest annotation) and who accepted it in review, when the version was made.
    labeled_by = models.CharField(max_length=150, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["version", "usage"])]


class DatasetCounter(models.Model):
    """A dataset's sample counts, kept by database triggers (migration
    0003_sample_counters) in the statement that changes its samples, however made: bulk
    imports, queryset updates and deletes, the other helpers' writers. Lists, label stats and
    train-check read these instead of counting every row. ``counters_rebuild`` (datasets.counters)
    recomputes them from the rows."""

    dataset = models.OneToOneField(Dataset, primary_key=True, on_delete=models.CASCADE, related_name="counter")
    samples = models.BigIntegerField(default=0)  # status ok
    labeled = models.BigIntegerField(default=0)  # status ok and labelled
    missing = models.BigIntegerField(default=0)  # status missing


class LabelCounter(models.Model):
    """Distinct status-ok samples carrying a label (what ``Label.count`` shows), kept like
    DatasetCounter by triggers on annotations and samples."""

    label = models.OneToOneField(Label, primary_key=True, on_delete=models.CASCADE, related_name="counter")
    samples = models.BigIntegerField(default=0)
