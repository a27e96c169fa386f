import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The console is served by Django at "/": dist/index.html for client routes and
// dist/assets/* at /assets/…. In dev, API calls go to a local Django on :8000.
const backend = process.env.EXEML_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false },
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/v1": { target: backend, changeOrigin: false },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
