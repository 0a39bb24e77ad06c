import type { ComponentChildren } from "preact";

export function Alert({ tone = "error", children }: { tone?: "error" | "info" | "success" | "warning"; children: ComponentChildren }) {
  if (!children) return null;
  return (
    <div class={`alert alert-${tone}`} role={tone === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}
