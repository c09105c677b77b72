export { describeOnnx } from './onnx.js'
export type { OnnxDescription } from './onnx.js'
export { promote } from './promotion.js'
export { addVersion, checkModelName } from './service.js'
