import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { datasetsApi } from "../../api/datasets";
import { servingApi } from "../../api/serving";
import type { Project, Service } from "../../api/types";
import { ErrorBox } from "../../components/ui";
import { SERVICE_CALLED } from "./ServicePanel";
import { fromDetectionBox } from "../labeling/boxEditor/geometry";

interface Detection {
  detection_classes?: string[];
  detection_boxes?: number[][];
  detection_scores?: number[];
}

const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];

/** A request body for predictive analytics from the first preview row, label column blank. */
export function predictiveTemplate(columns: string[], row: unknown[] | undefined, labelColumn: string | null): string {
  const record: Record<string, string> = {};
  columns.forEach((c, i) => { record[c] = c === labelColumn ? "" : row?.[i] == null ? "" : String(row[i]); });
  return JSON.stringify({ data: { count: 1, req_data: [record] } }, null, 2);
}

function DetectionOverlay({ src, result }: { src: string; result: Detection | null }) {
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const classes = [...new Set(result?.detection_classes ?? [])];
  return (
    <div className="overlay-wrap" data-testid="test-image">
      <img src={src} alt="test input" onLoad={(e) => setSize({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })} />
      {size && result?.detection_boxes && (
        <svg viewBox={`0 0 ${size.w} ${size.h}`} preserveAspectRatio="none" className="overlay-svg" data-testid="test-boxes">
          {result.detection_boxes.map((b, i) => {
            const box = fromDetectionBox(b);
            const cls = result.detection_classes?.[i] ?? "?";
            const color = COLORS[classes.indexOf(cls) % COLORS.length];
            const score = result.detection_scores?.[i];
            return (
              <g key={i} data-testid="test-box" data-label={cls}>
                <rect x={box.xmin} y={box.ymin} width={box.xmax - box.xmin} height={box.ymax - box.ymin} fill="none" stroke={color} strokeWidth={Math.max(2, size.w / 300)} vectorEffect="non-scaling-stroke" />
                <text x={box.xmin + 2} y={Math.max(box.ymin - 4, 12)} fill={color} fontSize={Math.max(12, size.w / 40)}>{cls}{score !== undefined ? ` ${Number(score).toFixed(2)}` : ""}</text>
              </g>
            );
          })}
        </svg>
      )}
    </div>
  );
}

export function TestPanel({ service, project }: { service: Service; project: Project }) {
  const type = service.task_type ?? project.type;
  const [file, setFile] = useState<File | null>(null);
  const [text, setText] = useState("");
  const [json, setJson] = useState("");
  const [response, setResponse] = useState<unknown>(null);
  const [status, setStatus] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const preview = useMemo(() => (file ? URL.createObjectURL(file) : null), [file]);
  useEffect(() => () => { if (preview) URL.revokeObjectURL(preview); }, [preview]);

  // Predictive analytics: start from a real record so the body is valid as it stands.
  const templated = useRef(false);
  useEffect(() => {
    if (type !== "predictive_analytics" || templated.current) return;
    templated.current = true;
    const id = project.dataset?.id;
    const fallback = predictiveTemplate(["attr_1"], undefined, null);
    if (!id) { setJson(fallback); return; }
    datasetsApi.preview(id)
      .then((p) => setJson(predictiveTemplate(p.columns.map((c) => c.name), p.rows[0], project.label_column)))
      .catch(() => setJson(fallback));
  }, [type, project.dataset?.id, project.label_column]);

  const predict = async () => {
    setBusy(true);
    setError(null);
    setResponse(null);
    setStatus(null);
    try {
      let result: unknown;
      if (type === "image_classification" || type === "object_detection") result = await servingApi.inferFile(service.id, "images", file!);
      else if (type === "sound_classification") result = await servingApi.inferFile(service.id, "files", file!);
      else if (type === "text_classification") result = await servingApi.inferJson(service.id, { text });
      else {
        let body: unknown;
        try {
          body = JSON.parse(json);
        } catch {
          throw new Error("The request body is not valid JSON.");
        }
        result = await servingApi.inferJson(service.id, body);
      }
      setStatus(200);
      setResponse(result);
    } catch (err) {
      if (err instanceof ApiError) {
        setStatus(err.status);
        setResponse(err.body ?? err.message);
        // The raw body stays below for developers; people read one sentence.
        setError(err.status === 400 ? `The service rejected the input: ${cleanMessage(err.message)}` : cleanMessage(err.message));
      } else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
      window.dispatchEvent(new Event(SERVICE_CALLED));
    }
  };

  const fileTypes = type === "sound_classification" ? ".wav" : ".jpg,.jpeg,.png,.bmp";
  const ready =
    type === "text_classification" ? text.trim() !== "" : type === "predictive_analytics" ? json.trim() !== "" : !!file;
  const scores = (response as { scores?: [string, string | number][] } | null)?.scores;
  const predicted = (response as { predicted_label?: string } | null)?.predicted_label;
  const score = (response as { score?: number | string } | null)?.score;

  return (
    <section className="panel test-panel" data-testid="test-panel">
      <h3>Test the service</h3>
      <div className="test-grid">
        <div>
          {(type === "image_classification" || type === "object_detection" || type === "sound_classification") && (
            <>
              <label className="dropzone small-zone">
                <input type="file" accept={fileTypes} onChange={(e) => { setFile(e.target.files?.[0] ?? null); setResponse(null); }} data-testid="test-upload" />
                <span>{file ? file.name : type === "sound_classification" ? "Upload a WAV file" : "Upload an image (JPG, PNG, BMP)"}</span>
              </label>
              {preview && type === "sound_classification" && <audio controls src={preview} data-testid="test-audio" />}
              {preview && type === "object_detection" && <DetectionOverlay src={preview} result={status === 200 ? (response as Detection) : null} />}
              {preview && type === "image_classification" && <div className="overlay-wrap" data-testid="test-image"><img src={preview} alt="test input" /></div>}
            </>
          )}
          {type === "text_classification" && (
            <textarea rows={6} placeholder="Type the text to classify" value={text} onChange={(e) => setText(e.target.value)} data-testid="test-text" />
          )}
          {type === "predictive_analytics" && (
            <textarea rows={14} className="mono" value={json} onChange={(e) => setJson(e.target.value)} spellCheck={false} data-testid="test-json" />
          )}
          <button className="primary" disabled={!ready || busy || service.status !== "running"} onClick={predict} data-testid="test-predict">
            {busy ? "Predicting…" : "Predict"}
          </button>
        </div>
        <div>
          <h4>Result {status && <span className={`badge ${status === 200 ? "ok" : "bad"}`}>{status}</span>}</h4>
          {predicted && <p data-testid="test-predicted-label">Predicted: <b>{predicted}</b>{score !== undefined && <> · score {Number(score).toFixed(3)}</>}</p>}
          {scores && (
            <table className="table compact narrow-table">
              <tbody>{scores.map(([l, s]) => <tr key={l}><td>{l}</td><td>{Number(s).toFixed(3)}</td></tr>)}</tbody>
            </table>
          )}
          <pre className="code response" data-testid="test-response">{response === null ? "—" : typeof response === "string" ? response : JSON.stringify(response, null, 2)}</pre>
          <div data-testid="test-error"><ErrorBox message={error} /></div>
        </div>
      </div>
    </section>
  );
}

/** Drops Python object reprs ("<_io.BytesIO object at 0x…>") an older server may still send. */
export function cleanMessage(text: string): string {
  return text.replace(/\s*<[\w.]+ object at 0x[0-9a-f]+>/gi, "").trim();
}
