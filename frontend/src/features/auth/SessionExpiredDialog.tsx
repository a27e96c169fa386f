import { useState, type FormEvent } from "react";
import { errorText } from "../../api/client";
import { ErrorBox, Modal } from "../../components/ui";
import { useAuth } from "./AuthContext";

/**
 * Over the page, not instead of it: whatever the user was editing stays on screen, and the
 * request that found the session gone is retried once they are signed in again.
 */
export function SessionExpiredDialog() {
  const { me, expired, login, logout } = useAuth();
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!expired || !me) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(me.user.username, password);
      setPassword("");
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Your session has expired" onClose={() => undefined} testId="session-expired">
      <form onSubmit={submit}>
        <p>
          You were signed out (the session timed out or ended elsewhere). Sign in again as <b>{me.user.username}</b>:
          what you were doing is sent again, nothing on this page is lost.
        </p>
        <label className="field">
          <span className="field-label">Password</span>
          <input type="password" autoFocus autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="session-password" />
        </label>
        <ErrorBox message={error} />
        <div className="form-actions">
          <button type="button" onClick={() => void logout()} data-testid="session-signout">Sign out</button>
          <button className="primary" type="submit" disabled={busy || !password} data-testid="session-submit">{busy ? "Signing in…" : "Sign in and continue"}</button>
        </div>
      </form>
    </Modal>
  );
}
