/**
 * Notes, kept per tenant in the isolate's memory: enough for a demo (they vanish when the
 * isolate does). Every read and write takes the tenant from the verified assertion, so one
 * tenant's note id is simply not found in another tenant's map.
 */
export type Note = { id: string; text: string; createdBy: string; actedBy: string | null; createdAt: string };

export const MAX_NOTES_PER_TENANT = 200;

export class NoteStore {
  private readonly byTenant = new Map<string, Map<string, Note>>();

  list(tenantId: string): Note[] {
    return [...(this.byTenant.get(tenantId)?.values() ?? [])];
  }

  /** Null when the tenant already holds MAX_NOTES_PER_TENANT notes. */
  add(tenantId: string, note: Omit<Note, "id">): Note | null {
    let notes = this.byTenant.get(tenantId);
    if (!notes) {
      notes = new Map();
      this.byTenant.set(tenantId, notes);
    }
    if (notes.size >= MAX_NOTES_PER_TENANT) return null;
    const created = { id: crypto.randomUUID(), ...note };
    notes.set(created.id, created);
    return created;
  }

  get(tenantId: string, id: string): Note | null {
    return this.byTenant.get(tenantId)?.get(id) ?? null;
  }

  delete(tenantId: string, id: string): boolean {
    return this.byTenant.get(tenantId)?.delete(id) ?? false;
  }
}
