/** The measurements of an erasure (SSSE.md, "Measuring an erasure"). Pure TypeScript, float64. */
export { auc, attributeAucs } from './auc.js';
export { aucDistance, similarityRatio } from './similarity.js';
export type { SimilarityRatio } from './similarity.js';
export { l2Distance, normalizedDistance } from './distance.js';
export {
  attributeAccuracy,
  perAttributeAccuracy,
  classAccuracy,
  perClassAccuracy,
  argmaxRows,
  meanAbsoluteDifference,
} from './accuracy.js';
