import { datasetsApi } from "../../api/datasets";
import type { Dataset } from "../../api/types";
import { typeTitle } from "../../lib/format";
import { useLoad } from "../../lib/hooks";

/** The tenant's labelable datasets (predictive analytics has no per-sample labels). */
export function useLabelDatasets(): Dataset[] {
  const datasets = useLoad(() => datasetsApi.list({ page_size: 100 }), []);
  return (datasets.data?.results ?? []).filter((d) => d.type !== "predictive_analytics");
}

/** A select of those datasets; the caller shows the first one while none is chosen. */
export function DatasetPicker(props: { datasets: Dataset[]; value: string | null; onChange: (id: string) => void; testId?: string }) {
  return (
    <label className="small">
      Dataset{" "}
      <select value={props.value ?? ""} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId ?? "dataset-picker"}>
        {!props.value && <option value="">Choose…</option>}
        {props.datasets.map((d) => <option key={d.id} value={d.id}>{d.name} ({typeTitle(d.type)})</option>)}
      </select>
    </label>
  );
}
