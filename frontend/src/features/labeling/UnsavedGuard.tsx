import { useEffect, useRef, useState } from "react";
import { useBlocker } from "react-router-dom";
import { Modal } from "../../components/ui";

/**
 * The one guard every labeler uses for work not yet on the server: closing or reloading the
 * tab gets the browser's warning; leaving inside the console (sidebar, tabs, pages, another
 * sample) is held. With autoSave the guard saves and then goes on, asking only when the save
 * fails; without it (or on failure) one dialog offers Save and leave / Leave without saving /
 * Stay.
 */
export function UnsavedGuard(props: {
  dirty: boolean;
  /** "3 unsaved label changes", "unsaved boxes on cat.jpg" */
  what: string;
  /** Saves everything; resolves false (or throws) when it could not. */
  save?: () => Promise<boolean>;
  autoSave?: boolean;
  /** Leaving is a change of pathname only (a sample switch inside the page is not leaving). */
  pathOnly?: boolean;
}) {
  const { dirty } = props;
  const saveRef = useRef(props.save);
  saveRef.current = props.save;
  const [saving, setSaving] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const blocker = useBlocker(
    ({ currentLocation: a, nextLocation: b }) =>
      dirty && (a.pathname !== b.pathname || (!props.pathOnly && a.search !== b.search)),
  );

  const trySave = async (): Promise<boolean> => {
    if (!saveRef.current) return false;
    setSaving(true);
    setFailed(null);
    try {
      const ok = await saveRef.current();
      if (!ok) setFailed("The changes could not be saved.");
      return ok;
    } catch (err) {
      setFailed(err instanceof Error ? err.message : String(err));
      return false;
    } finally {
      setSaving(false);
    }
  };

  const auto = useRef(false);
  useEffect(() => {
    if (blocker.state !== "blocked") {
      auto.current = false;
      return;
    }
    if (props.autoSave && props.save && !auto.current) {
      auto.current = true;
      void trySave().then((ok) => ok && blocker.state === "blocked" && blocker.proceed());
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [blocker.state]);

  if (blocker.state !== "blocked") return null;
  if (props.autoSave && (saving || !failed)) {
    return <div className="saving-toast" data-testid="unsaved-autosaving">Saving before leaving…</div>;
  }
  return (
    <Modal
      title="Unsaved changes"
      onClose={() => blocker.reset()}
      testId="unsaved-dialog"
      footer={
        <>
          <button onClick={() => blocker.reset()} data-testid="unsaved-stay">Stay</button>
          <button className="danger" onClick={() => blocker.proceed()} data-testid="unsaved-leave">Leave without saving</button>
          {props.save && (
            <button className="primary" disabled={saving} onClick={async () => (await trySave()) && blocker.proceed()} data-testid="unsaved-save">
              {saving ? "Saving…" : "Save and leave"}
            </button>
          )}
        </>
      }
    >
      <p>You have {props.what}. They are lost if you leave now.</p>
      {failed && <p className="field-error" data-testid="unsaved-error">Saving failed: {failed}</p>}
    </Modal>
  );
}
