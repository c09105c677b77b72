import fs from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Counter } from 'prom-client'
import { z } from 'zod'
import { LatheError } from '../../engine/api/common/errors.js'
import { parseInput } from '../../engine/api/index.js'
import type { Principal } from '../accounts.js'
import type { TeamContext, TeamModule } from '../context.js'
import { migration003 } from '../migrations/index.js'

/**
 * Blobs: `HEAD|GET /blobs/sha256/<hash>` (GET answers `Range`), and resumable uploads
 * in the tus manner: `POST /blobs/uploads` {sha256, size, project} creates (or finds)
 * the upload, `PATCH /blobs/uploads/<id>` appends at `Upload-Offset`, `HEAD` tells the
 * offset after a cut.
 */
export const blobsModule: TeamModule = {
  name: 'blobs',
  migrations: [migration003],
  routes(app, ctx) {
    const received = new Counter({ name: 'lathe_team_upload_bytes_total', help: 'Blob bytes received by uploads', registers: [ctx.metrics] })
    const landed = new Counter({
      name: 'lathe_team_uploads_total',
      help: 'Uploads finished, by outcome (stored, refused)',
      labelNames: ['outcome'],
      registers: [ctx.metrics],
    })

    // Chunks are streamed straight to disk: the parser leaves the body for the handler.
    app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null))

    const projectOf = (request: FastifyRequest): string | null => {
      const header = request.headers['lathe-project']
      const query = (request.query as { project?: unknown } | undefined)?.project
      const value = typeof header === 'string' ? header : typeof query === 'string' ? query : null
      return value || null
    }

    /** Reading a blob needs viewer in the project named, or a role somewhere when none is named. */
    const authorizeRead = async (request: FastifyRequest): Promise<Principal> => {
      const project = projectOf(request)
      if (project !== null) return ctx.authorize(request, project, 'viewer', 'blob.read')
      const principal = ctx.principal(request)
      if (principal.globalRole || Object.keys(principal.projectRoles).length) return principal
      return ctx.authorize(request, null, 'viewer', 'blob.read')
    }

    const blobHeaders = (reply: FastifyReply, hash: string) =>
      reply
        .header('accept-ranges', 'bytes')
        .header('etag', `"${hash}"`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('content-type', 'application/octet-stream')

    const sizeOrMissing = async (hash: string): Promise<number> => {
      const size = await ctx.blobs.size(hash)
      if (size === null) throw new LatheError('not_found', `blob ${hash} is not on this server`, { field: 'sha256' })
      return size
    }

    app.head<{ Params: { hash: string } }>('/blobs/sha256/:hash', async (request, reply) => {
      await authorizeRead(request)
      const size = await sizeOrMissing(request.params.hash)
      blobHeaders(reply, request.params.hash).header('content-length', size)
      return reply.send()
    })

    app.get<{ Params: { hash: string } }>('/blobs/sha256/:hash', async (request, reply) => {
      await authorizeRead(request)
      const hash = request.params.hash
      const size = await sizeOrMissing(hash)
      const file = ctx.blobs.pathOf(hash)
      blobHeaders(reply, hash)
      const range = parseRange(request.headers.range, size)
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${size}`)
        throw new RangeError416(`Range "${request.headers.range}" lies outside blob ${hash} (${size} bytes)`)
      }
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1)
        return reply.send(fs.createReadStream(file, { start: range.start, end: range.end }))
      }
      reply.header('content-length', size)
      return reply.send(fs.createReadStream(file))
    })

    const createBody = z.object({
      sha256: z.string(),
      size: z.number().int().nonnegative(),
      project: z.string().min(1),
    })

    app.post('/blobs/uploads', async (request, reply) => {
      const input = parseInput(createBody, request.body, 'POST /blobs/uploads')
      await ctx.authorize(request, input.project, 'member', 'blob.upload')
      const state = await ctx.uploads.create(ctx.actorOf(request), input.project, input.sha256, input.size)
      if (state.complete) landed.inc({ outcome: 'stored' }, state.created ? 1 : 0)
      reply.code(state.created && !state.complete ? 201 : 200).header('upload-offset', state.offset).header('upload-length', state.size)
      if (state.id) reply.header('location', `/blobs/uploads/${state.id}`)
      const { created: _created, ...body } = state
      return body
    })

    const uploadAccess = async (request: FastifyRequest<{ Params: { id: string } }>, minimum: 'viewer' | 'member') => {
      const project = await ctx.uploads.projectOf(request.params.id)
      await ctx.authorize(request, project, minimum, 'blob.upload')
    }

    app.head<{ Params: { id: string } }>('/blobs/uploads/:id', async (request, reply) => {
      await uploadAccess(request, 'member')
      const state = await ctx.uploads.status(request.params.id)
      return reply.header('upload-offset', state.offset).header('upload-length', state.size).header('cache-control', 'no-store').send()
    })

    app.get<{ Params: { id: string } }>('/blobs/uploads/:id', async (request, reply) => {
      await uploadAccess(request, 'member')
      const state = await ctx.uploads.status(request.params.id)
      reply.header('upload-offset', state.offset).header('upload-length', state.size).header('cache-control', 'no-store')
      return state
    })

    app.patch<{ Params: { id: string } }>('/blobs/uploads/:id', async (request, reply) => {
      const type = request.headers['content-type']
      if (type !== 'application/offset+octet-stream') {
        throw new LatheError('bad_request', `a chunk must be sent as Content-Type: application/offset+octet-stream, not ${type ?? 'nothing'}`, {
          field: 'Content-Type',
        })
      }
      const offsetHeader = request.headers['upload-offset']
      const offset = typeof offsetHeader === 'string' && /^\d+$/.test(offsetHeader) ? Number(offsetHeader) : NaN
      if (!Number.isSafeInteger(offset)) {
        throw new LatheError('bad_request', 'a chunk needs an Upload-Offset header: the byte offset it starts at (HEAD the upload to learn it)', { field: 'Upload-Offset' })
      }
      await uploadAccess(request, 'member')
      const lengthHeader = request.headers['content-length']
      const contentLength = typeof lengthHeader === 'string' ? Number(lengthHeader) : null
      const counted = countBytes(request.raw, (n) => received.inc(n))
      try {
        const result = await ctx.uploads.append(ctx.actorOf(request), request.params.id, offset, counted, contentLength)
        if (result.complete) landed.inc({ outcome: 'stored' })
        if (result.aborted) return reply.code(400).send({ error: { code: 'bad_request', message: 'the chunk was cut before its end' } })
        reply.header('upload-offset', result.offset).header('upload-length', result.size)
        const { aborted: _aborted, ...body } = result
        return body
      } catch (error) {
        if (error instanceof LatheError && error.field === 'sha256') landed.inc({ outcome: 'refused' })
        throw error
      }
    })
  },
}

class RangeError416 extends LatheError {
  constructor(message: string) {
    super('bad_request', message, { field: 'Range' })
  }
  override get status(): number {
    return 416
  }
}

async function* countBytes(source: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    add(chunk.length)
    yield chunk
  }
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null to send the whole blob (no Range, or several). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m) return header.includes(',') ? null : 'unsatisfiable'
  const [, a, b] = m
  if (a === '' && b === '') return 'unsatisfiable'
  if (a === '') {
    const n = Number(b)
    if (n === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}
