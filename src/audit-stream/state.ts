/**
 * What the tenant's object knows of its audit stream (its SQLite storage, one row): the
 * cursor (the last seq the receiver acknowledged with a 2xx), the replay it applied last,
 * the consecutive failures and when the next attempt is due, the last error (a status and a
 * short summary, never a token or a response body beyond that summary), and whether the
 * stream was active when last read from D1 (so a drain enqueues a delivery only then).
 */
export type StreamState = {
  cursor: number;
  appliedReplay: string | null;
  /** The D1 row's updatedAt last seen: a change of the owner's (resume, new endpoint) ends a backoff. */
  configSeen: number;
  failures: number;
  nextAttemptAt: number;
  lastErrorStatus: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastDeliveredAt: number | null;
  active: boolean;
};

const DDL = `CREATE TABLE IF NOT EXISTS audit_stream_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor INTEGER NOT NULL DEFAULT 0,
  applied_replay TEXT,
  config_seen INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error_status INTEGER,
  last_error TEXT,
  last_error_at INTEGER,
  last_delivered_at INTEGER,
  active INTEGER NOT NULL DEFAULT 0
)`;

type Row = {
  cursor: number;
  applied_replay: string | null;
  config_seen: number;
  failures: number;
  next_attempt_at: number;
  last_error_status: number | null;
  last_error: string | null;
  last_error_at: number | null;
  last_delivered_at: number | null;
  active: number;
};

export function openStreamState(storage: DurableObjectStorage) {
  storage.sql.exec(DDL);
  return {
    read(): StreamState {
      const [row] = storage.sql.exec<Row>("SELECT * FROM audit_stream_state WHERE id = 1").toArray();
      return {
        cursor: row?.cursor ?? 0,
        appliedReplay: row?.applied_replay ?? null,
        configSeen: row?.config_seen ?? 0,
        failures: row?.failures ?? 0,
        nextAttemptAt: row?.next_attempt_at ?? 0,
        lastErrorStatus: row?.last_error_status ?? null,
        lastError: row?.last_error ?? null,
        lastErrorAt: row?.last_error_at ?? null,
        lastDeliveredAt: row?.last_delivered_at ?? null,
        active: row?.active === 1,
      };
    },
    write(s: StreamState): void {
      storage.sql.exec(
        `INSERT INTO audit_stream_state (id, cursor, applied_replay, config_seen, failures, next_attempt_at, last_error_status, last_error, last_error_at, last_delivered_at, active)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, applied_replay = excluded.applied_replay, config_seen = excluded.config_seen,
           failures = excluded.failures, next_attempt_at = excluded.next_attempt_at, last_error_status = excluded.last_error_status,
           last_error = excluded.last_error, last_error_at = excluded.last_error_at, last_delivered_at = excluded.last_delivered_at, active = excluded.active`,
        s.cursor,
        s.appliedReplay,
        s.configSeen,
        s.failures,
        s.nextAttemptAt,
        s.lastErrorStatus,
        s.lastError,
        s.lastErrorAt,
        s.lastDeliveredAt,
        s.active ? 1 : 0,
      );
    },
  };
}

export type StreamStateStore = ReturnType<typeof openStreamState>;
