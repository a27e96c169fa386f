import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { ModelVersion } from "../../api/types";
import { FinalLeaderboard, LiveProgress } from "./LiveTraining";

const base = { id: "v", name: "V001", status: "running", progress: 0.1, phase: "training", queue_position: null, stop_requested: false } as unknown as ModelVersion;

describe("live training", () => {
  it("degrades to the progress bar without live", () => {
    const html = renderToStaticMarkup(<LiveProgress version={base} />);
    expect(html).toContain('data-testid="version-progress"');
    expect(html).not.toContain("live-chart");
  });
  it("treats the empty live of a version the engine has not reported on yet as absent", () => {
    const html = renderToStaticMarkup(<LiveProgress version={{ ...base, live: {} } as unknown as ModelVersion} />);
    expect(html).toContain('data-testid="version-progress"');
    expect(html).not.toContain("live-chart");
  });
  it("shows the ETA, the chart and the leaderboard, best first", () => {
    const live = {
      eta_seconds: 95,
      candidates: [
        { name: "lgbm-a", family: "lightgbm", status: "done", score: 0.81, metric: "f1", seconds: 12 },
        { name: "lgbm-b", family: "lightgbm", status: "running", score: 0.86, metric: "f1", seconds: 5 },
      ],
      curve: [{ t: 2, candidate: "lgbm-a", epoch: 1, score: 0.7 }, { t: 9, candidate: "lgbm-a", epoch: 2, score: 0.81 }, { t: 12, candidate: "lgbm-b", epoch: 1, score: 0.86 }],
    };
    const html = renderToStaticMarkup(<LiveProgress version={{ ...base, live } as ModelVersion} />);
    expect(html).toContain("1 min 35 s");
    expect(html.match(/data-testid="live-series"/g)).toHaveLength(2);
    expect(html.indexOf("lgbm-b")).toBeLessThan(html.indexOf("lgbm-a</td>"));
  });
  it("puts the lowest RMSE first for a regression", () => {
    const live = {
      eta_seconds: 10, metric: "rmse", higher_is_better: false,
      candidates: [
        { name: "worst", family: "linear", status: "done", score: 58979.3, metric: "rmse", seconds: 1 },
        { name: "best", family: "lightgbm", status: "done", score: 1200.5, metric: "rmse", seconds: 2 },
        { name: "pending", family: "catboost", status: "running", score: null, metric: "rmse", seconds: 0 },
      ],
      curve: [{ t: 1, candidate: "worst", epoch: null, score: 58979.3 }, { t: 2, candidate: "best", epoch: null, score: 1200.5 }],
    };
    const html = renderToStaticMarkup(<LiveProgress version={{ ...base, live } as ModelVersion} />);
    expect(html.indexOf("<td>best")).toBeLessThan(html.indexOf("<td>worst"));
    expect(html.indexOf("<td>worst")).toBeLessThan(html.indexOf("<td>pending"));
    expect(html).toMatch(/best<span[^>]*> \(best so far\)/);
    expect(html).toContain("59.0k");
    expect(html).not.toContain("58979.300<");
  });
  it("reads the direction from the metric name when the backend does not say", () => {
    const live = {
      eta_seconds: 10,
      candidates: [
        { name: "worst", family: "linear", status: "done", score: 9.5, metric: "rmse", seconds: 1 },
        { name: "best", family: "lightgbm", status: "done", score: 3.1, metric: "rmse", seconds: 2 },
      ],
      curve: [],
    };
    const html = renderToStaticMarkup(<LiveProgress version={{ ...base, live } as ModelVersion} />);
    expect(html).toMatch(/best<span[^>]*> \(best so far\)/);
  });
  it("says Stopping… while a stop is in flight", () => {
    const html = renderToStaticMarkup(<LiveProgress version={{ ...base, stop_requested: true }} />);
    expect(html).toContain("version-stopping");
    expect(html).toContain("Stopping…");
  });
  it("keeps the final leaderboard readable after training", () => {
    const live = {
      eta_seconds: 0, metric: "accuracy", higher_is_better: true,
      candidates: [
        { name: "lgbm", family: "lightgbm", status: "done", score: 0.91, metric: "accuracy", seconds: 3 },
        { name: "linear", family: "linear", status: "done", score: 0.84, metric: "accuracy", seconds: 1 },
      ],
      curve: [{ t: 1, candidate: "linear", epoch: null, score: 0.84 }],
    };
    const done = { ...base, status: "completed", progress: 1, live } as unknown as ModelVersion;
    const html = renderToStaticMarkup(<FinalLeaderboard version={done} />);
    expect(html).toContain('data-testid="version-leaderboard"');
    expect(html).toMatch(/lgbm<span[^>]*> \(best on validation\)/);
    expect(renderToStaticMarkup(<FinalLeaderboard version={{ ...done, live: {} } as unknown as ModelVersion} />)).toBe("");
  });
  it("shows a score with its standard error and how often small data repeated it", () => {
    const live = {
      eta_seconds: 0, metric: "accuracy", higher_is_better: true,
      candidates: [
        { name: "tfidf", family: "linear", status: "done", score: 0.93, std_error: 0.021, repeats: 6, metric: "accuracy", seconds: 3 },
        { name: "old", family: "linear", status: "done", score: 0.9, metric: "accuracy", seconds: 1 },
      ],
      curve: [],
    };
    const html = renderToStaticMarkup(<FinalLeaderboard version={{ ...base, status: "completed", live } as unknown as ModelVersion} />);
    expect(html).toContain("0.930 ± 0.021 accuracy");
    expect(html).toContain("(6× repeated)");
    expect(html).toContain(">0.900 accuracy<");  // a report from before standard errors: the score alone
  });
});
