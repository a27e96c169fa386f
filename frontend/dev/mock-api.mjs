// A throwaway in-memory stand-in for the ExeML API, for looking at the console without the
// Django backend: `npm run build && node dev/mock-api.mjs` then open http://127.0.0.1:5179.
// Not used by the tests; the real contract is /work/shared/API.md.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const PORT = Number(process.env.PORT ?? 5179);
const now = () => new Date().toISOString();
let seq = 1000;
const id = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, "0")}`;

const me = { user: { id: id(), username: "alice" }, tenant: { id: id(), slug: "acme", name: "Acme Labs", storage_roots: ["s3://exeml/acme/"] }, role: process.env.ROLE ?? "owner" };
let loggedIn = process.env.LOGGED_IN === "1";

const types = ["image_classification", "object_detection", "predictive_analytics", "sound_classification", "text_classification"];
const datasets = [], samples = new Map(), labels = new Map(), projects = [], versions = new Map(), services = [], jobs = new Map();

function wav() {
  const rate = 8000, n = rate * 1.2, buf = Buffer.alloc(44 + n * 2);
  buf.write("RIFF", 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write("WAVEfmt ", 8); buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write("data", 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return buf;
}
const WAV = wav();
const svgImage = (i) => `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="hsl(${(i * 47) % 360},60%,70%)"/><circle cx="${200 + (i % 5) * 40}" cy="240" r="90" fill="hsl(${(i * 47 + 180) % 360},60%,45%)"/><text x="20" y="40" font-size="32">#${i}</text></svg>`;

function addProject(type, name) {
  const ds = { id: id(), name: `${name}_ds`, type, input_path: `s3://exeml/acme/${name}/in/`, output_path: `s3://exeml/acme/${name}/out/`, sample_count: 0, labeled_count: 0, unlabeled_count: 0, last_sync_job: null };
  datasets.push(ds);
  const lab = type === "predictive_analytics" ? [] : [
    { name: "cat", color: "#e6194b", shortcut: type === "sound_classification" ? "c" : null, count: 0 },
    { name: "dog", color: "#4363d8", shortcut: null, count: 0 },
    { name: "向日葵", color: "#3cb44b", shortcut: null, count: 0 },
  ];
  labels.set(ds.id, lab);
  const list = [];
  const n = type === "predictive_analytics" ? 0 : 30;
  for (let i = 0; i < n; i++) {
    const sid = id();
    const labeled = i % 3 === 0;
    const s = { id: sid, name: type === "sound_classification" ? `clip_${i}.wav` : type === "text_classification" ? `line ${i + 1}` : `img_${i}.jpg`, source: `${ds.input_path}${i}`, status: "ok", labeled, revision: 1,
      labels: labeled && type !== "object_detection" ? [lab[i % 2].name] : [], objects: labeled && type === "object_detection" ? [{ label: "cat", bbox: [100, 120, 300, 360] }] : [],
      width: 640, height: 480, duration: type === "sound_classification" ? 1.2 : null,
      text: type === "text_classification" ? `这是第 ${i + 1} 行 — sample text number ${i + 1} about ${i % 2 ? "sports" : "finance"}.` : null,
      line_number: type === "text_classification" ? i + 1 : null, content_url: `/api/v1/datasets/${ds.id}/samples/${sid}/content`, _i: i };
    list.push(s);
  }
  samples.set(ds.id, list);
  recount(ds);
  const p = { id: id(), name, description: `Demo ${type.replace(/_/g, " ")} project`, type, status: "labeling", created_at: now(), dataset: { id: ds.id, name: ds.name, input_path: ds.input_path, output_path: ds.output_path, type },
    label_column: type === "predictive_analytics" ? "attr_4" : null, label_type: type === "predictive_analytics" ? "discrete" : null, training_data: type === "predictive_analytics" ? "s3://exeml/acme/bank/train.csv" : null, versions: [] };
  projects.push(p);
  versions.set(p.id, []);
  return p;
}
function recount(ds) {
  const list = samples.get(ds.id) ?? [];
  for (const s of list) s.labeled = s.labels.length > 0 || s.objects.length > 0;
  ds.sample_count = list.length; ds.labeled_count = list.filter((s) => s.labeled).length; ds.unlabeled_count = ds.sample_count - ds.labeled_count;
  for (const l of labels.get(ds.id) ?? []) l.count = list.filter((s) => s.labels.includes(l.name) || s.objects.some((o) => o.label === l.name)).length;
}
function version(p, name, status, extra = {}) {
  const v = { id: id(), name, status, progress: status === "completed" ? 1 : 0.1, phase: status === "running" ? "training" : null, queue_position: null, stopped_by_deadline: false,
    params: { train_ratio: 0.8, max_minutes: 60, preference: "balance", flavor: "cpu.free" }, metrics: null, evaluation: null, started_at: now(), finished_at: status === "completed" ? now() : null, created_at: now(), error: null, ...extra };
  versions.get(p.id).push(v);
  p.versions.push({ id: v.id, name, status });
  if (status === "completed") p.status = "completed";
  return v;
}
const byType = Object.fromEntries(types.map((t, i) => [t, addProject(t, ["flowers", "pets_det", "bank", "birds", "news"][i])]));
const curve = Array.from({ length: 21 }, (_, i) => { const t = i / 20; return { threshold: t, precision: 0.5 + 0.45 * t, recall: 1 - t * t, f1: 0.6 + 0.3 * Math.sin(Math.PI * t) * 0.8, tpr: 1 - t * t, fpr: (1 - t) * 0.6 }; });
version(byType.image_classification, "V001", "completed", { metrics: { accuracy: 0.91, precision: 0.9, recall: 0.89, f1: 0.895 },
  evaluation: { labels: ["cat", "dog", "向日葵"], per_class: [{ label: "cat", precision: 0.93, recall: 0.9, f1: 0.915, support: 30 }, { label: "dog", precision: 0.88, recall: 0.92, f1: 0.9, support: 25 }, { label: "向日葵", precision: 0.9, recall: 0.85, f1: 0.874, support: 20 }],
    confusion_matrix: [[27, 2, 1], [1, 23, 1], [2, 1, 17]] } });
version(byType.image_classification, "V002", "running", { progress: 0.2 });
version(byType.predictive_analytics, "V001", "completed", { metrics: { accuracy: 0.87, precision: 0.8, recall: 0.75, f1: 0.77 },
  evaluation: { threshold_curve: curve, tp: 120, fp: 30, fn: 40, tn: 310, feature_importance: [{ feature: "attr_1", importance: 0.4 }, { feature: "attr_2", importance: 0.25 }, { feature: "attr_3", importance: 0.1 }] } });
version(byType.object_detection, "V001", "completed", { metrics: { map50: 0.71, map50_95: 0.45, precision: 0.8, recall: 0.66 },
  evaluation: { per_class: [{ label: "cat", precision: 0.8, recall: 0.7, f1: 0.75, support: 12, ap: 0.72 }, { label: "dog", precision: 0.78, recall: 0.6, f1: 0.68, support: 9, ap: 0.66 }] } });
version(byType.sound_classification, "V001", "failed", { error: "Each class needs at least 5 samples." });
for (const t of ["image_classification", "object_detection", "predictive_analytics"]) {
  const p = byType[t], v = versions.get(p.id)[0];
  services.push({ id: id(), name: `${p.name}-${v.name}`, status: "running", url: "", stop_at: new Date(Date.now() + 3600e3).toISOString(), flavor: "cpu.free", model: { id: id(), name: `${p.name}-${v.name}` },
    project_id: p.id, version_id: v.id, task_type: t, invocation_times: 12, failed_times: 1, created_at: now(), error: null, api_example: "" });
}
const flavors = [
  { code: "gpu.ci1", name: "Compute-intensive 1 instance (GPU)", purpose: "train", device: "gpu", free: false, max_minutes: null, task_types: types.filter((t) => t !== "predictive_analytics") },
  { code: "gpu.free", name: "Free (GPU)", purpose: "train", device: "gpu", free: true, max_minutes: 60, task_types: types.filter((t) => t !== "predictive_analytics") },
  { code: "cpu.ci3", name: "Compute-intensive 3 instance (CPU)", purpose: "train", device: "cpu", free: false, max_minutes: null, task_types: types },
  { code: "cpu.free", name: "Free (CPU)", purpose: "deploy", device: "cpu", free: true, max_minutes: 60, task_types: types },
  { code: "cpu.ci3d", name: "Compute-intensive 3 instance (CPU)", purpose: "deploy", device: "cpu", free: false, max_minutes: null, task_types: types },
];

const page = (list, q) => {
  const size = Number(q.get("page_size") ?? 20), n = Number(q.get("page") ?? 1);
  return { count: list.length, next: null, previous: null, results: list.slice((n - 1) * size, n * size) };
};
const pub = (s) => { const { _i, ...rest } = s; return rest; };

async function handle(req, res, url, body) {
  const send = (code, data, headers = {}) => { res.writeHead(code, { "Content-Type": "application/json", ...headers }); res.end(data === undefined ? "" : JSON.stringify(data)); };
  const p = url.pathname, q = url.searchParams, m = req.method;
  if (p === "/api/v1/auth/csrf") return send(204, undefined, { "Set-Cookie": "csrftoken=mocktoken; Path=/" });
  if (p === "/api/v1/auth/login") { if (body?.password === "wrong") return send(400, { detail: "Invalid username or password." }); loggedIn = true; return send(200, me); }
  if (p === "/api/v1/auth/logout") { loggedIn = false; return send(204); }
  if (!loggedIn) return send(401, { detail: "Authentication credentials were not provided." });
  if (m !== "GET" && req.headers["x-csrftoken"] !== "mocktoken" && p.startsWith("/api/")) return send(403, { detail: "CSRF failed" });
  let r;
  if (p === "/api/v1/me") return send(200, me);
  if (p === "/api/v1/flavors") return send(200, flavors);
  if (p === "/api/v1/quotas") return send(200, { count: 2, next: null, previous: null, results: [
    { quota: "max_projects", limit: 20, used: projects.length }, { quota: "max_storage_bytes", limit: 10 * 1024 ** 3, used: 123456789 },
  ] });
  if (p === "/api/v1/usage") return send(200, [{ resource: "training flowers V001", flavor: "gpu.free", start: now(), end: now(), minutes: 12.5 }, { resource: "service flowers-V001", flavor: "cpu.free", start: now(), end: null, minutes: 30 }]);
  if (p === "/api/v1/models") return send(200, services.map((s) => ({ id: s.model.id, name: s.model.name, task_type: s.task_type, metrics: { accuracy: 0.9 }, size_bytes: 5_400_000, project_id: s.project_id, version_id: s.version_id, created_at: now() })));
  if (p === "/api/v1/storage/browse") {
    const path = q.get("path");
    return send(200, { path, folders: ["flowers/", "bank/", "new/"].map((f) => path + f), objects: path.endsWith("bank/") ? [{ path: path + "train.csv", size: 20480, mtime: now() }] : [{ path: path + "readme.txt", size: 12, mtime: now() }] });
  }
  if (p === "/api/v1/storage/folders") return send(201, { path: body.path });
  if (p === "/api/v1/projects" && m === "GET") {
    let list = projects.filter((x) => (!q.get("search") || x.name.includes(q.get("search"))) && (!q.get("type") || x.type === q.get("type")));
    return send(200, page(list, q));
  }
  if (p === "/api/v1/projects" && m === "POST") {
    if (projects.some((x) => x.name === body.name)) return send(400, { name: ["A project with this name exists."] });
    const np = addProject(body.type, body.name); np.description = body.description; np.status = "not_started";
    return send(201, np);
  }
  if ((r = /^\/api\/v1\/projects\/([^/]+)$/.exec(p))) {
    const pr = projects.find((x) => x.id === r[1]); if (!pr) return send(404, { detail: "Not found." });
    if (m === "DELETE") { projects.splice(projects.indexOf(pr), 1); return send(204); }
    if (m === "PATCH") { if (body.label_type === "continuous" && body.label_column === "attr_2") return send(400, { label_type: ["attr_2 is not numeric."] }); Object.assign(pr, body); return send(200, pr); }
    return send(200, pr);
  }
  if ((r = /^\/api\/v1\/projects\/([^/]+)\/train-check$/.exec(p))) {
    const pr = projects.find((x) => x.id === r[1]);
    return send(200, pr.type === "sound_classification" ? { ok: false, reasons: ["Label at least 2 classes with at least 5 samples each (dog has 2)."] } : { ok: true, reasons: [] });
  }
  if ((r = /^\/api\/v1\/projects\/([^/]+)\/train$/.exec(p))) {
    const pr = projects.find((x) => x.id === r[1]);
    return send(202, version(pr, `V${String(versions.get(pr.id).length + 1).padStart(3, "0")}`, "queued", { queue_position: 1, params: body }));
  }
  if ((r = /^\/api\/v1\/projects\/([^/]+)\/versions$/.exec(p))) return send(200, versions.get(r[1]) ?? []);
  if ((r = /^\/api\/v1\/projects\/([^/]+)\/versions\/([^/]+)(\/\w+)?$/.exec(p))) {
    const v = (versions.get(r[1]) ?? []).find((x) => x.id === r[2] || x.name === r[2]); if (!v) return send(404, { detail: "Not found." });
    if (r[3] === "/stop") { v.status = "stopped"; return send(200, v); }
    if (r[3] === "/logs") return send(200, { lines: [`${now()} phase=prepare`, `${now()} epoch 1 loss=0.9`, `${now()} progress ${v.progress.toFixed(2)}`] });
    if (r[3] === "/deploy") {
      const pr = projects.find((x) => x.id === r[1]);
      const s = { id: id(), name: `${pr.name}-${v.name}`, status: "deploying", url: "", stop_at: body.auto_stop.enabled ? new Date(Date.now() + body.auto_stop.hours * 3600e3).toISOString() : null, flavor: body.flavor, model: { id: id(), name: `${pr.name}-${v.name}` }, project_id: pr.id, version_id: v.id, task_type: pr.type, invocation_times: 0, failed_times: 0, created_at: now(), error: null, api_example: "", _polls: 0 };
      services.push(s); return send(202, s);
    }
    if (v.status === "queued") v.status = "running";
    if (v.status === "running") { v.progress = Math.min(1, v.progress + 0.15); v.phase = v.progress < 0.5 ? "training" : "evaluating"; if (v.progress >= 1) { v.status = "completed"; v.metrics = { accuracy: 0.8 }; } }
    return send(200, v);
  }
  if (p === "/api/v1/datasets") return send(200, page(datasets.filter((d) => !q.get("type") || d.type === q.get("type")), q));
  if ((r = /^\/api\/v1\/jobs\/([^/]+)$/.exec(p))) {
    const j = jobs.get(r[1]); j.progress = Math.min(1, j.progress + 0.34); j.status = j.progress >= 1 ? "succeeded" : "running";
    if (j.status === "succeeded") { j.counts = { added: 3, skipped: 1, rejected: 2 }; j.errors = [{ file: "bad photo.jpg", reason: "File names may not contain spaces." }, { file: "broken.png", reason: "Damaged image." }]; }
    return send(200, j);
  }
  if ((r = /^\/api\/v1\/datasets\/([^/]+)(\/.*)?$/.exec(p))) {
    const ds = datasets.find((d) => d.id === r[1]); if (!ds) return send(404, { detail: "Not found." });
    const rest = r[2] ?? "", list = samples.get(ds.id), lab = labels.get(ds.id);
    if (rest === "") { if (m === "DELETE") { datasets.splice(datasets.indexOf(ds), 1); return send(204); } return send(200, ds); }
    if (rest === "/sync") { const j = { id: id(), kind: "sync", status: "queued", progress: 0, counts: {}, errors: [], created_at: now(), finished_at: null }; jobs.set(j.id, j); return send(202, j); }
    if (rest === "/preview") {
      const cols = ["attr_1", "attr_2", "attr_3", "attr_4", "attr_5"];
      return send(200, { columns: cols.map((c, i) => ({ name: c, kind: i === 1 || i === 3 ? "categorical" : "numeric", distinct: i === 4 ? 1 : 40 + i, missing_share: i === 2 ? 0.05 : 0, valid: i !== 4, reason: i === 4 ? "single-valued column" : null })),
        rows: Array.from({ length: 25 }, (_, i) => [20 + i, ["management", "technician", "blue-collar"][i % 3], 1000 + i * 37, i % 4 ? "no" : "yes", 1]), stats: { rows: 4521, valid_rows: 4500, distinct_rows: 4400 } });
    }
    if (rest === "/label-stats") return send(200, { labels: lab.map((l) => ({ name: l.name, count: l.count })), labeled: ds.labeled_count, unlabeled: ds.unlabeled_count });
    if (rest === "/labels" && m === "GET") return send(200, lab);
    if (rest === "/labels" && m === "POST") { if (lab.some((l) => l.name === body.name)) return send(400, { name: ["exists"] }); const l = { name: body.name, color: body.color ?? "#888888", shortcut: body.shortcut ?? null, count: 0 }; lab.push(l); return send(201, l); }
    let lm;
    if ((lm = /^\/labels\/(.+)$/.exec(rest))) {
      const name = decodeURIComponent(lm[1]); const l = lab.find((x) => x.name === name); if (!l) return send(404, { detail: "Not found." });
      if (m === "DELETE") {
        lab.splice(lab.indexOf(l), 1);
        for (const s of [...list]) { const only = s.labels.length === 1 && s.labels[0] === name; s.labels = s.labels.filter((x) => x !== name); s.objects = s.objects.filter((o) => o.label !== name); if (only && q.get("mode") !== "label_only") list.splice(list.indexOf(s), 1); }
        recount(ds); return send(204);
      }
      if (body.name && body.name !== name) for (const s of list) { s.labels = s.labels.map((x) => (x === name ? body.name : x)); s.objects.forEach((o) => { if (o.label === name) o.label = body.name; }); }
      Object.assign(l, body); recount(ds); return send(200, l);
    }
    if (rest === "/annotations/batch") {
      for (const s of list.filter((x) => body.sample_ids.includes(x.id))) { s.labels = [...new Set([...s.labels, ...body.add])].filter((x) => !body.remove.includes(x)); s.revision++; }
      recount(ds); return send(200, { updated: body.sample_ids.length });
    }
    if (rest === "/samples/delete") { samples.set(ds.id, list.filter((s) => !body.ids.includes(s.id))); recount(ds); return send(204); }
    if (rest === "/samples" && m === "GET") {
      let l2 = list;
      if (q.get("labeled")) l2 = l2.filter((s) => s.labeled === (q.get("labeled") === "true"));
      if (q.get("label")) l2 = l2.filter((s) => s.labels.includes(q.get("label")) || s.objects.some((o) => o.label === q.get("label")));
      const pg = page(l2, q); pg.results = pg.results.map(pub); return send(200, pg);
    }
    if (rest === "/samples" && m === "POST") return send(201, { accepted: [{ file: "a.jpg", id: id() }], rejected: [] });
    let sm;
    if ((sm = /^\/samples\/([^/]+)(\/\w+)?$/.exec(rest))) {
      const s = list.find((x) => x.id === sm[1]); if (!s) return send(404, { detail: "Not found." });
      if (sm[2] === "/content") {
        if (ds.type === "sound_classification") { res.writeHead(200, { "Content-Type": "audio/wav" }); return res.end(WAV); }
        res.writeHead(200, { "Content-Type": "image/svg+xml" }); return res.end(svgImage(s._i));
      }
      if (sm[2] === "/annotations") {
        // Every 7th sample simulates a colleague's edit on the first save attempt.
        if (s._i % 7 === 3 && !s._conflicted) { s._conflicted = true; s.revision++; s.labels = ["dog"]; recount(ds); }
        if (String(s.revision) !== req.headers["if-match"]) return send(409, { detail: "The sample changed meanwhile.", status: "conflict", current: pub(s) });
        if (body.labels) s.labels = body.labels; if (body.objects) s.objects = body.objects; s.revision++; recount(ds); return send(200, pub(s));
      }
      return send(200, pub(s));
    }
  }
  if (p === "/api/v1/services") return send(200, services.map(tickService));
  if ((r = /^\/api\/v1\/services\/([^/]+)(\/\w+)?$/.exec(p))) {
    const s = services.find((x) => x.id === r[1]); if (!s) return send(404, { detail: "Not found." });
    if (r[2] === "/metrics") return send(200, { calls: s.invocation_times, failures: s.failed_times, latency_ms: { p50: 12.3, p95: 40.1, p99: 88 }, last_hour: {} });
    if (r[2] === "/stop") { s.status = "stopped"; return send(200, s); }
    if (r[2] === "/start") { s.status = "deploying"; s._polls = 0; return send(200, s); }
    if (m === "DELETE") { services.splice(services.indexOf(s), 1); return send(204); }
    return send(200, tickService(s));
  }
  if ((r = /^\/v1\/infers\/([^/]+)$/.exec(p))) {
    const s = services.find((x) => x.id === r[1]); if (!s) return send(404, { detail: "Not found." });
    if (s.status !== "running") return send(409, { detail: "Service is not running.", status: s.status });
    s.invocation_times++;
    if (s.task_type === "object_detection") return send(200, { detection_classes: ["cat", "dog"], detection_boxes: [[50, 60, 200, 260], [120, 300, 400, 600]], detection_scores: [0.93, 0.71] });
    if (s.task_type === "image_classification") return send(200, { predicted_label: "cat", scores: [["cat", "0.912"], ["dog", "0.070"], ["向日葵", "0.018"]] });
    if (s.task_type === "predictive_analytics") return send(200, { resp_data: (body?.data?.req_data ?? []).map((x) => ({ ...x, predictioncol: "yes" })) });
    return send(200, { predicted_label: "cat", score: 0.97 });
  }
  return send(404, { detail: `No mock for ${m} ${p}` });
}
function tickService(s) { if (s.status === "deploying" && ++s._polls > 2) s.status = "running"; const { _polls, ...rest } = s; return rest; }

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/v1/")) {
    const chunks = []; for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString();
    let body; try { body = raw && (req.headers["content-type"] ?? "").includes("json") ? JSON.parse(raw) : undefined; } catch { body = undefined; }
    try { await handle(req, res, url, body); } catch (e) { console.error(e); res.writeHead(500); res.end(String(e)); }
    return;
  }
  // SPA: real files from dist/, index.html for every client route.
  const file = url.pathname.startsWith("/assets/") ? join(DIST, url.pathname) : join(DIST, "index.html");
  try { const data = await readFile(file); res.writeHead(200, { "Content-Type": MIME[extname(file)] ?? "application/octet-stream" }); res.end(data); }
  catch { res.writeHead(404); res.end("not found"); }
}).listen(PORT, "127.0.0.1", () => console.log(`mock ExeML on http://127.0.0.1:${PORT}`));
