export { evaluateOnTestSplit } from './evaluate.js'
export { primaryMetric } from './gates.js'
export { findVersion } from './resolve.js'
export { largerIsBetter } from './upstream.js'
