import { z } from 'zod'

/**
 * What each stage kind takes in `lathe.yaml`, as zod schemas: the parser reports the
 * first problem at the line of the offending key. Settings use the file's
 * snake_case (`learning_rate`); the stages map them onto the other capabilities' specs.
 */

export const STAGE_KINDS = ['import', 'sql', 'split', 'train', 'sweep', 'promote', 'drift'] as const
export type StageKind = (typeof STAGE_KINDS)[number]

const Ref = z.string().min(1, 'name a stage')
const Fraction = z.number().min(0).max(1)

const SplitSettings = z
  .object({
    method: z.enum(['random', 'stratified', 'time']).optional(),
    seed: z.number().int().optional(),
    train: Fraction.optional(),
    validation: Fraction.optional(),
    test: Fraction.optional(),
    column: z.string().min(1).optional(),
  })
  .strict()
export type SplitSettings = z.infer<typeof SplitSettings>

const TrainSettings = z
  .object({
    dataset: Ref,
    target: z.string().min(1),
    task: z.enum(['classification', 'regression']).optional(),
    features: z.array(z.string().min(1)).min(1).optional(),
    exclude: z.array(z.string().min(1)).optional(),
    model: z.enum(['mlp', 'linear']).optional(),
    epochs: z.number().int().min(1).max(10_000).optional(),
    hidden: z.array(z.number().int().min(1).max(4096)).max(8).optional(),
    activation: z.enum(['relu', 'tanh', 'sigmoid']).optional(),
    dropout: z.number().min(0).max(0.9).optional(),
    l2: z.number().min(0).max(10).optional(),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).optional(),
    learning_rate: z.number().positive().max(10).optional(),
    batch_size: z.number().int().min(1).max(1_000_000).optional(),
    early_stopping: z
      .object({ metric: z.string().optional(), patience: z.number().int().min(1).optional() })
      .strict()
      .optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    backend: z.string().min(1).optional(),
    /** How to split when `dataset` is not a split stage. */
    split: SplitSettings.optional(),
    allow_invalid_data: z.boolean().optional(),
    /** Train a classifier on a target with more than 100 distinct values (refused otherwise). */
    allow_many_classes: z.boolean().optional(),
  })
  .strict()
export type TrainSettings = z.infer<typeof TrainSettings>

const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a model name is letters, digits, ".", "-" or "_"')

const ImportStage = z
  .object({
    import: z.union([z.string().min(1), z.object({ labelled_traffic: ModelName, last: z.number().int().positive().optional() }).strict()]).optional(),
    /** `labelled_traffic: MODEL` with `last: N` may also sit on the stage itself. */
    labelled_traffic: ModelName.optional(),
    last: z.number().int().positive().optional(),
    /** A JSON file of validation rules (relative to the pipeline file); a failed rule fails the stage. */
    rules: z.string().min(1).optional(),
    /** CSV reading options, as `lathe data import` takes them. */
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((s) => (s.import === undefined) !== (s.labelled_traffic === undefined), {
    message: 'give `import: FILE` or `labelled_traffic: MODEL`, not both',
  })
  .refine((s) => s.last === undefined || s.labelled_traffic !== undefined, { message: '`last` goes with `labelled_traffic`', path: ['last'] })

const GateSettings = z
  .object({
    min: z.record(z.string(), z.number()).optional(),
    max: z.record(z.string(), z.number()).optional(),
    /** A metric (`accuracy`, `rmse`; `primary` or `true` for the task's own), or `{metric, tolerance}`; false for none. */
    not_worse_than: z
      .union([z.string().min(1), z.boolean(), z.object({ metric: z.string().min(1), tolerance: z.number().min(0).optional() }).strict()])
      .optional(),
    signature: z.boolean().optional(),
    data_validation: z.boolean().optional(),
  })
  .strict()
export type GateSettings = z.infer<typeof GateSettings>

export const stageSchemas = {
  import: ImportStage,
  sql: z.object({ sql: z.string().min(1, 'write a SELECT over earlier stages') }).strict(),
  split: z.object({ split: SplitSettings.extend({ dataset: Ref }).strict() }).strict(),
  train: z.object({ train: TrainSettings, register: ModelName.optional() }).strict(),
  sweep: z
    .object({
      sweep: TrainSettings.extend({
        space: z.record(z.string(), z.array(z.unknown()).min(1)),
        /** The validation metric the best trial is kept by (`accuracy`, `loss`, `rmse`, ...). */
        metric: z.string().min(1),
        method: z.enum(['grid', 'random']).optional(),
        trials: z.number().int().min(1).max(200).optional(),
      }).strict(),
      register: ModelName.optional(),
    })
    .strict(),
  promote: z
    .object({
      promote: z
        .object({
          model: Ref,
          alias: z
            .string()
            .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'an alias is lowercase letters, digits, "-" or "_"')
            .default('production'),
        })
        .strict(),
      gate: GateSettings.optional(),
    })
    .strict(),
  drift: z
    .object({
      drift: z
        .object({
          reference: Ref,
          current: Ref,
          features: z.array(z.string().min(1)).min(1).optional(),
          drift_share: Fraction.optional(),
          /** Fail the pipeline when the dataset drifts (the default); false records it only. */
          fail: z.boolean().optional(),
        })
        .strict(),
    })
    .strict(),
} satisfies Record<StageKind, z.ZodType>

export type StageSpecs = { [K in StageKind]: z.output<(typeof stageSchemas)[K]> }
