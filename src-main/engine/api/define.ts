import type { z } from 'zod'
import type { EngineContext } from '../context.js'

/**
 * One operation of the contract: a dotted name, zod schemas for what goes in and
 * what comes out, and the handler. Capabilities declare these in their own
 * `operations.ts`; the transports only ever see the composed map.
 */
export interface Operation<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  summary: string
  input: I
  output: O
  handler: (input: z.output<I>, ctx: EngineContext) => Promise<z.input<O>> | z.input<O>
}

export function defineOperation<I extends z.ZodType, O extends z.ZodType>(op: Operation<I, O>): Operation<I, O> {
  return op
}

/** Groups a capability's operations and checks that every name carries its prefix. */
export function defineOperations<P extends string, M extends Record<`${P}.${string}`, Operation<any, any>>>(
  prefix: P,
  ops: M,
): M {
  for (const name of Object.keys(ops)) {
    if (!name.startsWith(`${prefix}.`)) throw new Error(`operation ${name} must start with "${prefix}."`)
  }
  return ops
}
