"""Sample and label counters kept by database triggers, and their rebuild from the rows.

Why triggers: samples and annotations are written by many paths (sync, upload, labeling,
batch labelling, label deletion, suggestions, dataset deletion) and by bulk statements
(``bulk_create``, ``QuerySet.update``/``delete``) that bypass model signals. A trigger runs
inside the statement that changes the rows, so a counter is never out of step with them,
whoever writes. PostgreSQL uses statement-level triggers over transition tables (a 100,000-row
import updates each counter once, not 100,000 times); SQLite has only row-level triggers,
which cost microseconds there.

Counted: ``DatasetCounter.samples`` (status ok), ``.labeled`` (ok and labelled), ``.missing``;
``LabelCounter.samples``: distinct status-ok samples carrying the label (a detection image
with three boxes of one label counts once).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q

from datasets.models import Annotation, Dataset, DatasetCounter, Label, LabelCounter, Sample, SampleStatus
from exeml.tenancy.scoping import unscoped

S, A, L, D = "datasets_sample", "datasets_annotation", "datasets_labelcounter", "datasets_datasetcounter"

_SQLITE = [
    # Counter rows are born with their dataset / label (so the triggers below only update).
    f"""CREATE TRIGGER exeml_dataset_counter_ins AFTER INSERT ON datasets_dataset BEGIN
        INSERT OR IGNORE INTO {D} (dataset_id, samples, labeled, missing) VALUES (NEW.id, 0, 0, 0); END""",
    f"""CREATE TRIGGER exeml_label_counter_ins AFTER INSERT ON datasets_label BEGIN
        INSERT OR IGNORE INTO {L} (label_id, samples) VALUES (NEW.id, 0); END""",
    f"""CREATE TRIGGER exeml_sample_ins AFTER INSERT ON {S} BEGIN
        UPDATE {D} SET samples = samples + (NEW.status = 'ok'),
            labeled = labeled + (NEW.status = 'ok' AND NEW.labeled), missing = missing + (NEW.status = 'missing')
        WHERE dataset_id = NEW.dataset_id; END""",
    f"""CREATE TRIGGER exeml_sample_del AFTER DELETE ON {S} BEGIN
        UPDATE {D} SET samples = samples - (OLD.status = 'ok'),
            labeled = labeled - (OLD.status = 'ok' AND OLD.labeled), missing = missing - (OLD.status = 'missing')
        WHERE dataset_id = OLD.dataset_id; END""",
    f"""CREATE TRIGGER exeml_sample_upd AFTER UPDATE OF status, labeled ON {S} BEGIN
        UPDATE {D} SET samples = samples - (OLD.status = 'ok') + (NEW.status = 'ok'),
            labeled = labeled - (OLD.status = 'ok' AND OLD.labeled) + (NEW.status = 'ok' AND NEW.labeled),
            missing = missing - (OLD.status = 'missing') + (NEW.status = 'missing')
        WHERE dataset_id = NEW.dataset_id;
        UPDATE {L} SET samples = samples + (CASE WHEN NEW.status = 'ok' THEN 1 ELSE -1 END)
        WHERE (OLD.status = 'ok') <> (NEW.status = 'ok')
          AND label_id IN (SELECT DISTINCT label_id FROM {A} WHERE sample_id = NEW.id); END""",
    f"""CREATE TRIGGER exeml_annotation_ins AFTER INSERT ON {A}
        WHEN (SELECT status FROM {S} WHERE id = NEW.sample_id) = 'ok'
         AND NOT EXISTS (SELECT 1 FROM {A} WHERE sample_id = NEW.sample_id AND label_id = NEW.label_id
                         AND id <> NEW.id) BEGIN
        UPDATE {L} SET samples = samples + 1 WHERE label_id = NEW.label_id; END""",
    f"""CREATE TRIGGER exeml_annotation_del AFTER DELETE ON {A}
        WHEN (SELECT status FROM {S} WHERE id = OLD.sample_id) = 'ok'
         AND NOT EXISTS (SELECT 1 FROM {A} WHERE sample_id = OLD.sample_id AND label_id = OLD.label_id) BEGIN
        UPDATE {L} SET samples = samples - 1 WHERE label_id = OLD.label_id; END""",
    f"""CREATE TRIGGER exeml_annotation_upd AFTER UPDATE OF sample_id, label_id ON {A}
        WHEN OLD.sample_id <> NEW.sample_id OR OLD.label_id <> NEW.label_id BEGIN
        UPDATE {L} SET samples = samples - 1 WHERE label_id = OLD.label_id
          AND (SELECT status FROM {S} WHERE id = OLD.sample_id) = 'ok'
          AND NOT EXISTS (SELECT 1 FROM {A} WHERE sample_id = OLD.sample_id AND label_id = OLD.label_id);
        UPDATE {L} SET samples = samples + 1 WHERE label_id = NEW.label_id
          AND (SELECT status FROM {S} WHERE id = NEW.sample_id) = 'ok'
          AND NOT EXISTS (SELECT 1 FROM {A} WHERE sample_id = NEW.sample_id AND label_id = NEW.label_id
                          AND id <> NEW.id); END""",
]
_SQLITE_NAMES = [
    "exeml_dataset_counter_ins", "exeml_label_counter_ins", "exeml_sample_ins", "exeml_sample_del",
    "exeml_sample_upd", "exeml_annotation_ins", "exeml_annotation_del", "exeml_annotation_upd",
]

# PostgreSQL: one function per event, each over the statement's transition tables.
_SAMPLE_AGG = """SELECT dataset_id, count(*) FILTER (WHERE status = 'ok') AS s,
    count(*) FILTER (WHERE status = 'ok' AND labeled) AS l, count(*) FILTER (WHERE status = 'missing') AS m
    FROM {t} GROUP BY dataset_id"""
# Annotation statements first lock their datasets' counter rows (in id order): every counter
# change of a dataset then takes that one lock first, so two transactions relabelling samples
# from a to b and from b to a queue instead of deadlocking on the label rows.
_LOCK = f"""PERFORM 1 FROM {D} WHERE dataset_id IN (
    SELECT DISTINCT l.dataset_id FROM datasets_label l WHERE l.id IN (SELECT label_id FROM {{t}}))
    ORDER BY dataset_id FOR UPDATE;"""
_PG_FUNCTIONS = {
    "exeml_dataset_counter_ins": f"""
        INSERT INTO {D} (dataset_id, samples, labeled, missing) SELECT id, 0, 0, 0 FROM nt
        ON CONFLICT DO NOTHING;""",
    "exeml_label_counter_ins": f"""
        INSERT INTO {L} (label_id, samples) SELECT id, 0 FROM nt ON CONFLICT DO NOTHING;""",
    "exeml_sample_ins": f"""
        UPDATE {D} c SET samples = c.samples + d.s, labeled = c.labeled + d.l, missing = c.missing + d.m
        FROM ({_SAMPLE_AGG.format(t="nt")}) d WHERE c.dataset_id = d.dataset_id;""",
    "exeml_sample_del": f"""
        UPDATE {D} c SET samples = c.samples - d.s, labeled = c.labeled - d.l, missing = c.missing - d.m
        FROM ({_SAMPLE_AGG.format(t="ot")}) d WHERE c.dataset_id = d.dataset_id;""",
    "exeml_sample_upd": f"""
        UPDATE {D} c SET samples = c.samples - d.s, labeled = c.labeled - d.l, missing = c.missing - d.m
        FROM ({_SAMPLE_AGG.format(t="ot")}) d WHERE c.dataset_id = d.dataset_id;
        UPDATE {D} c SET samples = c.samples + d.s, labeled = c.labeled + d.l, missing = c.missing + d.m
        FROM ({_SAMPLE_AGG.format(t="nt")}) d WHERE c.dataset_id = d.dataset_id;
        UPDATE {L} c SET samples = c.samples + d.delta FROM (
            SELECT a.label_id, sum(CASE WHEN n.status = 'ok' THEN 1 ELSE -1 END) AS delta
            FROM nt n JOIN ot o ON o.id = n.id
            JOIN LATERAL (SELECT DISTINCT label_id FROM {A} WHERE sample_id = n.id) a ON true
            WHERE (o.status = 'ok') <> (n.status = 'ok') GROUP BY a.label_id
        ) d WHERE c.label_id = d.label_id;""",
    "exeml_annotation_ins": _LOCK.format(t="nt") + f"""
        UPDATE {L} c SET samples = c.samples + d.n FROM (
            SELECT p.label_id, count(*) AS n FROM (SELECT DISTINCT sample_id, label_id FROM nt) p
            JOIN {S} s ON s.id = p.sample_id AND s.status = 'ok'
            WHERE NOT EXISTS (SELECT 1 FROM {A} a WHERE a.sample_id = p.sample_id AND a.label_id = p.label_id
                              AND a.id NOT IN (SELECT id FROM nt))
            GROUP BY p.label_id
        ) d WHERE c.label_id = d.label_id;""",
    "exeml_annotation_del": _LOCK.format(t="ot") + f"""
        UPDATE {L} c SET samples = c.samples - d.n FROM (
            SELECT p.label_id, count(*) AS n FROM (SELECT DISTINCT sample_id, label_id FROM ot) p
            JOIN {S} s ON s.id = p.sample_id AND s.status = 'ok'
            WHERE NOT EXISTS (SELECT 1 FROM {A} a WHERE a.sample_id = p.sample_id AND a.label_id = p.label_id)
            GROUP BY p.label_id
        ) d WHERE c.label_id = d.label_id;""",
    "exeml_annotation_upd": _LOCK.format(t="ot") + _LOCK.format(t="nt") + f"""
        UPDATE {L} c SET samples = c.samples - d.n FROM (
            SELECT p.label_id, count(*) AS n FROM (
                SELECT DISTINCT o.sample_id, o.label_id FROM ot o JOIN nt n ON n.id = o.id
                WHERE o.sample_id <> n.sample_id OR o.label_id <> n.label_id) p
            JOIN {S} s ON s.id = p.sample_id AND s.status = 'ok'
            WHERE NOT EXISTS (SELECT 1 FROM {A} a WHERE a.sample_id = p.sample_id AND a.label_id = p.label_id)
            GROUP BY p.label_id
        ) d WHERE c.label_id = d.label_id;
        UPDATE {L} c SET samples = c.samples + d.n FROM (
            SELECT p.label_id, count(*) AS n FROM (
                SELECT DISTINCT n.sample_id, n.label_id FROM ot o JOIN nt n ON n.id = o.id
                WHERE o.sample_id <> n.sample_id OR o.label_id <> n.label_id) p
            JOIN {S} s ON s.id = p.sample_id AND s.status = 'ok'
            WHERE NOT EXISTS (SELECT 1 FROM {A} a WHERE a.sample_id = p.sample_id AND a.label_id = p.label_id
                              AND a.id NOT IN (SELECT n.id FROM ot o JOIN nt n ON n.id = o.id
                                               WHERE o.sample_id <> n.sample_id OR o.label_id <> n.label_id))
            GROUP BY p.label_id
        ) d WHERE c.label_id = d.label_id;""",
}
_PG_EVENTS = {
    "exeml_dataset_counter_ins": ("datasets_dataset", "INSERT", "NEW TABLE AS nt"),
    "exeml_label_counter_ins": ("datasets_label", "INSERT", "NEW TABLE AS nt"),
    "exeml_sample_ins": (S, "INSERT", "NEW TABLE AS nt"),
    "exeml_sample_del": (S, "DELETE", "OLD TABLE AS ot"),
    "exeml_sample_upd": (S, "UPDATE", "OLD TABLE AS ot NEW TABLE AS nt"),
    "exeml_annotation_ins": (A, "INSERT", "NEW TABLE AS nt"),
    "exeml_annotation_del": (A, "DELETE", "OLD TABLE AS ot"),
    "exeml_annotation_upd": (A, "UPDATE", "OLD TABLE AS ot NEW TABLE AS nt"),
}


def install_triggers(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in _SQLITE:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        for name, body in _PG_FUNCTIONS.items():
            table, event, refs = _PG_EVENTS[name]
            schema_editor.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                "RETURN NULL; END $$"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {refs} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        raise NotImplementedError(f"sample counters need triggers written for {vendor}")


def drop_triggers(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name in _SQLITE_NAMES:
        if vendor == "postgresql":
            table = _PG_EVENTS[name][0]
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


@unscoped()
def counters_rebuild(*, dataset: Dataset | None = None) -> None:
    """Recompute the counters from the rows (all datasets, or one): the repair tool if a
    counter was ever edited by hand. One grouped query each."""
    datasets = Dataset.all_tenants.all() if dataset is None else Dataset.all_tenants.filter(pk=dataset.pk)
    labels = Label.all_tenants.filter(dataset__in=datasets)
    ok = Q(samples__status=SampleStatus.OK)
    with transaction.atomic():
        rows = datasets.annotate(
            n_ok=Count("samples", filter=ok), n_labeled=Count("samples", filter=ok & Q(samples__labeled=True)),
            n_missing=Count("samples", filter=Q(samples__status=SampleStatus.MISSING)),
        ).values_list("pk", "n_ok", "n_labeled", "n_missing")
        for pk, n_ok, n_labeled, n_missing in rows:
            DatasetCounter.objects.update_or_create(
                dataset_id=pk, defaults={"samples": n_ok, "labeled": n_labeled, "missing": n_missing}
            )
        per_label = labels.annotate(
            n=Count("annotations__sample", distinct=True, filter=Q(annotations__sample__status=SampleStatus.OK))
        ).values_list("pk", "n")
        for pk, n in per_label:
            LabelCounter.objects.update_or_create(label_id=pk, defaults={"samples": n})


@unscoped()
def brute_force_counts(*, dataset: Dataset) -> dict:
    """What the counters must equal, counted from every row (tests and the repair check)."""
    samples = Sample.all_tenants.filter(dataset=dataset)
    per_label = {}
    for label in Label.all_tenants.filter(dataset=dataset):
        per_label[label.name] = (
            Annotation.all_tenants.filter(label=label, sample__status=SampleStatus.OK)
            .values("sample_id").distinct().count()
        )
    return {
        "samples": samples.filter(status=SampleStatus.OK).count(),
        "labeled": samples.filter(status=SampleStatus.OK, labeled=True).count(),
        "missing": samples.filter(status=SampleStatus.MISSING).count(),
        "labels": per_label,
    }


@unscoped()
def counted(*, dataset: Dataset) -> dict:
    """The counters as read (the same shape as ``brute_force_counts``)."""
    c = DatasetCounter.objects.filter(dataset_id=dataset.pk).first()
    labels = {
        name: n or 0
        for name, n in Label.all_tenants.filter(dataset=dataset).values_list("name", "counter__samples")
    }
    return {
        "samples": c.samples if c else 0, "labeled": c.labeled if c else 0, "missing": c.missing if c else 0,
        "labels": labels,
    }


_BACKFILL = [
    f"""INSERT INTO {D} (dataset_id, samples, labeled, missing) SELECT d.id,
        (SELECT count(*) FROM {S} s WHERE s.dataset_id = d.id AND s.status = 'ok'),
        (SELECT count(*) FROM {S} s WHERE s.dataset_id = d.id AND s.status = 'ok' AND s.labeled),
        (SELECT count(*) FROM {S} s WHERE s.dataset_id = d.id AND s.status = 'missing')
        FROM datasets_dataset d""",
    f"""INSERT INTO {L} (label_id, samples) SELECT l.id,
        (SELECT count(DISTINCT a.sample_id) FROM {A} a JOIN {S} s ON s.id = a.sample_id
         WHERE a.label_id = l.id AND s.status = 'ok')
        FROM datasets_label l""",
]


def install(apps, schema_editor) -> None:
    """Migration step: count the existing rows, then keep counting with the triggers (in one
    migration transaction, so no write falls between the two)."""
    for sql in _BACKFILL:
        schema_editor.execute(sql)
    install_triggers(schema_editor)


def uninstall(apps, schema_editor) -> None:
    drop_triggers(schema_editor)


def sqlite_triggers_off(apps, schema_editor) -> None:
    """Migration step before an AddField that SQLite can only do by remaking the sample table
    (a NOT NULL column): triggers that name the table break its rename, and the remade table
    would lose its own. Nothing else writes during the migration, so the counts stay right."""
    if schema_editor.connection.vendor == "sqlite":
        drop_triggers(schema_editor)


def sqlite_triggers_on(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        install_triggers(schema_editor)
