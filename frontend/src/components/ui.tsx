import { useEffect, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";
import { copyText } from "../lib/download";
import { titleCase } from "../lib/format";

export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  testId?: string;
}) {
  const { onClose } = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  // A portal keeps the dialog out of any surrounding <form>, so its buttons never submit it.
  return createPortal(
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`modal${props.wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label={props.title} data-testid={props.testId}>
        <header className="modal-head">
          <h2>{props.title}</h2>
          <button className="icon" aria-label="Close" onClick={onClose}>×</button>
        </header>
        <div className="modal-body">{props.children}</div>
        {props.footer && <footer className="modal-foot">{props.footer}</footer>}
      </div>
    </div>,
    document.body,
  );
}

/** A yes/no dialog for irrecoverable actions; onConfirm may be async and may throw. */
export function ConfirmDialog(props: {
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  onConfirm: () => Promise<void> | void;
  onClose: () => void;
  children?: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testId="confirm-dialog"
      footer={
        <>
          <button onClick={props.onClose} data-testid="confirm-cancel">Cancel</button>
          <button className={props.danger ? "danger" : "primary"} disabled={busy} onClick={confirm} data-testid="confirm-ok">
            {busy ? "Working…" : props.confirmLabel ?? "OK"}
          </button>
        </>
      }
    >
      <div>{props.message}</div>
      {props.children}
      {error && <ErrorBox message={error} />}
    </Modal>
  );
}

export function ErrorBox({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return <div className="error-box" role="alert">{message}</div>;
}

export function Notice({ children, kind = "info" }: { children: ReactNode; kind?: "info" | "warn" | "ok" }) {
  return <div className={`notice ${kind}`}>{children}</div>;
}

export function ProgressBar({ value, testId, label }: { value: number; testId?: string; label?: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value || 0)) * 100);
  return (
    <div className="progress" data-testid={testId} role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">{label ?? `${pct}%`}</span>
    </div>
  );
}

const STATUS_KIND: Record<string, string> = {
  completed: "ok", running: "run", succeeded: "ok", deploying: "run", queued: "wait", labeling: "wait",
  not_started: "idle", stopped: "idle", stopping: "run", failed: "bad", concerning: "bad", training: "run",
  active: "ok", revoked: "bad",
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge ${STATUS_KIND[status] ?? "idle"}`} data-testid={testId} data-status={status}>
      {titleCase(status)}
    </span>
  );
}

/** ``estimate``: the count is the server's estimate (say so); ``hasNext``: the list's own
 *  ``next`` link, which decides Next when given (an estimate cannot). */
export function Pager(props: {
  page: number; pageSize: number; count: number; onPage: (page: number) => void; testId?: string;
  estimate?: boolean; hasNext?: boolean;
}) {
  const pages = Math.max(1, Math.ceil(props.count / props.pageSize));
  const more = props.hasNext ?? props.page < pages;
  return (
    <div className="pager" data-testid={props.testId ?? "pager"}>
      <span className="muted">{props.estimate ? `about ${props.count}` : props.count} total</span>
      <button disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)} data-testid="pager-prev">‹ Prev</button>
      <span>Page {props.page}{props.estimate ? "" : ` / ${pages}`}</span>
      <button disabled={!more} onClick={() => props.onPage(props.page + 1)} data-testid="pager-next">Next ›</button>
    </div>
  );
}

export function Field(props: { label: string; error?: string | null; hint?: ReactNode; children: ReactNode; required?: boolean }) {
  return (
    <label className={`field${props.error ? " invalid" : ""}`}>
      <span className="field-label">{props.label}{props.required && <span className="req">*</span>}</span>
      {props.children}
      {props.error ? <span className="field-error">{props.error}</span> : props.hint ? <span className="field-hint">{props.hint}</span> : null}
    </label>
  );
}

export function CopyButton({ text, testId }: { text: string; testId?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      data-testid={testId}
      onClick={async () => {
        setCopied(await copyText(text));
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

export function Loading({ what }: { what?: string }) {
  return <div className="muted loading">Loading{what ? ` ${what}` : ""}…</div>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
