import { Modal } from "../../components/ui";

type Kind = "image" | "detection" | "sound" | "text";

const COMMON: [string, string][] = [
  ["1 … 9", "pick the label with that number (or a label's own key)"],
  ["Ctrl+Z", "undo"],
  ["Ctrl+Shift+Z", "redo"],
  ["?", "show or hide this list"],
];

const BY_KIND: Record<Kind, [string, string][]> = {
  image: [
    ["← → / J K", "move the highlighted image"],
    ["1 … 9", "label the highlighted image (or every selected one)"],
    ["Space / Enter", "open the large preview"],
    ["X", "select or unselect the highlighted image"],
    ["Ctrl+A", "select every image on the page"],
    ["Esc", "close the preview"],
  ],
  detection: [
    ["Drag", "draw a box with the highlighted label"],
    ["1 … 9", "highlight a label; relabels the selected box"],
    ["← → / J K", "previous / next image (saves first)"],
    ["Delete", "remove the selected box"],
    ["Wheel / Shift-drag", "zoom / pan"],
  ],
  sound: [
    ["1 … 9", "label the current clip and move to the next"],
    ["↑ ↓ / J K", "previous / next clip"],
    ["Space", "play or pause"],
  ],
  text: [
    ["↑ ↓ / J K", "move between lines"],
    ["1 … 9", "label the highlighted line"],
    ["Enter", "save the page"],
  ],
};

export function ShortcutsDialog({ kind, onClose }: { kind: Kind; onClose: () => void }) {
  const rows = [...BY_KIND[kind], ...COMMON.filter(([k]) => !BY_KIND[kind].some(([b]) => b === k))];
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
      <table className="table compact">
        <tbody>
          {rows.map(([key, what]) => (
            <tr key={key + what}><td><kbd>{key}</kbd></td><td>{what}</td></tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
