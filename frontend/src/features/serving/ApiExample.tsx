import { Link } from "react-router-dom";
import type { Service } from "../../api/types";
import { CopyButton } from "../../components/ui";

export function curlExample(service: Pick<Service, "id" | "url" | "task_type">, origin: string): string {
  const url = service.url?.startsWith("http") ? service.url : `${origin}${service.url || `/v1/infers/${service.id}`}`;
  const head = `curl -X POST "${url}" \\\n  -H "X-Auth-Token: $EXEML_TOKEN"`;
  switch (service.task_type) {
    case "image_classification":
    case "object_detection":
      return `${head} \\\n  -F "images=@image.jpg"`;
    case "sound_classification":
      return `${head} \\\n  -F "files=@clip.wav"`;
    case "text_classification":
      return `${head} \\\n  -H "Content-Type: application/json" \\\n  -d '{"text": "text to classify"}'`;
    default:
      return `${head} \\\n  -H "Content-Type: application/json" \\\n  -d '{"data": {"count": 1, "req_data": [{"attr_1": "58"}]}}'`;
  }
}

export function ApiExample({ service }: { service: Service }) {
  const text = service.api_example || curlExample(service, window.location.origin);
  return (
    <section className="panel" data-testid="api-example">
      <div className="toolbar">
        <h3>API call</h3>
        <span className="spacer" />
        <CopyButton text={text} testId="api-example-copy" />
      </div>
      <p className="muted small">
        Create a token on the <Link to="/tokens" data-testid="api-example-tokens">API tokens</Link> page (or with{" "}
        <span className="mono">POST /api/v1/auth/token</span>) and send it as <span className="mono">X-Auth-Token</span>.
      </p>
      <pre className="code" data-testid="api-example-text">{text}</pre>
    </section>
  );
}
