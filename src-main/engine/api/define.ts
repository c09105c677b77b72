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

/** The kind of engine a host runs: one CLI command's, or one that stays up (the app, `lathe ui`, `lathe serve`). */
export type HostKind = 'one-shot' | 'long-lived'

/**
 * A background part of a capability (a queue, a listener, a timer), declared next to its
 * operations the way Actual's `app.service` is, and started once by the engine for the
 * kinds of engine it names. No operation handler starts one. `start` registers its own
 * disposal with `ctx.onClose`.
 */
export interface Service {
  name: string
  runsIn: 'always' | HostKind
  start(ctx: EngineContext): void
}

export function defineServices(...services: Service[]): Service[] {
  return services
}

/** Groups a capability's operations and checks that every name carries its prefix. */
export function defineOperations<P extends string, M extends Record<`${P}.${string}`, Operation<any, any>>>(prefix: P, ops: M): M {
  for (const name of Object.keys(ops)) {
    if (!name.startsWith(`${prefix}.`)) throw new Error(`operation ${name} must start with "${prefix}."`)
  }
  return ops
}
