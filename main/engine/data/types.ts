/** One split of a dataset: features and binary attribute labels, both row-major. */
export interface Split {
  /** Number of samples (rows). */
  n: number;
  /** n×d features, row-major. float64 inputs are converted to float32 (tfjs computes in float32). */
  features: Float32Array;
  /** n×A binary labels (0/1), row-major. */
  labels: Uint8Array;
  /** n integer class ids when the labels were given as classes (one-vs-rest attributes), else null. */
  classIds: Int32Array | null;
}

/** Where a dataset came from: each file read, with its SHA-256, so reports can fingerprint it. */
export interface SourceFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Dataset {
  /** The folder it was read from (as given). */
  dir: string;
  /** 'npy' for the features.npy/labels.npy layout, 'idx' for Fashion-MNIST/MNIST IDX files. */
  format: 'npy' | 'idx';
  /** Number of features. */
  d: number;
  /** Number of binary attributes. */
  A: number;
  /** Attribute names, length A: "class 3" for one-vs-rest classes, "attribute 7" otherwise. */
  attributeNames: string[];
  /** Number of classes when labels are class ids, else null. */
  numClasses: number | null;
  train: Split;
  /** Unique sample id per training row (ids.txt, or the row index as a decimal string). */
  ids: string[];
  /** Held-out test split when present. */
  test: Split | null;
  files: SourceFile[];
}
