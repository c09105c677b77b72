import { z } from 'zod'

/**
 * What a model takes and gives, shared by training (ONNX export), the registry
 * (versions, imported ONNX), serving (request validation) and the UI ("try it").
 *
 * Models trained by Lathe take one ONNX input per raw feature column, shape [N, 1]:
 * `float32` for numeric columns (missing = NaN) and `string` for categorical ones
 * (missing = ""). Outputs: classification `label` (string [N]) and `probabilities`
 * (float32 [N, C], C = classes.length, in `classes` order); regression `prediction`
 * (float32 [N, 1]). Imported ONNX models may have any tensors; their signature is
 * read from the graph and `columns` is null.
 */
export const TensorSpec = z.object({
  name: z.string(),
  /** ONNX element type: float32, float64, int64, int32, string, bool, ... */
  dtype: z.string(),
  /** null for a dynamic dimension (the batch). */
  shape: z.array(z.number().int().nullable()),
})
export type TensorSpec = z.infer<typeof TensorSpec>

export const ColumnSpec = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  /** The dataset column's DuckDB type, for people and for the "try it" form. */
  sourceType: z.string(),
  nullable: z.boolean(),
  /** Categorical vocabulary seen in training (for forms and drift), when known. */
  categories: z.array(z.string()).optional(),
  /** Numeric columns: the smallest and largest value in the training split (serving flags values outside it). */
  range: z.object({ min: z.number(), max: z.number() }).optional(),
})
export type ColumnSpec = z.infer<typeof ColumnSpec>

export const ModelSignature = z.object({
  inputs: z.array(TensorSpec),
  outputs: z.array(TensorSpec),
  /** Tabular models: one entry per raw feature column, in input order. */
  columns: z.array(ColumnSpec).nullable(),
  task: z.enum(['classification', 'regression']).nullable(),
  target: z.string().nullable(),
  classes: z.array(z.string()).nullable(),
})
export type ModelSignature = z.infer<typeof ModelSignature>
