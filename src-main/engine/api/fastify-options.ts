import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

/** `require` as fastify itself resolves it: its compilers are its dependencies, not Lathe's. */
const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))

/**
 * fastify's `schemaController` option, with its default JSON-schema compilers (ajv and
 * fast-json-stringify) required the first time a route declares a JSON schema instead of
 * when the server is built. Lathe's routes validate with zod and declare none, so a start
 * never loads them: about 90 ms of every engine start, which every CLI command pays.
 */
export const schemaCompilersOnDemand: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: (...args: unknown[]) => requireFromFastify('@fastify/ajv-compiler')()(...args),
    buildSerializer: (...args: unknown[]) => requireFromFastify('@fastify/fast-json-stringify-compiler')()(...args),
  },
}
