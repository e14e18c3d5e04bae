import type { Migration } from './types.js';

/**
 * Erasure requests and the operations in flight.
 *
 * - requests: lifecycle received → computing → applied → verified, or failed / rejected with a
 *   reason. `subject_hash` is HMAC-SHA256(per-database salt, subject reference): the reference
 *   itself is never stored. Dates are ISO 8601 (UTC).
 * - request_samples: each named sample by id, its row in the registered dataset and the SHA-256
 *   of its feature bytes (never the features).
 * - request_sweep: one row per ε evaluated.
 * - operations: a lease per process that is writing artefacts (pid, host, the files it may
 *   create), so that what a killed process left behind can be found and removed.
 */
export const migration0003: Migration = {
  version: 3,
  name: '0003-requests',
  up(db) {
    db.exec(`
      CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('received', 'computing', 'applied', 'verified', 'failed', 'rejected')),
        model_ref TEXT NOT NULL,
        model_id INTEGER REFERENCES models (id),
        result_model_id INTEGER UNIQUE REFERENCES models (id),
        subject_hash TEXT,
        legal_ground TEXT,
        received_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        entered_by TEXT NOT NULL,
        removal_source TEXT,
        removal_sha256 TEXT,
        k INTEGER,
        method TEXT NOT NULL,
        settings TEXT NOT NULL,
        certification_id INTEGER REFERENCES certifications (id),
        epsilon REAL,
        epsilon_source TEXT,
        gamma_S REAL,
        normalized_distance REAL,
        metrics TEXT,
        timings TEXT,
        reason TEXT,
        updated_at TEXT NOT NULL,
        CHECK ((status IN ('failed', 'rejected')) = (reason IS NOT NULL)),
        CHECK ((status IN ('applied', 'verified')) = (result_model_id IS NOT NULL))
      ) STRICT;

      CREATE TABLE request_samples (
        request_id INTEGER NOT NULL REFERENCES requests (id),
        sample_id TEXT NOT NULL,
        row_index INTEGER NOT NULL CHECK (row_index >= 0),
        features_sha256 TEXT NOT NULL,
        PRIMARY KEY (request_id, sample_id)
      ) STRICT;

      CREATE TABLE request_sweep (
        request_id INTEGER NOT NULL REFERENCES requests (id),
        epsilon REAL NOT NULL,
        gamma_S REAL,
        normalized_distance REAL,
        accuracy_removed REAL,
        accuracy_retained REAL,
        accuracy_test REAL,
        mean_abs_accuracy_difference REAL,
        PRIMARY KEY (request_id, epsilon)
      ) STRICT;

      CREATE TABLE operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        request_id INTEGER REFERENCES requests (id),
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started_at TEXT NOT NULL,
        planned_paths TEXT NOT NULL DEFAULT '[]'
      ) STRICT;

      CREATE INDEX requests_by_model ON requests (model_id);
      CREATE INDEX requests_by_status ON requests (status);
    `);
  },
};
