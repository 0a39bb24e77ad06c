import { signal } from "@preact/signals";

export type Toast = { id: number; text: string; tone: "success" | "error" };
export const toasts = signal<Toast[]>([]);
let nextId = 1;

export function toast(text: string, tone: Toast["tone"] = "success"): void {
  const id = nextId++;
  toasts.value = [...toasts.value, { id, text, tone }];
  setTimeout(() => dismissToast(id), 6000);
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
