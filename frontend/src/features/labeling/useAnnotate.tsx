import { useCallback, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import type { Sample } from "../../api/types";
import { Modal } from "../../components/ui";

export type AnnotationBody = { labels: string[] } | { objects: Sample["objects"] };

interface Conflict {
  sample: Sample;
  mine: AnnotationBody;
  theirs: Sample;
  resolve: (result: Sample) => void;
  reject: (err: unknown) => void;
}

function describe(body: AnnotationBody | Sample): string {
  if ("objects" in body && body.objects && body.objects.length) {
    return body.objects.map((o) => `${o.label} [${o.bbox.map((v) => Math.round(v)).join(", ")}]`).join("\n");
  }
  const labels = "labels" in body ? body.labels : [];
  return labels && labels.length ? labels.join(", ") : "(no labels)";
}

/**
 * Saves one sample's annotation with If-Match. When someone else saved first (409), it
 * shows both versions and lets the user keep theirs or apply their own change again on
 * top of the current revision. The returned promise settles once the user decides.
 */
export function useAnnotate(datasetId: string) {
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const conflictRef = useRef<Conflict | null>(null);
  conflictRef.current = conflict;

  const save = useCallback(
    (sample: Sample, body: AnnotationBody): Promise<Sample> =>
      datasetsApi.annotate(datasetId, sample, body).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 409) {
          const theirs = (err.body as { current?: Sample } | undefined)?.current;
          if (theirs) {
            return new Promise<Sample>((resolve, reject) => setConflict({ sample, mine: body, theirs, resolve, reject }));
          }
        }
        throw err;
      }),
    [datasetId],
  );

  const keepTheirs = () => {
    conflict?.resolve(conflict.theirs);
    setConflict(null);
  };
  const redoMine = async () => {
    if (!conflict) return;
    const c = conflict;
    setConflict(null);
    try {
      c.resolve(await save(c.theirs, c.mine));
    } catch (err) {
      c.reject(err);
    }
  };

  const dialog = conflict ? (
    <Modal
      title="Someone else changed this sample"
      onClose={keepTheirs}
      testId="conflict-dialog"
      footer={
        <>
          <button onClick={keepTheirs} data-testid="conflict-keep-theirs">Keep their change</button>
          <button className="primary" onClick={redoMine} data-testid="conflict-redo-mine">Apply my change again</button>
        </>
      }
    >
      <p>
        <b>{conflict.sample.name}</b> was saved by someone else (now revision {conflict.theirs.revision}) while you were
        editing revision {conflict.sample.revision}.
      </p>
      <div className="conflict-grid">
        <div>
          <h4>Their version (saved)</h4>
          <pre data-testid="conflict-theirs">{describe(conflict.theirs)}</pre>
        </div>
        <div>
          <h4>Your change (not saved)</h4>
          <pre data-testid="conflict-mine">{describe(conflict.mine)}</pre>
        </div>
      </div>
    </Modal>
  ) : null;

  return { save, dialog };
}
