import type { Migration } from './types.js';

/**
 * Datasets, models and their artefacts.
 *
 * - datasets: the training data as used (after any row limits), identified by `fingerprint`, the
 *   SHA-256 of its features and labels; dataset_files holds each source file's SHA-256 and size.
 * - artefacts: files kept next to the database (`<db>.artefacts/`), by path relative to that
 *   folder, with SHA-256 and size; parameters and Fisher inverses.
 * - models: versions with parent links. Version 1 is trained or imported; an erasure produces
 *   the next version, whose parent is the version it was erased from.
 * - certifications: a Fisher inverse per model version and settings; calibrations: the ε chosen
 *   for a certification by a simulated erasure verified against retraining.
 */
export const migration0002: Migration = {
  version: 2,
  name: '0002-registry',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        dir TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('npy', 'idx')),
        n INTEGER NOT NULL CHECK (n >= 1),
        d INTEGER NOT NULL CHECK (d >= 1),
        attributes INTEGER NOT NULL CHECK (attributes >= 1),
        attribute_names TEXT NOT NULL,
        test_n INTEGER,
        limit_train INTEGER,
        limit_test INTEGER,
        registered_at TEXT NOT NULL,
        registered_by TEXT NOT NULL
      ) STRICT;

      CREATE TABLE dataset_files (
        dataset_id INTEGER NOT NULL REFERENCES datasets (id),
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (dataset_id, path)
      ) STRICT;

      CREATE TABLE artefacts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('parameters', 'fisher-inverse')),
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL CHECK (bytes >= 0),
        format TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        parent_id INTEGER REFERENCES models (id),
        dataset_id INTEGER NOT NULL REFERENCES datasets (id),
        origin TEXT NOT NULL CHECK (origin IN ('trained', 'imported', 'erasure')),
        architecture TEXT NOT NULL,
        d INTEGER NOT NULL,
        attributes INTEGER NOT NULL,
        l2 REAL NOT NULL,
        seed INTEGER NOT NULL,
        training TEXT NOT NULL,
        backend TEXT NOT NULL,
        backend_provider TEXT NOT NULL,
        parameters_id INTEGER NOT NULL REFERENCES artefacts (id),
        parameters_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (name, version),
        CHECK ((origin = 'erasure') = (parent_id IS NOT NULL))
      ) STRICT;

      CREATE TABLE certifications (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models (id),
        curvature TEXT NOT NULL CHECK (curvature IN ('empirical', 'expected')),
        damping REAL NOT NULL CHECK (damping > 0),
        method TEXT NOT NULL,
        blocks TEXT NOT NULL,
        minibatch INTEGER NOT NULL CHECK (minibatch >= 1),
        terms INTEGER NOT NULL,
        fisher_id INTEGER NOT NULL REFERENCES artefacts (id),
        backend TEXT NOT NULL,
        seconds REAL NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (model_id, curvature, damping, method)
      ) STRICT;

      CREATE TABLE calibrations (
        id INTEGER PRIMARY KEY,
        certification_id INTEGER NOT NULL REFERENCES certifications (id),
        epsilon REAL NOT NULL,
        rule TEXT NOT NULL,
        gamma_S REAL,
        removal_fraction REAL NOT NULL,
        k INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        sweep TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      ) STRICT;

      CREATE INDEX models_by_dataset ON models (dataset_id);
      CREATE INDEX certifications_by_model ON certifications (model_id);
    `);
  },
};
