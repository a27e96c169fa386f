import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { isTyping } from "../../lib/history";
import { useLabelUndo } from "./useLabelUndo";
import { errorText } from "../../api/client";
import { assistApi, type Suggestion } from "../../api/assist";
import { datasetsApi } from "../../api/datasets";
import { cursorOf } from "../../api/lists";
import type { Page, Project, Sample } from "../../api/types";
import { ConfirmDialog, Empty, ErrorBox, Loading, Pager } from "../../components/ui";
import { useLoad } from "../../lib/hooks";
import { useAuth } from "../auth/AuthContext";
import { useProject } from "../projects/ProjectPage";
import { AssistPanel } from "./Assist";
import { bySample, inOrder } from "./assistLogic";
import { DetectionLabeler } from "./DetectionLabeler";
import { SuspectedErrors, canCheckLabels } from "./SuspectedErrors";
import { LabelsPanel } from "./LabelsPanel";
import { PredictivePreview } from "./PredictivePreview";
import { SampleGrid } from "./SampleGrid";
import { SelectionPanel } from "./SelectionPanel";
import { SoundLabeler } from "./SoundLabeler";
import { SyncButton } from "./SyncButton";
import { TaskBanner } from "./TaskBanner";
import { TextLabeler } from "./TextLabeler";
import { UploadDialog } from "./UploadDialog";
import { useFileDrop } from "./useFileDrop";
import { useAnnotate } from "./useAnnotate";
import { keyChange, labelModeOf, modeHint, modeTitle } from "./labelMode";

export function LabelTab() {
  const { project, reloadProject } = useProject();
  const { canWrite, can } = useAuth();
  if (project.type === "predictive_analytics") return <PredictivePreview project={project} canWrite={canWrite} onSaved={reloadProject} />;
  if (!project.dataset) return <ErrorBox message="This project has no dataset." />;
  return <LabelWorkspace key={project.dataset.id} project={project} datasetId={project.dataset.id} canWrite={canWrite} canLabel={can("label")} onChanged={reloadProject} />;
}

type Tab = "unlabeled" | "labeled" | "issues";
/** Where a page starts: the cursor of a next/previous link (the same cost at any depth), or a
 *  page number for page 1 and a reload without one. */
type PageAt = { cursor: string } | { page: number };

/** A page of unlabelled samples in "label these next" order (the model's least sure first). */
async function labelNextPage(datasetId: string, at: PageAt, pageSize: number): Promise<Page<Sample>> {
  const order = await assistApi.labelNext(datasetId, { ...at, page_size: pageSize });
  const ids = order.results.map((r) => r.id);
  const samples = await Promise.all(ids.map((id) => datasetsApi.sample(datasetId, id).catch(() => null)));
  return { ...order, results: inOrder(ids, samples.filter((x): x is Sample => !!x)) };
}

function LabelWorkspace(props: { project: Project; datasetId: string; canWrite: boolean; canLabel: boolean; onChanged: () => Promise<void> }) {
  // canWrite: the dataset itself (files, labels, deletion); canLabel: annotations (labelers too).
  const { project, datasetId, canWrite, canLabel } = props;
  const type = project.type;
  const mode = labelModeOf(project);
  const pageSize = type === "image_classification" || type === "object_detection" ? 24 : 20;
  // Tab, page, label filter and the open sample live in the URL: reload and share keep them.
  const [params, setParams] = useSearchParams();
  const checkable = canCheckLabels(type);
  const rawTab = params.get("tab");
  const tab: Tab = rawTab === "labeled" ? "labeled" : rawTab === "issues" && checkable ? "issues" : "unlabeled";
  // "Label these next": the unlabelled samples in the model's uncertainty order.
  // ?task=<id>: only the samples of one labeling task (team labeling).
  const taskId = params.get("task");
  const nextOrder = tab === "unlabeled" && params.get("order") === "next" && !taskId;
  const page = Math.max(1, Number(params.get("page")) || 1);
  const cursor = params.get("cursor");
  const at: PageAt = cursor ? { cursor } : { page };
  const labelFilter = tab === "labeled" ? params.get("label") : null;
  const openSample = params.get("sample");
  const setUrl = (changes: Record<string, string | number | null>, replace = false) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      // A new page number without its cursor (a tab, a filter, page 1) starts from the number.
      if ("page" in changes && !("cursor" in changes)) n.delete("cursor");
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === "" || (k === "page" && v === 1) || (k === "tab" && v === "unlabeled")) n.delete(k);
        else n.set(k, String(v));
      }
      return n;
    }, { replace });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [uploading, setUploading] = useState(false);
  const [dropped, setDropped] = useState<File[] | undefined>(undefined);
  // Files dropped on the page are uploaded into the dataset (the Add files dialog shows the result).
  const drop = useFileDrop(canWrite && !uploading, (files) => { setDropped(files); setUploading(true); });
  const [deleting, setDeleting] = useState(false);
  const [deleteSource, setDeleteSource] = useState(false);
  const openAfterLoad = useRef<"first" | "last" | null>(null);

  const dataset = useLoad(() => datasetsApi.get(datasetId), [datasetId]);
  const labels = useLoad(() => datasetsApi.labels(datasetId), [datasetId]);
  const samples = useLoad(
    () => tab === "issues"
      ? Promise.resolve<Page<Sample>>({ count: 0, results: [] })
      : nextOrder
        ? labelNextPage(datasetId, at, pageSize)
        : datasetsApi.samples(datasetId, { labeled: tab === "labeled", label: labelFilter ?? undefined, task: taskId ?? undefined, ...at, page_size: pageSize }),
    [datasetId, tab, page, cursor, labelFilter, nextOrder, taskId],
  );
  const suggestions = useLoad(() => assistApi.pending(datasetId), [datasetId]);
  const suggestionMap = bySample(suggestions.data ?? []);
  // A suggestion is never a label: a sample someone labelled meanwhile no longer offers it.
  const suggestionFor = (s: Sample) => (s.labeled ? undefined : suggestionMap.get(s.id));
  const { save, dialog } = useAnnotate(datasetId);

  useEffect(() => setSelected(new Set()), [tab, page, labelFilter]);
  // Samples that left the page (labeled, deleted) leave the selection too.
  useEffect(() => {
    const ids = new Set(samples.data?.results.map((s) => s.id) ?? []);
    setSelected((s) => ([...s].every((x) => ids.has(x)) ? s : new Set([...s].filter((x) => ids.has(x)))));
  }, [samples.data]);

  // Moving across a page edge in the detection editor opens the first/last image of the new page.
  useEffect(() => {
    if (!samples.data || !openAfterLoad.current) return;
    const list = samples.data.results;
    const s = openAfterLoad.current === "first" ? list[0] : list[list.length - 1];
    openAfterLoad.current = null;
    setUrl({ sample: s?.id ?? null }, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [samples.data]);

  const goTab = (t: Tab) => { if (t !== tab) setUrl({ tab: t, page: 1, sample: null, label: null, order: null }); };
  const goPage = (p: number) => setUrl({ ...pageMove(p), sample: null });
  const undoer = useLabelUndo(datasetId, () => void refresh(), { enabled: !(type === "object_detection" && openSample) });

  // Ctrl+A selects the samples of the page, never the page's text.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "a" || isTyping(e.target)) return;
      e.preventDefault();
      if (document.querySelector(".modal-backdrop") || (type === "object_detection" && openSample)) return;
      const ids = samples.data?.results.map((s) => s.id) ?? [];
      setSelected((cur) => (ids.every((id) => cur.has(id)) ? new Set() : new Set(ids)));
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [samples.data, type, openSample]);

  const refresh = async () => {
    await Promise.all([samples.reload(), labels.reload(), dataset.reload(), suggestions.reload()]);
    void props.onChanged();
  };
  const [decideError, setDecideError] = useState<string | null>(null);
  /** Accept (it becomes the sample's annotation, by "auto") or reject one suggestion. */
  const decide = async (s: Suggestion, accept: boolean): Promise<Sample | null> => {
    setDecideError(null);
    try {
      if (accept) {
        const r = await assistApi.accept(datasetId, { ids: [s.id] });
        if (r.skipped) setDecideError(`${s.sample.name} was labelled meanwhile; the suggestion was dropped.`);
      } else await assistApi.reject(datasetId, { ids: [s.id] });
      // Drop it at once so the badge disappears before the reload lands.
      if (suggestions.data) suggestions.setData(suggestions.data.filter((x) => x.id !== s.id));
      // The image grids drop a labelled sample from the Unlabeled page (as a number key does);
      // the detection editor, text and sound lists update it in place (no jump, no lost edits).
      const grid = type === "image_classification" || (type === "object_detection" && !openSample);
      const stored = accept && !grid ? await datasetsApi.sample(datasetId, s.sample.id) : null;
      if (stored) onSaved(stored);
      if (grid) void samples.reload();
      void suggestions.reload();
      void dataset.reload();
      return stored;
    } catch (err) {
      setDecideError(errorText(err));
      return null;
    }
  };
  // Saving one sample updates it in place (so the list does not jump) and refreshes counts.
  // An update of the latest list: a page save calls this once per line within one tick, and a
  // copy of the list as this render saw it would keep only the last line's labels.
  const onSaved = (s: Sample) => {
    samples.setData((latest) => (latest ? { ...latest, results: latest.results.map((x) => (x.id === s.id ? s : x)) } : latest));
    void labels.reload();
    void dataset.reload();
  };

  const list = samples.data?.results ?? [];
  const [actionError, setActionError] = useState<string | null>(null);
  /** A number key on the image grid: single-label replaces the label, multi-label toggles it. */
  const quickLabel = async (ids: string[], name: string) => {
    const chosen = list.filter((s) => ids.includes(s.id));
    const change = keyChange(chosen, name, mode ?? "single");
    setActionError(null);
    if (!change) return;
    // Labelled samples leave the Unlabeled page: drop them before the request, so the next key
    // (Space, another label) acts on the image that takes their place, as the user sees it.
    if (tab === "unlabeled" && change.add.length && samples.data) {
      const gone = new Set(ids);
      const results = samples.data.results.filter((s) => !gone.has(s.id));
      samples.setData({ ...samples.data, results, count: samples.data.count - (samples.data.results.length - results.length) });
    }
    try {
      await datasetsApi.batch(datasetId, ids, change.add, change.remove);
      undoer.record(change.after);
      await refresh();
    } catch (err) {
      setActionError(errorText(err));
      void samples.reload(); // the samples dropped above come back
    }
  };
  const count = samples.data?.count ?? 0;
  const pages = Math.max(1, Math.ceil(count / pageSize));
  /** The next/previous page through the list's own cursor links; other jumps by number. */
  function pageMove(p: number): { page: number; cursor: string | null } {
    const link = p === page + 1 ? samples.data?.next : p === page - 1 && p > 1 ? samples.data?.previous : null;
    return { page: p, cursor: cursorOf(link) };
  }
  const onEdge = (direction: 1 | -1) => {
    const next = page + direction;
    if (next < 1 || next > pages) return;
    openAfterLoad.current = direction === 1 ? "first" : "last";
    setUrl({ ...pageMove(next), sample: null });
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allOnPage = list.length > 0 && list.every((s) => selected.has(s.id));
  const selectedSamples = list.filter((s) => selected.has(s.id));
  const d = dataset.data;

  const editIndex = openSample ? list.findIndex((s) => s.id === openSample) : -1;
  if (type === "object_detection" && editIndex >= 0) {
    return (
      <>
        <DetectionLabeler
          datasetId={datasetId}
          samples={list}
          index={editIndex}
          labels={labels.data ?? []}
          canWrite={canLabel}
          save={save}
          onSaved={onSaved}
          onLabelsChanged={() => void labels.reload()}
          onIndex={(i) => setUrl({ sample: list[i]?.id ?? null }, true)}
          onEdge={onEdge}
          onClose={() => { setUrl({ sample: null }); void refresh(); }}
          suggestion={suggestionFor(list[editIndex])}
          onDecide={decide}
        />
        <ErrorBox message={decideError} />
        {dialog}
      </>
    );
  }

  return (
    <div className={`label-tab${drop.over ? " drop-over" : ""}`} {...drop.handlers} data-testid="label-drop-target">
      {drop.over && <div className="drop-hint" data-testid="drop-hint">Drop the files to upload them into this dataset</div>}
      <div className="toolbar wrap">
        {canWrite && <button onClick={() => setUploading(true)} data-testid="add-files">Add files</button>}
        {d && canWrite && <SyncButton dataset={d} onDone={refresh} />}
        {canWrite && (
          <button className="danger-outline" disabled={!selected.size} onClick={() => setDeleting(true)} data-testid="delete-samples">
            Delete{selected.size ? ` (${selected.size})` : ""}
          </button>
        )}
        <span className="spacer" />
        {canWrite && <Link to="../train" className="button primary" data-testid="goto-train">Train ›</Link>}
      </div>
      {taskId && <TaskBanner datasetId={datasetId} taskId={taskId} changed={dataset.data} onSubmitted={() => void refresh()} />}
      <p className="muted small">
        {mode && <span className="chip" title={modeHint(mode)} data-testid="label-mode" data-mode={mode}>{modeTitle(mode)}</span>}{" "}
        {d && <span className="mono">Input {d.input_path} · Output {d.output_path}</span>}
      </p>

      <div className="label-layout">
        <div className="label-main">
          <div className="subtabs">
            <button className={tab === "unlabeled" ? "active" : ""} onClick={() => goTab("unlabeled")} data-testid="tab-unlabeled">
              Unlabeled <span className="count" data-testid="unlabeled-count">{d?.unlabeled_count ?? "…"}</span>
            </button>
            <button className={tab === "labeled" ? "active" : ""} onClick={() => goTab("labeled")} data-testid="tab-labeled">
              Labeled <span className="count" data-testid="labeled-count">{d?.labeled_count ?? "…"}</span>
            </button>
            {checkable && (
              <button className={tab === "issues" ? "active" : ""} onClick={() => goTab("issues")} data-testid="tab-issues">Suspected errors</button>
            )}
            {tab === "labeled" && labelFilter && (
              <button className="chip" onClick={() => setUrl({ label: null, page: 1 })} data-testid="label-filter-clear">label: {labelFilter} ×</button>
            )}
            <span className="spacer" />
            {tab === "unlabeled" && !taskId && (
              <label className="small">
                Sort{" "}
                <select value={nextOrder ? "next" : ""} onChange={(e) => setUrl({ order: e.target.value || null, page: 1, sample: null })} data-testid="sample-order">
                  <option value="">As imported</option>
                  <option value="next" title="The model's least sure samples first">Label these next</option>
                </select>
              </label>
            )}
            {tab !== "issues" && <label className="small">
              <input type="checkbox" checked={allOnPage} disabled={!list.length}
                onChange={() => setSelected(allOnPage ? new Set() : new Set(list.map((s) => s.id)))} data-testid="select-page" />
              {" "}Select current page
            </label>}
          </div>
          {tab === "issues" && <SuspectedErrors project={project} datasetId={datasetId} canWrite={canWrite} onChanged={() => void refresh()} />}
          <ErrorBox message={samples.error} />
          <ErrorBox message={actionError} />
          <ErrorBox message={decideError} />
          {!samples.data && !samples.error && <Loading what="samples" />}
          {samples.data && list.length === 0 && tab !== "issues" && (
            <Empty>{tab === "unlabeled" ? "Nothing left to label. Add files or synchronize the data source." : "No labeled samples yet."}</Empty>
          )}
          {list.length > 0 && type === "image_classification" && (
            <SampleGrid samples={list} labels={labels.data ?? []} selected={selected} onToggle={toggle} canWrite={canLabel} mode={mode ?? "single"}
              onLabel={(ids, name) => void quickLabel(ids, name)} preview={openSample} onPreview={(id) => setUrl({ sample: id }, !!openSample)}
              suggestionFor={suggestionFor} onDecide={(s, a) => void decide(s, a)} datasetId={datasetId} />
          )}
          {list.length > 0 && type === "object_detection" && (
            <SampleGrid samples={list} labels={labels.data ?? []} selected={selected} onToggle={toggle} onOpen={(i) => setUrl({ sample: list[i].id })} detection
              canWrite={canLabel} suggestionFor={suggestionFor} onDecide={(s, a) => void decide(s, a)} />
          )}
          {list.length > 0 && type === "sound_classification" && (
            <SoundLabeler samples={list} labels={labels.data ?? []} selected={selected} onToggle={toggle} canWrite={canLabel} save={save} onSaved={onSaved} onEdge={onEdge}
              onLabelled={undoer.record} current={openSample} onCurrent={(id) => setUrl({ sample: id }, true)}
              suggestionFor={suggestionFor} onDecide={(s, a) => void decide(s, a)} datasetId={datasetId} />
          )}
          {list.length > 0 && type === "text_classification" && (
            <TextLabeler samples={list} labels={labels.data ?? []} selected={selected} onToggle={toggle} canWrite={canLabel} save={save} onSaved={onSaved}
              onLabelled={undoer.record} suggestionFor={suggestionFor} onDecide={(s, a) => void decide(s, a)}
              loadFull={(s) => datasetsApi.sample(datasetId, s.id)} datasetId={datasetId} />
          )}
          {samples.data && tab !== "issues" && <Pager page={page} pageSize={pageSize} count={count} estimate={samples.data.count_is_estimate} hasNext={!!samples.data.next} onPage={goPage} testId="sample-pager" />}
        </div>
        <aside className="label-side">
          <AssistPanel project={project} datasetId={datasetId} pending={(suggestions.data ?? []).filter((s) => s.status === "pending")}
            canWrite={canWrite} onChanged={refresh} />
          {(type === "image_classification" || type === "sound_classification") && (
            <SelectionPanel datasetId={datasetId} type={type} mode={mode ?? "single"} selected={selectedSamples} labels={labels.data ?? []} canWrite={canLabel} onChanged={refresh}
              onLabelled={undoer.record} />
          )}
          {type === "object_detection" && (
            <section className="side-panel"><p className="muted small">Click an image to draw boxes on it.</p></section>
          )}
          <LabelsPanel
            datasetId={datasetId}
            type={type}
            labels={labels.data ?? []}
            canWrite={canWrite}
            onChanged={refresh}
            activeFilter={tab === "labeled" ? labelFilter : null}
            onFilter={(name) => setUrl({ tab: "labeled", page: 1, label: name, sample: null })}
          />
        </aside>
      </div>

      {uploading && (
        <UploadDialog datasetId={datasetId} type={type} initialFiles={dropped} onUploaded={refresh}
          onClose={() => { setUploading(false); setDropped(undefined); }} />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete samples"
          danger
          confirmLabel="Delete"
          message={<>Delete {selected.size} sample{selected.size > 1 ? "s" : ""} and their labels? Deleted samples cannot be recovered.</>}
          onConfirm={async () => {
            await datasetsApi.deleteSamples(datasetId, [...selected], deleteSource);
            setSelected(new Set());
            await refresh();
          }}
          onClose={() => { setDeleting(false); setDeleteSource(false); }}
        >
          <label className="radio-line">
            <input type="checkbox" checked={deleteSource} onChange={(e) => setDeleteSource(e.target.checked)} data-testid="delete-source-files" />
            Also delete the source files from storage
          </label>
        </ConfirmDialog>
      )}
      {dialog}
      {undoer.toast}
    </div>
  );
}
