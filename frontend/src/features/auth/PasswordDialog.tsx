import { useState, type FormEvent } from "react";
import { ApiError, errorText } from "../../api/client";
import { authApi } from "../../api/auth";
import { ErrorBox, Field, Modal, Notice } from "../../components/ui";

export interface PasswordErrors {
  current_password?: string;
  new_password?: string;
  other?: string;
}

/** The API's 400 ({field: [reasons]}) as one line per field; anything else as one message. */
export function passwordErrors(err: unknown): PasswordErrors {
  const body = err instanceof ApiError && err.status === 400 ? err.body : null;
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const text = (key: string) => (Array.isArray(record[key]) ? (record[key] as unknown[]).map(String).join(" ") : undefined);
    const found: PasswordErrors = { current_password: text("current_password"), new_password: text("new_password") };
    if (found.current_password || found.new_password) return found;
  }
  return { other: errorText(err) };
}

/** The signed-in user's own password; this session stays signed in, others end. */
export function PasswordDialog({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [errors, setErrors] = useState<PasswordErrors>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const mismatch = again !== "" && again !== next ? "The two new passwords differ." : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setErrors({});
    try {
      await authApi.changePassword({ current_password: current, new_password: next });
      setDone(true);
    } catch (err) {
      setErrors(passwordErrors(err));
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <Modal title="Password changed" onClose={onClose} testId="password-dialog" footer={<button className="primary" onClick={onClose} data-testid="password-done">Close</button>}>
        <Notice kind="ok">Your password was changed. You stay signed in here; other console sessions are signed out. API tokens keep working.</Notice>
      </Modal>
    );
  }
  return (
    <Modal title="Change password" onClose={onClose} testId="password-dialog">
      <form onSubmit={submit}>
        <Field label="Current password" error={errors.current_password} required>
          <input type="password" autoFocus autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} data-testid="password-current" />
        </Field>
        <Field label="New password" error={errors.new_password} hint="At least 10 characters, not all digits, not a common password." required>
          <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} data-testid="password-new" />
        </Field>
        <Field label="New password again" error={mismatch} required>
          <input type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} data-testid="password-again" />
        </Field>
        <ErrorBox message={errors.other} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button className="primary" type="submit" disabled={busy || !current || !next || next !== again} data-testid="password-submit">
            {busy ? "Saving…" : "Change password"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
